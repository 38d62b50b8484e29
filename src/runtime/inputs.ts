import { z } from 'zod'
import { ConfigurationError } from './errors.js'
import { addSecret, redact } from './redact.js'

/** One declared input: how to parse its raw string, and whether it is a secret. */
export interface Field<T> {
  schema: z.ZodType<T, string>
  secret?: boolean
}

type Parsed<S> = { [K in keyof S]: S[K] extends Field<infer T> ? T : never }

export function field<T>(schema: z.ZodType<T, string>): Field<T> {
  return { schema }
}

export function secret<T>(schema: z.ZodType<T, string>): Field<T> {
  return { schema, secret: true }
}

/**
 * Reads and validates every input of an action before anything else happens.
 * Secrets are masked first; a bad value fails with one error naming the input,
 * the value (never a secret's) and what is accepted.
 */
export function readInputs<S extends Record<string, Field<unknown>>>(
  spec: S,
  read: (name: string) => string,
  debug: (message: string) => void = () => {}
): Parsed<S> {
  const raw: Record<string, string> = {}
  for (const name of Object.keys(spec)) {
    raw[name] = read(name)
    if (spec[name].secret) addSecret(raw[name])
  }
  const out: Record<string, unknown> = {}
  for (const [name, f] of Object.entries(spec)) {
    const result = f.schema.safeParse(raw[name])
    if (!result.success) {
      const shown = f.secret ? '(secret, not shown)' : JSON.stringify(raw[name])
      const reason = result.error.issues[0]?.message ?? 'invalid value'
      throw new ConfigurationError(`Input '${name}' has an invalid value ${shown}: ${reason}`)
    }
    out[name] = result.data
    if (!f.secret) debug(redact(`input ${name} = ${JSON.stringify(result.data)}`))
  }
  return out as Parsed<S>
}

// ---- value parsers: each takes the raw string (already trimmed by core) ----

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** `500ms`, `10s`, `5m`, `1h`, `1m30s`, or a bare number of seconds. Returns milliseconds. */
export function parseDuration(text: string): number | undefined {
  const t = text.trim().toLowerCase()
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000)
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(t)) return undefined
  let total = 0
  for (const m of t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) total += Number(m[1]) * UNITS[m[2]]
  return Math.round(total)
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

export function duration(def: string, opts: { min?: number; max?: number } = {}) {
  return z.string().transform((raw, ctx) => {
    const ms = parseDuration(raw === '' ? def : raw)
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: DURATION_HELP })
      return z.NEVER
    }
    if (opts.min !== undefined && ms < opts.min) {
      ctx.addIssue({ code: 'custom', message: `must be at least ${formatDuration(opts.min)}` })
      return z.NEVER
    }
    if (opts.max !== undefined && ms > opts.max) {
      ctx.addIssue({ code: 'custom', message: `must be at most ${formatDuration(opts.max)}` })
      return z.NEVER
    }
    return ms
  })
}

export function optionalDuration() {
  return z.string().transform((raw, ctx) => {
    if (raw === '') return undefined
    const ms = parseDuration(raw)
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: DURATION_HELP })
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
    if (v === '') return ''
    if (!isHttpUrl(v)) {
      ctx.addIssue({ code: 'custom', message: 'expected an http:// or https:// URL' })
      return z.NEVER
    }
    return v.replace(/\/+$/, '')
  })
}

export function urlList() {
  return z.string().transform((raw, ctx) => {
    const urls = splitList(raw)
    const bad = urls.find(u => !isHttpUrl(u))
    if (bad !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `'${bad}' is not an http:// or https:// URL; expected one or more URLs separated by newlines or commas`
      })
      return z.NEVER
    }
    return urls
  })
}

/** Multi-line `Name: value` headers. Values are registered as secrets by the caller's field. */
export function parseHeaders(raw: string): Record<string, string> | string {
  const headers: Record<string, string> = {}
  for (const [n, line] of raw.split(/\r?\n/).entries()) {
    if (!line.trim()) continue
    const i = line.indexOf(':')
    const name = i > 0 ? line.slice(0, i).trim() : ''
    // Never echo the line: it may hold the credential.
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) return `line ${n + 1} is not 'Name: value'`
    headers[name.toLowerCase()] = line.slice(i + 1).trim()
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
