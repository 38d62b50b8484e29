import { z } from 'zod'
import {
  connectionFields,
  healthConfig,
  healthFields,
  type HealthConfig
} from '../../engines/health/health.js'
import { commonFields, commonInputs, type CommonInputs } from '../../engines/incident/inputs.js'
import { DEFAULT_RENDER_API_URL } from '../../providers/render/client.js'
import { DEFAULT_VERCEL_API_URL } from '../../providers/vercel/client.js'
import { ConfigurationError } from '../../runtime/errors.js'
import {
  bool,
  duration,
  field,
  headerText,
  httpUrl,
  isHttpUrl,
  list,
  oneOf,
  readInputs,
  secret,
  text
} from '../../runtime/inputs.js'
import { addUrlSecrets } from '../../runtime/redact.js'

function pattern(re: RegExp, what: string) {
  return z.string().refine(v => v === '' || re.test(v), { message: `expected ${what}` })
}

export const spec = {
  platform: field(oneOf(['render', 'vercel'] as const)),
  'render-api-key': secret(headerText()),
  'service-id': field(pattern(/^[a-z]{3,4}-[a-z0-9]+$/, 'a Render service ID such as srv-abc123')),
  'vercel-token': secret(headerText()),
  'project-id': field(pattern(/^[\w.-]{1,100}$/, 'a Vercel project ID (prj_...) or name')),
  'team-id': field(pattern(/^[\w.-]{1,100}$/, 'a Vercel team ID (team_...) or slug')),
  to: field(
    // A Vercel deployment may also be named by its URL: its hostname is what Vercel looks up.
    z
      .string()
      .transform(raw => (isHttpUrl(raw) ? new URL(raw).hostname : raw))
      .pipe(
        pattern(
          /^[\w.-]{1,100}$/,
          'a Render deploy ID (dep-...), a Vercel deployment ID (dpl_...) or its URL'
        )
      )
  ),
  name: field(pattern(/^[\w.-]{1,100}$/, "a target label of letters, digits, '.', '_' or '-'")),
  'production-url': field(
    httpUrl().transform(u => {
      if (u) addUrlSecrets(u)
      return u
    })
  ),
  'health-paths': field(list(['/'])),
  ...healthFields('health-', { timeout: '5m', interval: '10s', successes: 3 }),
  ...connectionFields('health-'),
  'rollback-timeout': field(duration('30m', { min: 1000, max: 6 * 3_600_000 })),
  'pause-autodeploy': field(bool(true)),
  'dry-run': field(bool(false)),
  reason: field(text()),
  ...commonFields(),
  'github-deployment': field(bool(true)),
  'render-api-url': field(httpUrl(DEFAULT_RENDER_API_URL)),
  'vercel-api-url': field(httpUrl(DEFAULT_VERCEL_API_URL))
}

export const OUTPUTS = {
  'rolled-back-from': '',
  'rolled-back-to': '',
  healthy: 'false',
  candidates: '[]',
  'duration-seconds': '',
  'issue-number': '',
  'issue-url': ''
}

export type Platform = 'render' | 'vercel'

export interface RollbackInputs extends CommonInputs {
  platform: Platform
  /** The Render API key or the Vercel token. */
  apiKey: string
  /** Render service ID or Vercel project ID. */
  targetId: string
  teamId: string
  to: string
  /** The incident label; empty means the service or project name. */
  name: string
  productionUrl: string
  /** Undefined when no production-url, health-url or health-checks were given. */
  health?: HealthConfig
  /** How long to follow the rollback until it serves. */
  timeoutMs: number
  pauseAutoDeploy: boolean
  dryRun: boolean
  reason: string
  githubDeployment: boolean
  apiUrl: string
}

/** Each platform's own inputs: required for it, refused for the other. */
const OWN: Record<Platform, { required: string[]; optional: string[] }> = {
  render: { required: ['render-api-key', 'service-id'], optional: [] },
  vercel: { required: ['vercel-token', 'project-id'], optional: ['team-id'] }
}

export function getInputs(
  read: (name: string) => string,
  debug?: (message: string) => void
): RollbackInputs {
  const v = readInputs(spec, read, debug)
  const platform: Platform = v.platform
  const other: Platform = platform === 'render' ? 'vercel' : 'render'
  for (const name of OWN[platform].required)
    if (!v[name as keyof typeof v])
      throw new ConfigurationError(`Input '${name}' is required for platform: ${platform}`)
  for (const name of [...OWN[other].required, ...OWN[other].optional])
    if (v[name as keyof typeof v])
      throw new ConfigurationError(
        `Input '${name}' is for platform: ${other}; remove it (platform is ${platform})`
      )
  const productionUrl = v['production-url']
  const paths = v['health-paths']
  const bad = paths.find(p => !p.startsWith('/'))
  if (bad !== undefined)
    throw new ConfigurationError(
      `Input 'health-paths' has an invalid path ${JSON.stringify(bad)}: expected paths starting with /`
    )
  // health-paths under production-url come first, so relative health-checks resolve against it.
  const urls = productionUrl ? paths.map(p => `${productionUrl}${p}`) : []
  const health = healthConfig('health-', {
    ...v,
    'health-url': [...urls, ...v['health-url']]
  })
  const render = platform === 'render'
  return {
    ...commonInputs(v),
    platform,
    apiKey: render ? v['render-api-key'] : v['vercel-token'],
    targetId: render ? v['service-id'] : v['project-id'],
    teamId: v['team-id'],
    to: v.to,
    name: v.name,
    productionUrl,
    health,
    timeoutMs: v['rollback-timeout'],
    pauseAutoDeploy: v['pause-autodeploy'],
    dryRun: v['dry-run'],
    reason: v.reason,
    githubDeployment: v['github-deployment'],
    apiUrl: render ? v['render-api-url'] : v['vercel-api-url']
  }
}
