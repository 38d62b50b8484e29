import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import { ConfigurationError } from '../../runtime/errors.js'
import {
  clip,
  durationProblem,
  HEADER_NAME,
  headerValueProblem,
  isHttpUrl,
  parseDuration,
  shownItem,
  type DurationBounds
} from '../../runtime/inputs.js'
import { addHeaderSecret, addUrlSecrets } from '../../runtime/redact.js'
import { SEVERITIES, type Severity } from '../incident/severity.js'
import { OPERATORS, type Assertion, type Operator } from './assertions.js'
import { parseStatusSet, STATUS_HELP } from './status.js'

/** `max-latency`, as an input and in a check: at least 1 ms, at most 10 minutes. */
export const LATENCY_BOUNDS: DurationBounds = { min: 1, max: 10 * 60_000 }

/** One endpoint to probe, with everything resolved. */
export interface CheckSpec {
  name: string
  /** Without userinfo: URL credentials are sent as Basic auth in `headers`. */
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

/** One validated item of the `checks` list; what it leaves out comes from the other inputs. */
export interface CheckItem {
  name?: string
  url: string
  method?: string
  headers: Record<string, string>
  expectStatus?: string
  statusRanges?: Array<[number, number]>
  maxLatencyMs?: number
  bodyContains: string[]
  json: Assertion[]
  severity?: Severity
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

type CheckInput = z.infer<typeof checkSchema>

const CHECKS_HELP =
  'expected a YAML list of checks, each with url and optionally name, method, headers, expect-status, max-latency, body-contains, json, severity'

/** `item 2, field 'headers.X-Token'`: where in a list input a problem is (items count from 1). */
export function where(path: ReadonlyArray<PropertyKey>): string {
  if (path.length === 0) return ''
  const [item, ...rest] = path
  const fieldName = rest.length ? `, field '${clip(rest.map(String).join('.'), 80)}'` : ''
  return typeof item === 'number' ? `item ${item + 1}${fieldName}` : `field '${String(item)}'`
}

let parsed: { raw: string; doc: unknown; error?: string } | undefined
/** The YAML document of `raw`, parsed once for registering and validating. */
function yamlOf(raw: string): { doc: unknown; error?: string } {
  if (parsed?.raw !== raw) {
    try {
      parsed = { raw, doc: parseYaml(raw) }
    } catch (e) {
      parsed = { raw, doc: undefined, error: (e as Error).message.split('\n')[0] }
    }
  }
  return parsed
}

/**
 * Registers the secrets of a raw `checks` value, header values and URL passwords,
 * before it is validated: an error about item 3 must not print item 1's token.
 */
export function registerCheckSecrets(raw: string): void {
  if (raw === '') return
  const { doc } = yamlOf(raw)
  if (!Array.isArray(doc)) return
  for (const item of doc as unknown[]) {
    if (item === null || typeof item !== 'object') continue
    const { url, headers } = item as { url?: unknown; headers?: unknown }
    if (typeof url === 'string') addUrlSecrets(url)
    if (headers !== null && typeof headers === 'object')
      for (const v of Object.values(headers as Record<string, unknown>))
        if (typeof v === 'string' || typeof v === 'number') addHeaderSecret(String(v))
  }
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

/** One item's fields beyond their shapes; the problem and the field it is in. */
function toItem(c: CheckInput): CheckItem | { field: string; problem: string } {
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(c.headers ?? {})) {
    if (!HEADER_NAME.test(k))
      return { field: 'headers', problem: `${JSON.stringify(clip(k, 40))} is not a header name` }
    const problem = headerValueProblem(String(v))
    if (problem) return { field: `headers.${k}`, problem }
    headers[k.toLowerCase()] = String(v)
  }
  let expectStatus: string | undefined
  let statusRanges: Array<[number, number]> | undefined
  if (c['expect-status'] !== undefined) {
    expectStatus = String(c['expect-status'])
    statusRanges = parseStatusSet(expectStatus)
    if (!statusRanges) return { field: 'expect-status', problem: STATUS_HELP }
  }
  let maxLatencyMs: number | undefined
  if (c['max-latency'] !== undefined) {
    maxLatencyMs = parseDuration(String(c['max-latency']))
    const problem = durationProblem(maxLatencyMs, LATENCY_BOUNDS)
    if (problem) return { field: 'max-latency', problem }
  }
  const json = toAssertions(c.json)
  for (const a of json) {
    if (a.op !== 'match') continue
    try {
      new RegExp(String(a.value))
    } catch {
      return { field: `json.${a.path}.match`, problem: 'not a valid regular expression' }
    }
  }
  return {
    name: c.name,
    url: c.url,
    method: c.method,
    headers,
    expectStatus,
    statusRanges,
    maxLatencyMs,
    bodyContains: c['body-contains'] === undefined ? [] : [c['body-contains']].flat(),
    json,
    severity: c.severity
  }
}

/** The `checks` input: a YAML list, every field validated; its secrets registered by `registerCheckSecrets`. */
export function checksYaml() {
  return z.string().transform((raw, ctx): CheckItem[] => {
    if (raw === '') return []
    const { doc, error } = yamlOf(raw)
    if (error !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `not valid YAML (${clip(error, 160)}); ${CHECKS_HELP}`
      })
      return z.NEVER
    }
    const result = z.array(checkSchema).safeParse(doc)
    if (!result.success) {
      const issue = result.error.issues[0]
      const at = issue ? where(issue.path) : ''
      ctx.addIssue({
        code: 'custom',
        message: `${at ? `${at}: ` : ''}${issue?.message ?? 'invalid'}; ${CHECKS_HELP}`
      })
      return z.NEVER
    }
    const items: CheckItem[] = []
    for (const [i, c] of result.data.entries()) {
      const item = toItem(c)
      if ('problem' in item) {
        ctx.addIssue({ code: 'custom', message: `${where([i, item.field])}: ${item.problem}` })
        return z.NEVER
      }
      items.push(item)
    }
    return items
  })
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
 * Credentials in a URL (`https://user:pass@host/`) are sent as Basic auth, as
 * curl does (undici would drop them silently). Alongside an `Authorization`
 * header they are ambiguous: refused.
 */
export function urlCredentials(
  url: string,
  headers: Record<string, string>
): { url: string; headers: Record<string, string> } | string {
  const u = new URL(url)
  if (!u.username && !u.password) return { url, headers }
  if (headers.authorization !== undefined)
    return 'the URL carries user:password and an Authorization header is also set; give the credentials once (in headers)'
  const decode = (s: string): string => {
    try {
      return decodeURIComponent(s)
    } catch {
      return s
    }
  }
  const basic = `Basic ${Buffer.from(`${decode(u.username)}:${decode(u.password)}`).toString('base64')}`
  addHeaderSecret(basic)
  u.username = ''
  u.password = ''
  return { url: u.toString(), headers: { ...headers, authorization: basic } }
}

/** Input names, for errors: `url`/`checks` or `health-url`/`health-checks`. */
export interface CheckInputNames {
  url: string
  checks: string
}

/**
 * Builds the check list from `url` and `checks`. Throws a ConfigurationError
 * naming the input, the item and the field.
 */
export function buildChecks(
  urls: string[],
  items: CheckItem[],
  d: CheckDefaults,
  names: CheckInputNames = { url: 'url', checks: 'checks' }
): CheckSpec[] {
  const specs: CheckSpec[] = []
  const base = urls[0]
  const defaultRanges = parseStatusSet(d.expectStatus)!
  const fail = (input: string, path: PropertyKey[], problem: string): never => {
    throw new ConfigurationError(`Input '${input}' ${where(path)}: ${problem}`)
  }
  for (const [i, raw] of urls.entries()) {
    const sent = urlCredentials(raw, { ...d.headers })
    if (typeof sent === 'string') fail(names.url, [i], sent)
    else
      specs.push({
        name: checkName(sent.url),
        url: sent.url,
        method: 'GET',
        headers: sent.headers,
        expectStatus: d.expectStatus,
        statusRanges: defaultRanges,
        maxLatencyMs: d.maxLatencyMs,
        bodyContains: [],
        json: [],
        severity: 'sev1'
      })
  }
  for (const [i, c] of items.entries()) {
    let url = c.url
    if (url.startsWith('/')) {
      if (!base)
        fail(
          names.checks,
          [i, 'url'],
          `${shownItem(url)} is a path, but no '${names.url}' input gives a base to resolve it against`
        )
      url = new URL(url, base).toString()
    }
    if (!isHttpUrl(url))
      fail(
        names.checks,
        [i, 'url'],
        `${shownItem(c.url)} is not an http:// or https:// URL or a path`
      )
    const sent = urlCredentials(url, { ...d.headers, ...c.headers })
    if (typeof sent === 'string') return fail(names.checks, [i, 'url'], sent)
    specs.push({
      name: c.name ?? checkName(sent.url),
      url: sent.url,
      method: c.method ?? 'GET',
      headers: sent.headers,
      expectStatus: c.expectStatus ?? d.expectStatus,
      statusRanges: c.statusRanges ?? defaultRanges,
      maxLatencyMs: c.maxLatencyMs ?? d.maxLatencyMs,
      bodyContains: c.bodyContains,
      json: c.json,
      severity: c.severity ?? 'sev1'
    })
  }
  // Names label outputs and issues: keep them unique.
  const seen = new Map<string, number>()
  for (const s of specs) {
    const n = (seen.get(s.name) ?? 0) + 1
    seen.set(s.name, n)
    if (n > 1) s.name = `${s.name} #${n}`
  }
  return specs
}
