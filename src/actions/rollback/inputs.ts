import { healthFields } from '../../engines/health/health.js'
import { field, oneOf, required, secret, text } from '../../runtime/inputs.js'
import { commonFields } from '../../engines/incident/inputs.js'

export const spec = {
  provider: field(oneOf(['render', 'vercel'] as const)),
  'api-key': secret(required('a Render API key or a Vercel token')),
  target: field(required('a Render service ID or a Vercel project ID')),
  'deploy-id': field(text()),
  ...healthFields('health-', { timeout: '5m', interval: '10s', successes: 3 }),
  ...commonFields()
}

export const OUTPUTS = { 'deploy-id': '', healthy: 'false', 'issue-number': '', 'issue-url': '' }
