import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import {
  HttpClient,
  NetworkError,
  parseJson,
  sleep,
  type ErrorKind
} from '../../providers/http/client.js'
import {
  duration,
  field,
  formatDuration,
  headerLines,
  isHttpUrl,
  integer,
  parseDuration,
  urlList,
  type Field
} from '../../runtime/inputs.js'
import { ConfigurationError } from '../../runtime/errors.js'
import { addHeaderSecret, addUrlSecrets, redact } from '../../runtime/redact.js'
import type { RunbookKey } from '../incident/runbook.js'
import { leastSevere, SEVERITIES, worst, type Severity } from '../incident/severity.js'
import { table } from '../../runtime/summary.js'

// ---------- status sets ----------

/** `200`, `200-299`, `2xx`, `200,204,301-302`. */
export function parseStatusSet(spec: string): Array<[number, number]> | undefined {
  const ranges: Array<[number, number]> = []
  for (const part of spec.split(',').map(s => s.trim())) {
    let m: RegExpMatchArray | null
    if ((m = part.match(/^([1-5])xx$/i))) ranges.push([Number(m[1]) * 100, Number(m[1]) * 100 + 99])
    else if ((m = part.match(/^(\d{3})$/))) ranges.push([Number(m[1]), Number(m[1])])
    else if ((m = part.match(/^(\d{3})\s*-\s*(\d{3})$/)) && Number(m[1]) <= Number(m[2]))
      ranges.push([Number(m[1]), Number(m[2])])
    else return undefined
  }
  return ranges.length ? ranges : undefined
}

const STATUS_HELP = 'expected status codes and ranges such as 200, 200-299, 2xx or 200,204,301-302'

// ---------- JSON assertions ----------

const OPERATORS = ['eq', 'ne', 'lt', 'lte', 'gt', 'gte', 'match', 'exists'] as const
type Operator = (typeof OPERATORS)[number]

export interface Assertion {
  path: string
  op: Operator
  value: unknown
}

/** `memory.heapUsedPercent` or `checks.0.status` into the parsed body. */
export function getPath(root: unknown, path: string): { found: boolean; value: unknown } {
  let cur: unknown = root
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || !Object.prototype.hasOwnProperty.call(cur, key))
      return { found: false, value: undefined }
    cur = (cur as Record<string, unknown>)[key]
  }
  return { found: true, value: cur }
}

/** Why the assertion fails, or undefined when it holds. */
export function checkAssertion(body: unknown, a: Assertion): string | undefined {
  const { found, value } = getPath(body, a.path)
  const shown = JSON.stringify(value)
  if (a.op === 'exists') {
    return found === Boolean(a.value) ? undefined : `${a.path} ${a.value ? 'is missing' : 'exists'}`
  }
  if (!found) return `${a.path} is missing (expected ${a.op} ${JSON.stringify(a.value)})`
  const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v))
  let ok: boolean
  switch (a.op) {
    case 'eq':
      ok = looseEqual(value, a.value)
      break
    case 'ne':
      ok = !looseEqual(value, a.value)
      break
    case 'lt':
      ok = num(value) < num(a.value)
      break
    case 'lte':
      ok = num(value) <= num(a.value)
      break
    case 'gt':
      ok = num(value) > num(a.value)
      break
    case 'gte':
      ok = num(value) >= num(a.value)
      break
    case 'match':
      ok = new RegExp(String(a.value)).test(
        typeof value === 'string' ? value : JSON.stringify(value)
      )
      break
  }
  return ok ? undefined : `${a.path} is ${shown} (expected ${a.op} ${JSON.stringify(a.value)})`
}

function looseEqual(a: unknown, b: unknown): boolean {
  if (typeof a === 'object' || typeof b === 'object') return JSON.stringify(a) === JSON.stringify(b)
  return a === b || String(a) === String(b)
}

// ---------- checks ----------

export interface CheckSpec {
  name: string
  url: string
  method: string
  headers: Record<string, string>
  expectStatus: string
  statusRanges: Array<[number, number]>
  maxLatencyMs: number
  bodyContains: string[]
  json: Assertion[]
  severity: Severity
}

export interface CheckResult {
  name: string
  url: string
  ok: boolean
  status?: number
  latencyMs?: number
  error?: string
  errorKind?: ErrorKind
  /** Every reason the check failed, in words. */
  reasons: string[]
  /** True when the only problem was latency over the limit. */
  slowOnly: boolean
  severity?: Severity
  excerpt?: string
}

const assertionSchema = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z.null(),
  z
    .object(Object.fromEntries(OPERATORS.map(op => [op, z.unknown().optional()])))
    .strict()
    .refine(
      o => Object.keys(o).length > 0,
      'an assertion needs one of eq ne lt lte gt gte match exists'
    )
])

const checkSchema = z
  .object({
    name: z.string().min(1).optional(),
    url: z.string().min(1),
    method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).optional(),
    headers: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
    'expect-status': z.union([z.string(), z.number()]).optional(),
    'max-latency': z.union([z.string(), z.number()]).optional(),
    'body-contains': z.union([z.string(), z.array(z.string())]).optional(),
    json: z.record(z.string(), assertionSchema).optional(),
    severity: z.enum(SEVERITIES).optional()
  })
  .strict()

export type CheckInput = z.infer<typeof checkSchema>

const CHECKS_HELP =
  'expected a YAML list of checks, each with url and optionally name, method, headers, expect-status, max-latency, body-contains, json, severity'

/** The `checks` input: a YAML list. Header values are secrets. */
export function checksYaml() {
  return z.string().transform((raw, ctx) => {
    if (raw === '') return []
    let doc: unknown
    try {
      doc = parseYaml(raw)
    } catch (e) {
      ctx.addIssue({
        code: 'custom',
        message: `not valid YAML (${(e as Error).message.split('\n')[0]}); ${CHECKS_HELP}`
      })
      return z.NEVER
    }
    const parsed = z.array(checkSchema).safeParse(doc)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      const where = issue?.path.length ? ` at ${issue.path.join('.')}` : ''
      ctx.addIssue({
        code: 'custom',
        message: `${issue?.message ?? 'invalid'}${where}; ${CHECKS_HELP}`
      })
      return z.NEVER
    }
    for (const c of parsed.data) {
      for (const v of Object.values(c.headers ?? {})) addHeaderSecret(String(v))
      addUrlSecrets(c.url)
    }
    return parsed.data
  })
}

function toAssertions(json: CheckInput['json']): Assertion[] {
  const out: Assertion[] = []
  for (const [path, rule] of Object.entries(json ?? {})) {
    if (rule !== null && typeof rule === 'object') {
      for (const [op, value] of Object.entries(rule)) out.push({ path, op: op as Operator, value })
    } else out.push({ path, op: 'eq', value: rule })
  }
  return out
}

export interface CheckDefaults {
  expectStatus: string
  maxLatencyMs: number
  headers: Record<string, string>
}

/** Name for a URL-only check: host and path. */
export function checkName(url: string): string {
  const u = new URL(url)
  return `${u.host}${u.pathname === '/' ? '' : u.pathname}`
}

/**
 * Builds the check list from `url` and `checks`. Throws a message (for the
 * `checks` input) on a check whose own fields are invalid.
 */
export function buildChecks(urls: string[], inputs: CheckInput[], d: CheckDefaults): CheckSpec[] {
  const specs: CheckSpec[] = []
  const base = urls[0]
  const defaultRanges = parseStatusSet(d.expectStatus)!
  for (const url of urls) {
    specs.push({
      name: checkName(url),
      url,
      method: 'GET',
      headers: { ...d.headers },
      expectStatus: d.expectStatus,
      statusRanges: defaultRanges,
      maxLatencyMs: d.maxLatencyMs,
      bodyContains: [],
      json: [],
      severity: 'sev1'
    })
  }
  inputs.forEach((c, i) => {
    const where = `checks[${i}]`
    let url = c.url
    if (url.startsWith('/')) {
      if (!base)
        throw new Error(
          `${where}.url '${url}' is a path, but no url input gives a base to resolve it against`
        )
      url = new URL(url, base).toString()
    }
    if (!isHttpUrl(url))
      throw new Error(`${where}.url '${c.url}' is not an http:// or https:// URL or a path`)
    const expectStatus =
      c['expect-status'] !== undefined ? String(c['expect-status']) : d.expectStatus
    const statusRanges = parseStatusSet(expectStatus)
    if (!statusRanges) throw new Error(`${where}.expect-status '${expectStatus}': ${STATUS_HELP}`)
    let maxLatencyMs = d.maxLatencyMs
    if (c['max-latency'] !== undefined) {
      const ms = parseDuration(String(c['max-latency']))
      if (ms === undefined)
        throw new Error(
          `${where}.max-latency '${c['max-latency']}': expected a duration such as 500ms or 2s`
        )
      maxLatencyMs = ms
    }
    const json = toAssertions(c.json)
    for (const a of json) {
      if (a.op === 'match') {
        try {
          new RegExp(String(a.value))
        } catch {
          throw new Error(`${where}.json.${a.path}.match is not a valid regular expression`)
        }
      }
    }
    const headers: Record<string, string> = { ...d.headers }
    for (const [k, v] of Object.entries(c.headers ?? {})) headers[k.toLowerCase()] = String(v)
    specs.push({
      name: c.name ?? checkName(url),
      url,
      method: c.method ?? 'GET',
      headers,
      expectStatus,
      statusRanges,
      maxLatencyMs,
      bodyContains: c['body-contains'] === undefined ? [] : [c['body-contains']].flat(),
      json,
      severity: c.severity ?? 'sev1'
    })
  })
  // Names label outputs and issues: keep them unique.
  const seen = new Map<string, number>()
  for (const s of specs) {
    const n = (seen.get(s.name) ?? 0) + 1
    seen.set(s.name, n)
    if (n > 1) s.name = `${s.name} #${n}`
  }
  return specs
}

// ---------- running ----------

const EXCERPT = 300

function excerptOf(body: string): string {
  return redact(body.replace(/\s+/g, ' ').trim()).slice(0, EXCERPT)
}

export async function runCheck(
  spec: CheckSpec,
  http: HttpClient,
  timeoutMs: number
): Promise<CheckResult> {
  const base = { name: spec.name, url: redact(spec.url), reasons: [] as string[], slowOnly: false }
  try {
    const res = await http.request(spec.url, {
      method: spec.method,
      headers: { accept: 'application/json, text/plain;q=0.9, */*;q=0.8', ...spec.headers },
      timeoutMs,
      attempts: 1,
      maxBodyBytes: 1 << 20
    })
    const reasons: string[] = []
    if (!spec.statusRanges.some(([lo, hi]) => res.status >= lo && res.status <= hi))
      reasons.push(`returned ${res.status} (expected ${spec.expectStatus})`)
    for (const needle of spec.bodyContains)
      if (!res.body.includes(needle))
        reasons.push(`body does not contain ${JSON.stringify(redact(needle))}`)
    if (spec.json.length) {
      const doc = parseJson<unknown>(res.body)
      if (doc === undefined) reasons.push('body is not valid JSON')
      if (doc !== undefined)
        for (const a of spec.json) {
          const why = checkAssertion(doc, a)
          if (why) reasons.push(redact(why))
        }
    }
    const slow = res.latencyMs > spec.maxLatencyMs
    if (slow) reasons.push(`latency ${res.latencyMs} ms over the ${spec.maxLatencyMs} ms limit`)
    const ok = reasons.length === 0
    const slowOnly = slow && reasons.length === 1
    return {
      ...base,
      ok,
      status: res.status,
      latencyMs: res.latencyMs,
      reasons,
      slowOnly,
      severity: ok ? undefined : slowOnly ? leastSevere('sev2', spec.severity) : spec.severity,
      excerpt: ok ? undefined : excerptOf(res.body)
    }
  } catch (error) {
    const e = error instanceof NetworkError ? error : new NetworkError(String(error), 'network')
    const what = e.kind === 'timeout' ? `no answer within ${timeoutMs} ms` : redact(e.message)
    return {
      ...base,
      ok: false,
      error: `${e.kind}: ${what}`,
      errorKind: e.kind,
      reasons: [`${labelKind(e.kind)}: ${what}`],
      severity: spec.severity
    }
  }
}

function labelKind(kind: ErrorKind): string {
  return {
    refused: 'connection refused',
    timeout: 'timed out',
    reset: 'connection reset',
    tls: 'TLS error',
    dns: 'DNS lookup failed',
    network: 'network error'
  }[kind]
}

export interface GateOptions {
  checks: CheckSpec[]
  requestTimeoutMs: number
  timeoutMs: number
  intervalMs: number
  successes: number
  http?: HttpClient
  sleep?: (ms: number) => Promise<void>
  now?: () => number
  log?: (message: string) => void
}

export interface GateResult {
  healthy: boolean
  /** Per check: the last round when healthy, else the last failing round (the evidence). */
  results: CheckResult[]
  severity?: Severity
  failed: string[]
  rounds: number
  passedRounds: number
  consecutive: number
  required: number
  durationMs: number
}

/**
 * Runs every check concurrently, round after round, until `successes`
 * consecutive rounds pass or the deadline comes.
 */
export async function runHealthGate(o: GateOptions): Promise<GateResult> {
  const http = o.http ?? new HttpClient({ attempts: 1 })
  const wait = o.sleep ?? sleep
  const now = o.now ?? Date.now
  const started = now()
  const deadline = started + o.timeoutMs
  let rounds = 0
  let passedRounds = 0
  let consecutive = 0
  let evidence: CheckResult[] | undefined
  let last: CheckResult[] = []
  for (;;) {
    rounds++
    const remaining = Math.max(1, deadline - now())
    const timeout = Math.min(o.requestTimeoutMs, Math.max(remaining, 1000))
    last = await Promise.all(o.checks.map(c => runCheck(c, http, timeout)))
    const passed = last.every(r => r.ok)
    if (passed) {
      passedRounds++
      consecutive++
    } else {
      consecutive = 0
      evidence = last
    }
    o.log?.(
      `round ${rounds}: ${passed ? 'pass' : 'fail'}` +
        (passed
          ? ` (${consecutive}/${o.successes})`
          : ` (${last
              .filter(r => !r.ok)
              .map(r => `${r.name}: ${r.reasons[0]}`)
              .join('; ')})`)
    )
    if (consecutive >= o.successes) break
    if (now() + o.intervalMs >= deadline) break
    await wait(o.intervalMs)
  }
  const healthy = consecutive >= o.successes
  const results = healthy ? last : (evidence ?? last)
  const failing = results.filter(r => !r.ok)
  return {
    healthy,
    results,
    // Never failed, yet too few passing rounds before the deadline: degraded, not down.
    severity: healthy ? undefined : (worst(failing.map(r => r.severity)) ?? 'sev2'),
    failed: healthy ? [] : failing.map(r => r.name),
    rounds,
    passedRounds,
    consecutive,
    required: o.successes,
    durationMs: now() - started
  }
}

/** The JSON `report` output: one entry per check. */
export function reportJson(results: CheckResult[]): string {
  return JSON.stringify(
    results.map(r => ({
      name: r.name,
      url: r.url,
      ok: r.ok,
      status: r.status ?? null,
      latencyMs: r.latencyMs ?? null,
      error: r.ok ? null : (r.error ?? r.reasons.join('; '))
    }))
  )
}

// ---------- shared inputs ----------

export interface HealthDefaults {
  timeout: string
  interval: string
  successes: number
  requestTimeout?: string
  maxLatency?: string
  expectStatus?: string
}

export function statusSet(def: string) {
  return z.string().transform((raw, ctx) => {
    const v = raw === '' ? def : raw
    if (!parseStatusSet(v)) {
      ctx.addIssue({ code: 'custom', message: STATUS_HELP })
      return z.NEVER
    }
    return v
  })
}

/** Header values are secrets: mask each one as soon as it is parsed. */
export function secretHeaders() {
  return headerLines().transform(h => {
    for (const v of Object.values(h)) addHeaderSecret(v)
    return h
  })
}

/**
 * The health inputs every action shares. smoke-health names them plainly
 * (`url`, `timeout`); the deploy actions prefix them (`health-url`,
 * `health-timeout`). `max-latency` has no prefix anywhere.
 */
export function healthFields(prefix: '' | 'health-', d: HealthDefaults) {
  return {
    [`${prefix}url`]: field(
      urlList().transform(urls => {
        for (const u of urls) addUrlSecrets(u)
        return urls
      })
    ),
    [`${prefix}checks`]: field(checksYaml()),
    [`${prefix}expect-status`]: field(statusSet(d.expectStatus ?? '200-299')),
    'max-latency': field(duration(d.maxLatency ?? '2s', { min: 1 })),
    [`${prefix}request-timeout`]: field(duration(d.requestTimeout ?? '10s', { min: 100 })),
    [`${prefix}timeout`]: field(duration(d.timeout, { min: 100 })),
    [`${prefix}interval`]: field(duration(d.interval, { min: 50 })),
    [`${prefix}successes`]: field(integer(d.successes, 1, 100)),
    [`${prefix}headers`]: { schema: secretHeaders(), secret: true } as Field<Record<string, string>>
  } as Record<string, Field<unknown>>
}

export interface HealthConfig {
  checks: CheckSpec[]
  requestTimeoutMs: number
  timeoutMs: number
  intervalMs: number
  successes: number
}

/** Reads the parsed health inputs back into a gate configuration; undefined when none were given. */
export function healthConfig(
  prefix: '' | 'health-',
  v: Record<string, unknown>
): HealthConfig | undefined {
  const urls = v[`${prefix}url`] as string[]
  const checks = v[`${prefix}checks`] as CheckInput[]
  if (urls.length === 0 && checks.length === 0) return undefined
  let specs: CheckSpec[]
  try {
    specs = buildChecks(urls, checks, {
      expectStatus: v[`${prefix}expect-status`] as string,
      maxLatencyMs: v['max-latency'] as number,
      headers: v[`${prefix}headers`] as Record<string, string>
    })
  } catch (e) {
    throw new ConfigurationError(
      `Input '${prefix}checks' has an invalid check: ${(e as Error).message}`
    )
  }
  const timeoutMs = v[`${prefix}timeout`] as number
  const intervalMs = v[`${prefix}interval`] as number
  const successes = v[`${prefix}successes`] as number
  if ((successes - 1) * intervalMs >= timeoutMs)
    throw new ConfigurationError(
      `Input '${prefix}timeout' (${formatDuration(timeoutMs)}) cannot fit ${successes} passing rounds ${formatDuration(intervalMs)} apart: raise it above (${prefix}successes - 1) x ${prefix}interval`
    )
  return {
    checks: specs,
    requestTimeoutMs: v[`${prefix}request-timeout`] as number,
    timeoutMs: v[`${prefix}timeout`] as number,
    intervalMs: v[`${prefix}interval`] as number,
    successes: v[`${prefix}successes`] as number
  }
}

// ---------- incident material ----------

/** The runbook sections that fit the failing checks. */
export function runbookFor(results: CheckResult[]): RunbookKey[] {
  const keys: RunbookKey[] = []
  for (const r of results.filter(x => !x.ok)) {
    if (r.errorKind) keys.push('outage')
    else if (r.status === 401 || r.status === 403) keys.push('auth')
    else if (r.status !== undefined && r.status >= 500) keys.push('http-503')
    if (r.reasons.some(x => /memory|heap/i.test(x))) keys.push('memory')
    if (r.slowOnly || r.reasons.some(x => x.startsWith('latency'))) keys.push('slow')
  }
  if (keys.includes('http-503') && keys.includes('outage')) keys.push('database')
  return keys
}

/** One line naming the worst failing check, for an issue title. */
export function causeLine(results: CheckResult[]): string {
  const failing = results.filter(r => !r.ok)
  const first = failing.find(r => !r.slowOnly) ?? failing[0]
  if (!first) return 'not confirmed healthy: too few consecutive passing rounds before the deadline'
  const more = failing.length > 1 ? ` (+${failing.length - 1} more)` : ''
  return `${first.name}: ${first.reasons[0]}${more}`
}

/** The evidence table plus the body excerpts of failing checks. */
export function evidenceMarkdown(gate: GateResult): string {
  const excerpts = gate.results
    .filter(r => !r.ok && r.excerpt)
    .map(r => `**${r.name}** answered:\n\n\`\`\`\n${r.excerpt!.replace(/`{3,}/g, "'''")}\n\`\`\``)
  const rounds = `${gate.rounds} round(s) in ${Math.round(gate.durationMs / 100) / 10} s; ${gate.passedRounds} passed; ${gate.required} consecutive passing round(s) required, ${gate.consecutive} at the end.`
  return [checksTable(gate.results), rounds, ...excerpts].join('\n\n')
}

export function checksTable(results: CheckResult[]): string {
  if (results.length === 0) return '_No checks ran._'
  return table(
    ['Check', 'URL', 'Status', 'Latency', 'Verdict'],
    results.map(r => [
      r.name,
      r.url,
      r.status ?? r.errorKind ?? '',
      r.latencyMs !== undefined ? `${r.latencyMs} ms` : '',
      r.ok ? '✅ pass' : `❌ ${r.reasons.join('; ')}`
    ])
  )
}
