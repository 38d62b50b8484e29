import { HttpClient, sleep } from '../../providers/http/client.js'
import { worst, type Severity } from '../incident/severity.js'
import type { CheckSpec } from './checks.js'
import { runCheck, type CheckResult, type ProbeClient } from './probe.js'

/** Connections per origin when no `max-connections` is given: 500 checks of 200 ms in about 0.4 s. */
export const DEFAULT_MAX_CONNECTIONS = 256
/** The most a gate may open to one origin: it must never flood its own API. */
export const MAX_CONNECTIONS_CEILING = 1024

export interface GateOptions {
  checks: CheckSpec[]
  requestTimeoutMs: number
  timeoutMs: number
  intervalMs: number
  successes: number
  /** Requests in flight per origin (and connections the client opens to it). */
  maxConnections?: number
  http?: ProbeClient
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
 * At most `limit` tasks at once per key. A queued check waits here, before its
 * request is sent, so neither its latency nor its timeout counts the wait.
 */
export function perKeyLimit(limit: number): <T>(key: string, task: () => Promise<T>) => Promise<T> {
  const active = new Map<string, number>()
  const waiting = new Map<string, Array<() => void>>()
  const release = (key: string): void => {
    const next = waiting.get(key)?.shift()
    if (next) next()
    else active.set(key, (active.get(key) ?? 1) - 1)
  }
  return async (key, task) => {
    if ((active.get(key) ?? 0) >= limit)
      await new Promise<void>(r => {
        const q = waiting.get(key) ?? []
        q.push(r)
        waiting.set(key, q)
      })
    else active.set(key, (active.get(key) ?? 0) + 1)
    try {
      return await task()
    } finally {
      release(key)
    }
  }
}

function origin(url: string): string {
  try {
    return new URL(url).origin
  } catch {
    return url
  }
}

/**
 * Runs every check concurrently (at most `maxConnections` per origin), round
 * after round, until `successes` consecutive rounds pass or the deadline comes.
 * No request runs past the deadline; one it cuts short is not evidence against
 * the endpoint: the evidence of each check is its last result that ran to
 * `request-timeout` (when there is one).
 */
export async function runHealthGate(o: GateOptions): Promise<GateResult> {
  const maxConnections = o.maxConnections ?? DEFAULT_MAX_CONNECTIONS
  const http = o.http ?? new HttpClient({ attempts: 1, connections: maxConnections })
  const limit = perKeyLimit(maxConnections)
  const wait = o.sleep ?? sleep
  const now = o.now ?? Date.now
  const started = now()
  const deadline = started + o.timeoutMs
  const limits = { requestTimeoutMs: o.requestTimeoutMs, deadline, now }
  let rounds = 0
  let passedRounds = 0
  let consecutive = 0
  let evidence: CheckResult[] | undefined
  let last: CheckResult[] = []
  /** Per check, its last result that the deadline did not cut short. */
  const conclusive: Array<CheckResult | undefined> = []
  for (;;) {
    rounds++
    last = await Promise.all(
      o.checks.map(c => limit(origin(c.url), () => runCheck(c, http, limits)))
    )
    const passed = last.every(r => r.ok)
    if (passed) {
      passedRounds++
      consecutive++
    } else {
      consecutive = 0
      // A round that failed only where the deadline cut it short proves nothing new.
      const stands = last.map((r, i) => (r.cutShort ? (conclusive[i] ?? r) : r))
      if (last.some(r => !r.ok && !r.cutShort) || !evidence) evidence = stands
    }
    last.forEach((r, i) => {
      if (!r.cutShort) conclusive[i] = r
    })
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
