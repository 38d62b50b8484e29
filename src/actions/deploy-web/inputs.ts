import { healthFields } from '../../engines/health/health.js'
import { field, required, secret, text } from '../../runtime/inputs.js'
import { commonFields } from '../../engines/incident/inputs.js'

export const spec = {
  'vercel-token': secret(required('a Vercel token')),
  'vercel-project-id': field(required('a Vercel project ID')),
  'vercel-team-id': field(text()),
  ...healthFields('health-', { timeout: '5m', interval: '10s', successes: 3 }),
  ...commonFields()
}

export const OUTPUTS = {
  'deployment-url': '',
  healthy: 'false',
  'issue-number': '',
  'issue-url': ''
}
