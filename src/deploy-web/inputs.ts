import { healthFields } from '../lib/health.js'
import { field, required, secret, text } from '../lib/inputs.js'
import { commonFields } from '../lib/issue-inputs.js'

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
