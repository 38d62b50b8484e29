import { z } from 'zod'
import { ConfigurationError } from './errors.js'
import { addSecret, addUrlSecrets, redactUrl } from './redact.js'

/** One declared input: how to parse its raw string, and whether it is a secret. */
export interface Field<T> {
  schema: z.ZodType<T, string>
  secret?: boolean
  /** Registers the secrets inside a structured raw value before it is validated. */
  register?: (raw: string) => void
}

/** What `readInputs` returns for a spec: each input's parsed type. */
export type InputValues<S> = { [K in keyof S]: S[K] extends Field<infer T> ? T : never }

export function field<T>(schema: z.ZodType<T, string>, register?: (raw: string) => void): Field<T> {
  return register ? { schema, register } : { schema }
}

export function secret<T>(schema: z.ZodType<T, string>): Field<T> {
  return { schema, secret: true }
}

/** Longest value echoed in an error; longer or multi-line values are described, not shown. */
const SHOWN_CHARS = 100
/** Longest reason in an error: a 100 KiB input never becomes a 100 KiB error line. */
const REASON_CHARS = 400

/** One line, at most `max` characters. */
export function clip(text: string, max: number): string {
  const line = text.replace(/\s*[\r\n]+\s*/g, ' ')
  return line.length > max ? `${line.slice(0, max - 1)}…` : line
}

function shownValue(raw: string, isSecret: boolean | undefined): string {
  if (isSecret) return '(secret, not shown)'
  const lines = raw.split(/\r?\n/).length
  if (lines > 1) return `(${lines} lines, not shown)`
  if (raw.length > SHOWN_CHARS) return `(${raw.length} characters, not shown)`
  return JSON.stringify(redactUrl(raw))
}

/**
 * Reads and validates every input of an action before anything else happens.
 * Secrets are masked first, the ones inside structured values included; a bad
 * value fails with one short error naming the input (and the item and field
 * inside it) and what is accepted, never a secret or a whole multi-line value.
 */
export function readInputs<S extends Record<string, Field<unknown>>>(
  spec: S,
  read: (name: string) => string,
  debug: (message: string) => void = () => {}
): InputValues<S> {
  const raw: Record<string, string> = {}
  for (const name of Object.keys(spec)) {
    raw[name] = read(name)
    if (spec[name].secret) addSecret(raw[name])
    spec[name].register?.(raw[name])
  }
  const out: Record<string, unknown> = {}
  for (const [name, f] of Object.entries(spec)) {
    const result = f.schema.safeParse(raw[name])
    if (!result.success) {
      const reason = clip(
        redactUrl(result.error.issues[0]?.message ?? 'invalid value'),
        REASON_CHARS
      )
      throw new ConfigurationError(
        `Input '${name}' has an invalid value ${shownValue(raw[name], f.secret)}: ${reason}`
      )
    }
    out[name] = result.data
    if (!f.secret) debug(clip(redactUrl(`input ${name} = ${JSON.stringify(result.data)}`), 2000))
  }
  return out as InputValues<S>
}

// ---- value parsers: each takes the raw string (already trimmed by core) ----

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** The longest delay Node timers hold (2^31-1 ms, about 24.8 days); also Postgres' limit for its timeouts. */
export const MAX_DURATION_MS = 2_147_483_647

/** `500ms`, `10s`, `5m`, `1h`, `1m30s`, or a bare number of seconds. Returns milliseconds. */
export function parseDuration(text: string): number | undefined {
  const t = text.trim().toLowerCase()
  let total: number
  if (/^\d+(\.\d+)?$/.test(t)) total = Number(t) * 1000
  else if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(t)) return undefined
  else {
    total = 0
    for (const m of t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) total += Number(m[1]) * UNITS[m[2]]
  }
  // A 400-digit number is Infinity, not a duration.
  return Number.isFinite(total) ? Math.round(total) : undefined
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 10_000 && ms % 1000 !== 0) return `${Math.round(ms / 100) / 10}s`
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return s % 60 ? `${m}m${s % 60}s` : `${m}m`
  const h = Math.floor(m / 60)
  return m % 60 ? `${h}h${m % 60}m` : `${h}h`
}

const DURATION_HELP = 'expected a duration such as 500ms, 10s, 5m, 1h or a number of seconds'

export interface DurationBounds {
  min?: number
  /** Defaults to MAX_DURATION_MS: a longer timer would fire at once. */
  max?: number
}

/** Why `ms` is out of bounds, or undefined when it is within them. */
export function durationProblem(
  ms: number | undefined,
  b: DurationBounds = {}
): string | undefined {
  if (ms === undefined) return DURATION_HELP
  const max = Math.min(b.max ?? MAX_DURATION_MS, MAX_DURATION_MS)
  if (b.min !== undefined && ms < b.min) return `must be at least ${formatDuration(b.min)}`
  if (ms > max)
    return max === MAX_DURATION_MS
      ? `must be at most ${MAX_DURATION_MS}ms (about 24.8 days)`
      : `must be at most ${formatDuration(max)}`
  return undefined
}

export function duration(def: string, bounds: DurationBounds = {}) {
  return z.string().transform((raw, ctx) => {
    const ms = parseDuration(raw === '' ? def : raw)
    const problem = durationProblem(ms, bounds)
    if (problem !== undefined || ms === undefined) {
      ctx.addIssue({ code: 'custom', message: problem ?? DURATION_HELP })
      return z.NEVER
    }
    return ms
  })
}

/** Empty is undefined (the caller's default); anything else is a bounded duration. */
export function optionalDuration(bounds: DurationBounds = {}) {
  return z.string().transform((raw, ctx) => {
    if (raw === '') return undefined
    const ms = parseDuration(raw)
    const problem = durationProblem(ms, bounds)
    if (problem !== undefined || ms === undefined) {
      ctx.addIssue({ code: 'custom', message: problem ?? DURATION_HELP })
      return z.NEVER
    }
    return ms
  })
}

/** `core.getBooleanInput` semantics: true|True|TRUE|false|False|FALSE; empty takes the default. */
export function bool(def: boolean) {
  return z.string().transform((raw, ctx) => {
    if (raw === '') return def
    if (['true', 'True', 'TRUE'].includes(raw)) return true
    if (['false', 'False', 'FALSE'].includes(raw)) return false
    ctx.addIssue({ code: 'custom', message: 'expected true or false' })
    return z.NEVER
  })
}

export function integer(def: number, min: number, max: number) {
  return z.string().transform((raw, ctx) => {
    const text = raw === '' ? String(def) : raw
    const n = Number(text)
    if (!/^-?\d+$/.test(text) || n < min || n > max) {
      ctx.addIssue({ code: 'custom', message: `expected a whole number from ${min} to ${max}` })
      return z.NEVER
    }
    return n
  })
}

/** One of `values`; empty takes the default, or is an error when there is none. */
export function oneOf<const T extends readonly string[]>(values: T, def?: T[number]) {
  return z.string().transform((raw, ctx) => {
    const v = raw === '' ? def : raw
    if (v === undefined || !values.includes(v)) {
      ctx.addIssue({ code: 'custom', message: `expected one of ${values.join(', ')}` })
      return z.NEVER
    }
    return v as T[number]
  })
}

/** Free text; empty takes the default. */
export function text(def = '') {
  return z.string().transform(raw => (raw === '' ? def : raw))
}

export function required(what = 'a value') {
  return z.string().min(1, { message: `required: expected ${what}` })
}

/** Items separated by newlines or commas; blanks dropped. */
export function splitList(raw: string): string[] {
  return raw
    .split(/[\n,]/)
    .map(s => s.trim())
    .filter(Boolean)
}

export function list(def: string[] = []) {
  return z.string().transform(raw => (raw === '' ? def : splitList(raw)))
}

export function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value)
    return u.protocol === 'http:' || u.protocol === 'https:'
  } catch {
    return false
  }
}

export function httpUrl(def = '') {
  return z.string().transform((raw, ctx) => {
    const v = raw === '' ? def : raw
    // A proxy's `user:password@` or a key in the query: masked before anything prints the URL.
    addUrlSecrets(v)
    if (v === '') return ''
    if (!isHttpUrl(v)) {
      ctx.addIssue({ code: 'custom', message: 'expected an http:// or https:// URL' })
      return z.NEVER
    }
    return v.replace(/\/+$/, '')
  })
}

/** An item of a list, for an error: userinfo hidden, redacted, one short line. */
export function shownItem(value: string): string {
  return JSON.stringify(clip(redactUrl(value), 80))
}

/** Registers the URL secrets of every item of a raw URL list (before validation). */
export function registerUrlList(raw: string): void {
  for (const u of splitList(raw)) addUrlSecrets(u)
}

export function urlList() {
  return z.string().transform((raw, ctx) => {
    const urls = splitList(raw)
    const bad = urls.findIndex(u => !isHttpUrl(u))
    if (bad >= 0) {
      ctx.addIssue({
        code: 'custom',
        message: `item ${bad + 1} (${shownItem(urls[bad])}) is not an http:// or https:// URL; expected one or more URLs separated by newlines or commas`
      })
      return z.NEVER
    }
    return urls
  })
}

/** An HTTP header name (RFC 9110 token). */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/** Why a header value cannot be sent (a line break would split the request), or undefined. */
export function headerValueProblem(value: string): string | undefined {
  if (/[\r\n]/.test(value)) return 'a header value cannot contain a line break'
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value))
    return 'a header value cannot contain control characters'
  return undefined
}

/**
 * A value sent in an HTTP header (an API token, a bypass secret): one line without
 * control characters, refused as an input error before any request; optional
 * unless `requiredWhat` says what is expected.
 */
export function headerText(requiredWhat?: string) {
  return (requiredWhat ? required(requiredWhat) : z.string()).refine(
    v => headerValueProblem(v) === undefined,
    { message: 'expected one line without control characters (it is sent in an HTTP header)' }
  )
}

/** Multi-line `Name: value` headers. Values are registered as secrets by the caller's field. */
export function parseHeaders(raw: string): Record<string, string> | string {
  const headers: Record<string, string> = {}
  for (const [n, line] of raw.split(/\n/).entries()) {
    const text = line.replace(/\r$/, '')
    if (!text.trim()) continue
    const i = text.indexOf(':')
    const name = i > 0 ? text.slice(0, i).trim() : ''
    // Never echo the line: it may hold the credential.
    if (!HEADER_NAME.test(name)) return `line ${n + 1} is not 'Name: value'`
    const value = text.slice(i + 1).trim()
    const problem = headerValueProblem(value)
    if (problem) return `line ${n + 1} (${name}): ${problem}`
    headers[name.toLowerCase()] = value
  }
  return headers
}

export function headerLines() {
  return z.string().transform((raw, ctx) => {
    const parsed = parseHeaders(raw)
    if (typeof parsed === 'string') {
      ctx.addIssue({ code: 'custom', message: `expected one 'Name: value' per line; ${parsed}` })
      return z.NEVER
    }
    return parsed
  })
}
