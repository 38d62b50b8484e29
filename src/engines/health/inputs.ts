import {
  duration,
  field,
  formatDuration,
  headerLines,
  integer,
  registerUrlList,
  secret,
  urlList,
  type DurationBounds,
  type Field,
  type InputValues
} from '../../runtime/inputs.js'
import { ConfigurationError } from '../../runtime/errors.js'
import { addHeaderSecret } from '../../runtime/redact.js'
import {
  buildChecks,
  checksYaml,
  LATENCY_BOUNDS,
  registerCheckSecrets,
  type CheckSpec
} from './checks.js'
import { DEFAULT_MAX_CONNECTIONS, MAX_CONNECTIONS_CEILING } from './gate.js'
import { statusSet } from './status.js'

/** `request-timeout`: at least 100 ms, at most 10 minutes. */
export const REQUEST_TIMEOUT_BOUNDS: DurationBounds = { min: 100, max: 10 * 60_000 }
/** `timeout` (the whole gate): at least 100 ms, at most 6 hours (a hosted job's limit). */
export const TIMEOUT_BOUNDS: DurationBounds = { min: 100, max: 6 * 3_600_000 }
/** `interval`: at least 50 ms, at most 1 hour. */
export const INTERVAL_BOUNDS: DurationBounds = { min: 50, max: 3_600_000 }

export interface HealthDefaults {
  timeout: string
  interval: string
  successes: number
  requestTimeout?: string
  maxLatency?: string
  expectStatus?: string
}

/** Header values are secrets: mask each one as soon as it is parsed. */
export function secretHeaders() {
  return headerLines().transform(h => {
    for (const v of Object.values(h)) addHeaderSecret(v)
    return h
  })
}

/** The health inputs, unprefixed (`max-latency` is added apart: it never has a prefix). */
function baseFields(d: HealthDefaults) {
  return {
    url: field(urlList(), registerUrlList),
    checks: field(checksYaml(), registerCheckSecrets),
    'expect-status': field(statusSet(d.expectStatus ?? '200-299')),
    'request-timeout': field(duration(d.requestTimeout ?? '10s', REQUEST_TIMEOUT_BOUNDS)),
    timeout: field(duration(d.timeout, TIMEOUT_BOUNDS)),
    interval: field(duration(d.interval, INTERVAL_BOUNDS)),
    successes: field(integer(d.successes, 1, 100)),
    headers: secret(secretHeaders())
  }
}

export type HealthPrefix = '' | 'health-'
type BaseFields = ReturnType<typeof baseFields>
type Prefixed<P extends string, T> = { [K in keyof T & string as `${P}${K}`]: T[K] }

/** The fields `healthFields(prefix)` declares, by their input names. */
export type HealthFields<P extends HealthPrefix> = Prefixed<P, BaseFields> & {
  'max-latency': Field<number>
}

/** The optional per-origin connection limit (`max-connections`, `health-max-connections`). */
export type ConnectionFields<P extends HealthPrefix> = Prefixed<
  P,
  { 'max-connections': Field<number> }
>

/** What `healthConfig` reads: the parsed health inputs (the connection limit is optional). */
export type HealthValues<P extends HealthPrefix> = InputValues<HealthFields<P>> &
  Partial<InputValues<ConnectionFields<P>>>

function prefixed<P extends HealthPrefix, T extends object>(prefix: P, fields: T): Prefixed<P, T> {
  // The one place the key type is rebuilt: each key gains the prefix.
  return Object.fromEntries(Object.entries(fields).map(([k, f]) => [prefix + k, f])) as Prefixed<
    P,
    T
  >
}

/**
 * The health inputs every action shares. smoke-health names them plainly
 * (`url`, `timeout`); the deploy actions prefix them (`health-url`,
 * `health-timeout`). `max-latency` has no prefix anywhere.
 */
export function healthFields<P extends HealthPrefix>(
  prefix: P,
  d: HealthDefaults
): HealthFields<P> {
  return {
    ...prefixed(prefix, baseFields(d)),
    'max-latency': field(duration(d.maxLatency ?? '2s', LATENCY_BOUNDS))
  }
}

/** `max-connections`: requests in flight (and connections) per origin in a round. */
export function connectionFields<P extends HealthPrefix>(prefix: P): ConnectionFields<P> {
  return prefixed(prefix, {
    'max-connections': field(integer(DEFAULT_MAX_CONNECTIONS, 1, MAX_CONNECTIONS_CEILING))
  })
}

export interface HealthConfig {
  checks: CheckSpec[]
  requestTimeoutMs: number
  timeoutMs: number
  intervalMs: number
  successes: number
  /** Per origin; DEFAULT_MAX_CONNECTIONS when not given. */
  maxConnections?: number
}

type BaseValues = InputValues<BaseFields>
/** The health values by their unprefixed names. */
type PlainValues = BaseValues & { 'max-latency': number; 'max-connections'?: number }

function unprefixed<P extends HealthPrefix>(prefix: P, v: HealthValues<P>): PlainValues {
  // The one place the prefixed keys are read back: the types come from the fields above.
  const values = v as unknown as Record<string, unknown>
  const out: Record<string, unknown> = { 'max-latency': values['max-latency'] }
  for (const k of [
    'url',
    'checks',
    'expect-status',
    'request-timeout',
    'timeout',
    'interval',
    'successes',
    'headers',
    'max-connections'
  ])
    out[k] = values[`${prefix}${k}`]
  return out as PlainValues
}

/** The parsed health inputs back as a gate configuration; undefined when none were given. */
export function healthConfig<P extends HealthPrefix>(
  prefix: P,
  values: HealthValues<P>
): HealthConfig | undefined {
  const v = unprefixed(prefix, values)
  if (v.url.length === 0 && v.checks.length === 0) return undefined
  const checks = buildChecks(
    v.url,
    v.checks,
    { expectStatus: v['expect-status'], maxLatencyMs: v['max-latency'], headers: v.headers },
    { url: `${prefix}url`, checks: `${prefix}checks` }
  )
  if ((v.successes - 1) * v.interval >= v.timeout)
    throw new ConfigurationError(
      `Input '${prefix}timeout' (${formatDuration(v.timeout)}) cannot fit ${v.successes} passing rounds ${formatDuration(v.interval)} apart: raise it above (${prefix}successes - 1) x ${prefix}interval`
    )
  return {
    checks,
    requestTimeoutMs: v['request-timeout'],
    timeoutMs: v.timeout,
    intervalMs: v.interval,
    successes: v.successes,
    ...(v['max-connections'] !== undefined ? { maxConnections: v['max-connections'] } : {})
  }
}
