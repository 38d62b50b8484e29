import { HttpClient, NetworkError, parseJson, type ErrorKind } from '../../providers/http/client.js'
import { redact, redactUrl } from '../../runtime/redact.js'
import { leastSevere, type Severity } from '../incident/severity.js'
import { checkAssertion, MATCH_TIME_MS } from './assertions.js'
import type { CheckSpec } from './checks.js'

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
  /** True when the only problem was latency over the limit (or an answer too slow to finish). */
  slowOnly: boolean
  /**
   * Stopped by the gate's deadline before `request-timeout`: slow, but not
   * evidence that the endpoint is down.
   */
  cutShort?: boolean
  severity?: Severity
  excerpt?: string
}

/** What one probe may take. */
export interface ProbeLimits {
  /** `request-timeout`: the time a request gets in a round that is not cut short. */
  requestTimeoutMs: number
  /** The gate's deadline (on `now`'s clock): no request runs past it. */
  deadline?: number
  now?: () => number
}

/** The HTTP client surface a probe needs. */
export type ProbeClient = Pick<HttpClient, 'request'>

const EXCERPT = 300

function excerptOf(body: string): string {
  return redact(body.replace(/\s+/g, ' ').trim()).slice(0, EXCERPT)
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

/**
 * Probes one endpoint. Its time is its own: it starts when the request is sent
 * (the gate never queues it behind others). A request the gate's deadline cuts
 * short is classed as slow, never as down.
 */
export async function runCheck(
  spec: CheckSpec,
  http: ProbeClient,
  limits: ProbeLimits
): Promise<CheckResult> {
  const now = limits.now ?? Date.now
  const base = {
    name: spec.name,
    url: redactUrl(spec.url),
    reasons: [] as string[],
    slowOnly: false
  }
  const left = limits.deadline === undefined ? Infinity : Math.floor(limits.deadline - now())
  const timeoutMs = Math.min(limits.requestTimeoutMs, left)
  const cutShort = timeoutMs < limits.requestTimeoutMs
  const slow = (reason: string, status?: number, statusReason?: string): CheckResult => ({
    ...base,
    ok: false,
    status,
    error: statusReason ? `${statusReason}; ${reason}` : reason,
    reasons: statusReason ? [statusReason, reason] : [reason],
    slowOnly: !statusReason,
    cutShort,
    severity: statusReason ? spec.severity : leastSevere('sev2', spec.severity)
  })
  if (timeoutMs < 1) return slow("slow: not sent, no time left before the gate's deadline")
  const statusProblem = (status: number): string | undefined =>
    spec.statusRanges.some(([lo, hi]) => status >= lo && status <= hi)
      ? undefined
      : `returned ${status} (expected ${spec.expectStatus})`
  let headers: { status: number; ms: number } | undefined
  try {
    const res = await http.request(spec.url, {
      method: spec.method,
      headers: { accept: 'application/json, text/plain;q=0.9, */*;q=0.8', ...spec.headers },
      timeoutMs,
      attempts: 1,
      maxBodyBytes: 1 << 20,
      onHeaders: h => (headers = h)
    })
    const reasons: string[] = []
    const wrongStatus = statusProblem(res.status)
    if (wrongStatus) reasons.push(wrongStatus)
    for (const needle of spec.bodyContains)
      if (!res.body.includes(needle))
        reasons.push(`body does not contain ${JSON.stringify(redact(needle))}`)
    if (spec.json.length) {
      const doc = parseJson<unknown>(res.body)
      if (doc === undefined) reasons.push('body is not valid JSON')
      if (doc !== undefined)
        for (const a of spec.json) {
          const budget =
            limits.deadline === undefined
              ? MATCH_TIME_MS
              : Math.max(1, Math.min(MATCH_TIME_MS, limits.deadline - now()))
          const why = checkAssertion(doc, a, budget)
          if (why) reasons.push(redact(why))
        }
    }
    const tooSlow = res.latencyMs > spec.maxLatencyMs
    if (tooSlow) reasons.push(`latency ${res.latencyMs} ms over the ${spec.maxLatencyMs} ms limit`)
    const ok = reasons.length === 0
    const slowOnly = tooSlow && reasons.length === 1
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
    const within = cutShort
      ? `the remaining ${timeoutMs} ms before the gate's deadline`
      : `${timeoutMs} ms`
    if (e.kind === 'timeout' && headers)
      // The server answered; its body was still streaming.
      return slow(
        `headers in ${headers.ms} ms, body not finished within ${within}`,
        headers.status,
        statusProblem(headers.status)
      )
    if (e.kind === 'timeout' && cutShort) return slow(`slow: no answer within ${within}`)
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
