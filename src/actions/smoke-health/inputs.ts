import {
  connectionFields,
  healthConfig,
  healthFields,
  type HealthConfig
} from '../../engines/health/inputs.js'
import { bool, field, readInputs, text } from '../../runtime/inputs.js'
import { commonFields, commonInputs, type CommonInputs } from '../../engines/incident/inputs.js'
import { ConfigurationError } from '../../runtime/errors.js'

export const spec = {
  ...healthFields('', { timeout: '60s', interval: '5s', successes: 1 }),
  ...connectionFields(''),
  name: field(text()),
  ...commonFields(),
  'fail-on-unhealthy': field(bool(true))
}

export interface SmokeInputs extends CommonInputs {
  health: HealthConfig
  name: string
  failOnUnhealthy: boolean
}

export function getInputs(
  read: (name: string) => string,
  debug?: (message: string) => void
): SmokeInputs {
  const v = readInputs(spec, read, debug)
  const health = healthConfig('', v)
  if (!health)
    throw new ConfigurationError(
      "Input 'url' is required: give one or more URLs, or a 'checks' list"
    )
  return {
    ...commonInputs(v),
    health,
    name: v.name || new URL(health.checks[0].url).host,
    failOnUnhealthy: v['fail-on-unhealthy']
  }
}
