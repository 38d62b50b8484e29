import { required, secret, text } from '../../runtime/inputs.js'
import { commonFields } from '../../engines/incident/inputs.js'

export const spec = {
  'database-url': secret(required('a Postgres connection URL')),
  'encryption-key': secret(text()),
  ...commonFields()
}

export const OUTPUTS = { path: '', sha256: '', 'issue-number': '', 'issue-url': '' }
