import { z } from 'zod'
import {
  buildChecks,
  connectionFields,
  healthFields,
  type CheckInput,
  type HealthConfig
} from '../../engines/health/health.js'
import {
  bool,
  duration,
  field,
  formatDuration,
  headerText,
  httpUrl,
  isHttpUrl,
  readInputs,
  required,
  secret,
  splitList
} from '../../runtime/inputs.js'
import { ConfigurationError } from '../../runtime/errors.js'
import { addUrlSecrets } from '../../runtime/redact.js'
import { commonFields, commonInputs, type CommonInputs } from '../../engines/incident/inputs.js'
import { DEFAULT_VERCEL_API_URL } from '../../providers/vercel/client.js'

function pattern(re: RegExp, what: string) {
  return z.string().refine(v => v === '' || re.test(v), { message: `expected ${what}` })
}

/** `dpl_...`, a hostname, or an https:// URL of one: the id or hostname Vercel looks up. */
function deploymentRef() {
  return z.string().transform((raw, ctx) => {
    if (raw === '') return ''
    if (/^dpl_[A-Za-z0-9]+$/.test(raw)) return raw
    const host = isHttpUrl(raw) ? new URL(raw).hostname : raw
    if (/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/i.test(host) && host.includes('.')) return host
    ctx.addIssue({
      code: 'custom',
      message: 'expected a deployment id (dpl_...) or its URL (my-app-abc123.vercel.app)'
    })
    return z.NEVER
  })
}

function paths() {
  return z.string().transform((raw, ctx) => {
    const list = raw === '' ? ['/'] : splitList(raw)
    const bad = list.length === 0 ? raw : list.find(p => !p.startsWith('/') || /\s/.test(p))
    if (bad !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `'${bad}' is not a path; expected paths starting with / separated by newlines or commas`
      })
      return z.NEVER
    }
    return list
  })
}

function urlTemplate() {
  return z.string().transform((raw, ctx) => {
    const v = raw === '' ? 'https://{url}' : raw
    const sample = fillTemplate(v, { id: 'dpl_abc', url: 'app-abc.vercel.app' })
    if (!/\{(url|id)\}/.test(v) || !isHttpUrl(sample)) {
      ctx.addIssue({
        code: 'custom',
        message:
          'expected an http(s) URL holding {url} (the deployment hostname) or {id}, such as https://{url}'
      })
      return z.NEVER
    }
    return v.replace(/\/+$/, '')
  })
}

export const spec = {
  'vercel-token': secret(headerText('a Vercel access token')),
  'project-id': field(
    required('a Vercel project id (prj_...) or name').pipe(
      pattern(/^[\w.-]{1,100}$/, 'a Vercel project id (prj_...) or name')
    )
  ),
  'team-id': field(pattern(/^team_[A-Za-z0-9]+$/, 'a Vercel team id (team_...)')),
  app: field(pattern(/^[\w.-]{1,100}$/, "an app label of letters, digits, '.', '_' or '-'")),
  deployment: field(deploymentRef()),
  // A password or a token in these URLs is a secret from the start.
  'production-url': field(httpUrl(''), addUrlSecrets),
  'health-paths': field(paths()),
  'deployment-url-template': field(urlTemplate(), addUrlSecrets),
  'protection-bypass': secret(headerText()),
  'deploy-timeout': field(duration('20m', { min: 1000, max: 6 * 3_600_000 })),
  ...healthFields('health-', { timeout: '5m', interval: '10s', successes: 3 }),
  ...connectionFields('health-'),
  'rollback-on-failure': field(bool(true)),
  ...commonFields(),
  'github-deployment': field(bool(true)),
  'vercel-api-url': field(httpUrl(DEFAULT_VERCEL_API_URL))
}

export const OUTPUTS = {
  'deployment-id': '',
  'deployment-url': '',
  'inspector-url': '',
  'previous-deployment-id': '',
  healthy: 'false',
  promoted: 'false',
  'rolled-back': 'false',
  'duration-seconds': '',
  'issue-number': '',
  'issue-url': ''
}

/** The gate settings shared by both gates; the checks differ per gate. */
interface GateSettings {
  paths: string[]
  urls: string[]
  checks: CheckInput[]
  expectStatus: string
  maxLatencyMs: number
  headers: Record<string, string>
  requestTimeoutMs: number
  timeoutMs: number
  intervalMs: number
  successes: number
  maxConnections: number
}

export interface WebInputs extends CommonInputs {
  token: string
  projectId: string
  teamId: string
  /** '' means the project's name. */
  app: string
  deployment: string
  productionUrl: string
  urlTemplate: string
  protectionBypass: string
  deployTimeoutMs: number
  rollbackOnFailure: boolean
  githubDeployment: boolean
  apiUrl: string
  gate: GateSettings
}

export function getInputs(
  read: (name: string) => string,
  debug?: (message: string) => void
): WebInputs {
  const v = readInputs(spec, read, debug)
  const gate: GateSettings = {
    paths: v['health-paths'],
    urls: v['health-url'],
    checks: v['health-checks'],
    expectStatus: v['health-expect-status'],
    maxLatencyMs: v['max-latency'],
    headers: v['health-headers'],
    requestTimeoutMs: v['health-request-timeout'],
    timeoutMs: v['health-timeout'],
    intervalMs: v['health-interval'],
    successes: v['health-successes'],
    maxConnections: v['health-max-connections']
  }
  if ((gate.successes - 1) * gate.intervalMs >= gate.timeoutMs)
    throw new ConfigurationError(
      `Input 'health-timeout' (${formatDuration(gate.timeoutMs)}) cannot fit ${gate.successes} passing rounds ${formatDuration(gate.intervalMs)} apart: raise it above (health-successes - 1) x health-interval`
    )
  const inputs: WebInputs = {
    ...commonInputs(v),
    token: v['vercel-token'],
    projectId: v['project-id'],
    teamId: v['team-id'],
    app: v.app,
    deployment: v.deployment,
    productionUrl: v['production-url'],
    urlTemplate: v['deployment-url-template'],
    protectionBypass: v['protection-bypass'],
    deployTimeoutMs: v['deploy-timeout'],
    rollbackOnFailure: v['rollback-on-failure'],
    githubDeployment: v['github-deployment'],
    apiUrl: v['vercel-api-url'],
    gate
  }
  // Fail on a bad check now, before anything is created.
  stagedGate(inputs, 'https://app-abc.vercel.app')
  productionGate(inputs)
  return inputs
}

export function fillTemplate(template: string, d: { id: string; url: string }): string {
  return template.replaceAll('{id}', d.id).replaceAll('{url}', d.url)
}

/**
 * The gate on the deployment's own URL: each of health-paths, plus the checks
 * given as paths, under `base`, with the protection bypass header when set.
 */
export function stagedGate(inputs: WebInputs, base: string): HealthConfig {
  const headers = { ...inputs.gate.headers }
  if (inputs.protectionBypass) headers['x-vercel-protection-bypass'] = inputs.protectionBypass
  return gateConfig(inputs, base, headers)!
}

/**
 * The gate on production after a promote or rollback: health-paths and path checks
 * under production-url, plus health-url and absolute checks. Undefined when none apply.
 */
export function productionGate(inputs: WebInputs): HealthConfig | undefined {
  return gateConfig(inputs, inputs.productionUrl || undefined, inputs.gate.headers, true)
}

function gateConfig(
  inputs: WebInputs,
  base: string | undefined,
  headers: Record<string, string>,
  production = false
): HealthConfig | undefined {
  const g = inputs.gate
  const root = base?.replace(/\/+$/, '')
  // Joined, not resolved: a template such as http://proxy/{id} keeps its path.
  const under = root === undefined ? [] : g.paths.map(p => root + p)
  const checks = g.checks.flatMap(c =>
    c.url.startsWith('/')
      ? root === undefined
        ? []
        : [{ ...c, url: root + c.url }]
      : production
        ? [c]
        : []
  )
  const defaults = { expectStatus: g.expectStatus, maxLatencyMs: g.maxLatencyMs, headers }
  const specs = [
    ...buildChecks(under, checks, defaults, { url: 'health-paths', checks: 'health-checks' }),
    ...(production
      ? buildChecks(g.urls, [], defaults, { url: 'health-url', checks: 'health-checks' })
      : [])
  ]
  if (specs.length === 0) return undefined
  return {
    checks: specs,
    requestTimeoutMs: g.requestTimeoutMs,
    timeoutMs: g.timeoutMs,
    intervalMs: g.intervalMs,
    successes: g.successes,
    maxConnections: g.maxConnections
  }
}
