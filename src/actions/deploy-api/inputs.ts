import { z } from 'zod'
import {
  connectionFields,
  healthConfig,
  healthFields,
  type HealthConfig
} from '../../engines/health/inputs.js'
import {
  bool,
  duration,
  field,
  httpUrl,
  oneOf,
  readInputs,
  secret,
  required,
  text
} from '../../runtime/inputs.js'
import { commonFields, commonInputs, type CommonInputs } from '../../engines/incident/inputs.js'
import { DEFAULT_RENDER_API_URL } from '../../providers/render/client.js'

function pattern(re: RegExp, what: string, optional = false) {
  return z
    .string()
    .refine(v => (optional && v === '') || re.test(v), { message: `expected ${what}` })
}

export const spec = {
  'render-api-key': secret(required('a Render API key (rnd_...)')),
  'service-id': field(pattern(/^[a-z]{3,4}-[a-z0-9]+$/, 'a Render service ID such as srv-abc123')),
  commit: field(pattern(/^[0-9a-f]{7,40}$/i, 'a Git commit SHA (7 to 40 hex digits)', true)),
  'image-url': field(text()),
  'clear-cache': field(bool(false)),
  'deploy-timeout': field(duration('30m', { min: 1000, max: 6 * 3_600_000 })),
  'on-superseded': field(oneOf(['fail', 'succeed'] as const, 'fail')),
  'rollback-on-failure': field(bool(true)),
  ...healthFields('health-', { timeout: '5m', interval: '10s', successes: 3 }),
  ...connectionFields('health-'),
  ...commonFields(),
  'github-deployment': field(bool(true)),
  'render-api-url': field(httpUrl(DEFAULT_RENDER_API_URL))
}

export interface DeployInputs extends CommonInputs {
  apiKey: string
  serviceId: string
  /** Empty when deploying an image. */
  commit: string
  imageUrl: string
  clearCache: boolean
  deployTimeoutMs: number
  onSuperseded: 'fail' | 'succeed'
  rollbackOnFailure: boolean
  /** Undefined when no health-url or health-checks were given: the gate is skipped. */
  health?: HealthConfig
  githubDeployment: boolean
  renderApiUrl: string
}

/** Reads and checks every input; `sha` is the workflow's commit, the default for `commit`. */
export function getInputs(
  sha: string,
  read: (name: string) => string,
  debug?: (message: string) => void
): DeployInputs {
  const v = readInputs(spec, read, debug)
  const imageUrl = v['image-url']
  // action.yml: `commit` is ignored when `image-url` is given.
  const commit = imageUrl ? '' : v.commit || sha
  return {
    ...commonInputs(v),
    apiKey: v['render-api-key'],
    serviceId: v['service-id'],
    commit,
    imageUrl,
    clearCache: v['clear-cache'],
    deployTimeoutMs: v['deploy-timeout'],
    onSuperseded: v['on-superseded'],
    rollbackOnFailure: v['rollback-on-failure'],
    health: healthConfig('health-', v),
    githubDeployment: v['github-deployment'],
    renderApiUrl: v['render-api-url']
  }
}
