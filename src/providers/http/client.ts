import type { Dispatcher } from 'undici'
import { USER_AGENT } from '../../runtime/version.js'

/** Why a request produced no response. */
export type ErrorKind = 'refused' | 'timeout' | 'reset' | 'tls' | 'dns' | 'network'

export class NetworkError extends Error {
  override name = 'NetworkError'
  constructor(
    message: string,
    readonly kind: ErrorKind,
    readonly code?: string
  ) {
    super(message)
  }
}

export interface HttpResponse {
  status: number
  headers: Record<string, string>
  body: string
  /** Milliseconds from sending the request to the end of the body. */
  latencyMs: number
  /** How many attempts were made (1 when no retry happened). */
  attempts: number
}

export interface RequestOptions {
  method?: string
  headers?: Record<string, string>
  body?: string
  /** Per-attempt timeout; defaults to the client's. */
  timeoutMs?: number
  /** Attempts in all, the first included; defaults to the client's. 1 disables retries. */
  attempts?: number
  /**
   * Retry a non-idempotent request (POST, PATCH) when the server said it did not
   * process it: 429 only, after `Retry-After`. Never on errors or other statuses.
   */
  retryRateLimited?: boolean
  /**
   * The caller knows repeating the request is harmless (a PATCH of absolute
   * values): retried like a GET. Defaults to the method's own semantics.
   */
  idempotent?: boolean
  /** Read at most this many bytes of the body (the rest is discarded). */
  maxBodyBytes?: number
  /** Epoch ms: no attempt runs past it and no retry waits beyond it. */
  deadline?: number
  /** Called when the status and headers have arrived, `ms` after sending (the body may follow). */
  onHeaders?: (info: { status: number; ms: number }) => void
  /**
   * Checks a 2xx answer: why the caller cannot use it (not JSON, a field missing),
   * or undefined. Such an answer is a transient failure of the call: an idempotent
   * request is retried like a 502; in the end `MalformedAnswerError` is thrown.
   */
  check?: (res: HttpResponse) => string | undefined
}

export interface HttpClientOptions {
  timeoutMs?: number
  attempts?: number
  /** Backoff base and cap for the exponential delay. */
  baseDelayMs?: number
  maxDelayMs?: number
  /** A `Retry-After` longer than this is not waited for: the response is returned. */
  maxRetryAfterMs?: number
  userAgent?: string
  sleep?: (ms: number) => Promise<void>
  random?: () => number
  dispatcher?: Dispatcher
  /** Connections per origin of the shared keep-alive pool (default 64); one pool per limit. */
  connections?: number
  /** Called before each retry, for logging. */
  onRetry?: (info: { attempt: number; delayMs: number; reason: string; url: string }) => void
  /**
   * Whether an answer says "not processed, come back later" (default: 429). GitHub's
   * secondary rate limit is a 403 with Retry-After. Such answers are retried, a POST too.
   */
  rateLimited?: (res: HttpResponse) => boolean
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'])
const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504])

export const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms))

type Undici = typeof import('undici')
let undici: Promise<Undici> | undefined
/** undici is loaded on the first request, so runs that end at validation never pay for it. */
function loadUndici(): Promise<Undici> {
  // A CommonJS module: bundled, its namespace may hold only `default`.
  undici ??= import('undici').then(m => ((m as { default?: Undici }).default ?? m) as Undici)
  return undici
}

const PROXY_VARS = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy']

const sharedAgents = new Map<number, Dispatcher>()
/**
 * One keep-alive pool for the run. Behind a proxy (HTTPS_PROXY, HTTP_PROXY, with
 * NO_PROXY exceptions, as self-hosted runners set them) requests go through it.
 */
async function defaultDispatcher(
  connections = 64,
  env: NodeJS.ProcessEnv = process.env
): Promise<Dispatcher> {
  const { Agent, EnvHttpProxyAgent } = await loadUndici()
  const options = { keepAliveTimeout: 4000, connections }
  let agent = sharedAgents.get(connections)
  if (!agent) {
    agent = PROXY_VARS.some(v => env[v]) ? new EnvHttpProxyAgent(options) : new Agent(options)
    sharedAgents.set(connections, agent)
  }
  return agent
}

/** Closes idle keep-alive connections so the process can exit at once. */
export async function closeConnections(): Promise<void> {
  const agents = [...sharedAgents.values()]
  sharedAgents.clear()
  await Promise.all(agents.map(a => a.destroy()))
}

/** Seconds or an HTTP date, as milliseconds from now. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined
  const v = value.trim()
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000)
  const date = Date.parse(v)
  if (Number.isNaN(date)) return undefined
  return Math.max(0, date - now)
}

export function classifyError(error: unknown): NetworkError {
  const err = error as { code?: string; name?: string; message?: string; cause?: unknown }
  const cause = (err?.cause ?? {}) as { code?: string; message?: string }
  const code = err?.code ?? cause.code ?? ''
  const message = err?.message ?? String(error)
  const kind = ((): ErrorKind => {
    if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return 'timeout'
    if (/TIMEOUT|ETIMEDOUT/.test(code)) return 'timeout'
    if (code === 'ECONNREFUSED') return 'refused'
    if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET') return 'reset'
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'dns'
    if (/CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code) || /certificate|TLS/i.test(message))
      return 'tls'
    return 'network'
  })()
  const text = kind === 'timeout' ? 'timed out' : `${message}${code ? ` (${code})` : ''}`
  return new NetworkError(text, kind, code || undefined)
}

/**
 * The one HTTP client of the suite: per-attempt timeout, exponential backoff with
 * full jitter, `Retry-After` honoured, idempotent methods retried only.
 */
export class HttpClient {
  private readonly o: Required<Omit<HttpClientOptions, 'dispatcher' | 'onRetry'>> &
    Pick<HttpClientOptions, 'dispatcher' | 'onRetry'>

  constructor(options: HttpClientOptions = {}) {
    this.o = {
      timeoutMs: 10_000,
      attempts: 4,
      baseDelayMs: 500,
      maxDelayMs: 15_000,
      maxRetryAfterMs: 120_000,
      userAgent: USER_AGENT,
      sleep,
      random: Math.random,
      connections: 64,
      rateLimited: res => res.status === 429,
      ...options
    }
  }

  backoff(attempt: number): number {
    const ceiling = Math.min(this.o.maxDelayMs, this.o.baseDelayMs * 2 ** (attempt - 1))
    return Math.round(ceiling * (0.5 + this.o.random() / 2))
  }

  async request(url: string, options: RequestOptions = {}): Promise<HttpResponse> {
    const method = (options.method ?? 'GET').toUpperCase()
    const attempts = Math.max(1, options.attempts ?? this.o.attempts)
    const idempotent = options.idempotent ?? IDEMPOTENT.has(method)
    for (let attempt = 1; ; attempt++) {
      let response: HttpResponse | undefined
      let failure: NetworkError | MalformedAnswerError | undefined
      try {
        response = await this.once(url, method, options, attempt)
      } catch (error) {
        failure = error instanceof NetworkError ? error : classifyError(error)
      }
      // A 2xx answer the caller cannot use fails the call like a 502 would.
      const problem =
        response && response.status < 300 && options.check ? options.check(response) : undefined
      if (response && problem !== undefined) {
        failure = Object.assign(
          new MalformedAnswerError(
            `answered ${response.status} with ${problem}`,
            response.status,
            response.body
          ),
          { attempts: attempt }
        )
        response = undefined
      }
      if (attempt >= attempts) {
        if (response) return response
        throw failure
      }
      let delay: number | undefined
      let reason = ''
      if (failure) {
        if (!idempotent) throw failure
        delay = this.backoff(attempt)
        reason = failure.message
      } else if (
        response &&
        (RETRY_STATUSES.has(response.status) || this.o.rateLimited(response))
      ) {
        const rateLimited = this.o.rateLimited(response)
        if (!idempotent && !(rateLimited && options.retryRateLimited)) return response
        const after =
          parseRetryAfter(response.headers['retry-after']) ??
          (rateLimited ? rateLimitReset(response.headers) : undefined)
        if (after !== undefined && after > this.o.maxRetryAfterMs) return response
        // A POST is retried only when the server said when (Retry-After or Ratelimit-Reset).
        if (!idempotent && after === undefined) return response
        delay =
          after !== undefined ? after + Math.round(this.o.random() * 250) : this.backoff(attempt)
        reason = `HTTP ${response.status}`
      } else {
        return response as HttpResponse
      }
      if (options.deadline !== undefined && Date.now() + delay >= options.deadline) {
        if (response) return response
        throw failure
      }
      this.o.onRetry?.({ attempt, delayMs: delay, reason, url })
      await this.o.sleep(delay)
    }
  }

  private async once(
    url: string,
    method: string,
    options: RequestOptions,
    attempt: number
  ): Promise<HttpResponse> {
    const left = options.deadline !== undefined ? options.deadline - Date.now() : Infinity
    const timeoutMs = Math.max(1, Math.min(options.timeoutMs ?? this.o.timeoutMs, left))
    let signal: AbortSignal | undefined
    try {
      const { request } = await loadUndici()
      const dispatcher = this.o.dispatcher ?? (await defaultDispatcher(this.o.connections))
      // Timed from here: loading undici is not the request's own time.
      signal = AbortSignal.timeout(timeoutMs)
      const started = performance.now()
      const res = await request(url, {
        method: method as Dispatcher.HttpMethod,
        headers: { 'user-agent': this.o.userAgent, ...options.headers },
        body: options.body,
        signal,
        dispatcher,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs
      })
      options.onHeaders?.({ status: res.statusCode, ms: Math.round(performance.now() - started) })
      const body = await readBody(res.body, options.maxBodyBytes)
      const headers: Record<string, string> = {}
      for (const [k, v] of Object.entries(res.headers)) {
        if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v
      }
      return {
        status: res.statusCode,
        headers,
        body,
        latencyMs: Math.round(performance.now() - started),
        attempts: attempt
      }
    } catch (error) {
      throw classifyError(
        signal?.aborted ? Object.assign(new Error('timeout'), { name: 'TimeoutError' }) : error
      )
    }
  }
}

/** Render's `Ratelimit-Reset`: seconds to wait (or an epoch in seconds, which it sometimes is). */
function rateLimitReset(headers: Record<string, string>): number | undefined {
  // GitHub sends x-ratelimit-reset (epoch seconds).
  const v = headers['ratelimit-reset'] ?? headers['x-ratelimit-reset']
  if (!v || !/^\d+$/.test(v)) return undefined
  const n = Number(v)
  const nowS = Date.now() / 1000
  return n > nowS - 86_400 ? Math.max(0, Math.round((n - nowS) * 1000)) : n * 1000
}

async function readBody(body: Dispatcher.ResponseData['body'], max?: number): Promise<string> {
  if (max === undefined) return body.text()
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    const buf = chunk as Buffer
    if (size < max) chunks.push(buf.subarray(0, max - size))
    size += buf.length
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** An HTTP answer that is not what the caller needed, with the API's own message. */
export class HttpError extends Error {
  override name = 'HttpError'
  constructor(
    message: string,
    readonly status: number,
    readonly body: string
  ) {
    super(message)
  }
}

/**
 * A 2xx answer that does not parse or lacks what the caller needs (a proxy's HTML
 * page, `{}`, a truncated body). A transient failure: never a silent default.
 */
export class MalformedAnswerError extends HttpError {
  override name = 'MalformedAnswerError'
  /** Attempts the call made, the first included (set by the client that gave up). */
  attempts = 1
}

/** Failures worth another try later: no answer, an unusable answer, 408, 429, 5xx. */
export function isTransient(error: unknown): boolean {
  if (error instanceof NetworkError || error instanceof MalformedAnswerError) return true
  return (
    error instanceof HttpError &&
    (error.status === 408 || error.status === 429 || error.status >= 500)
  )
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Why a JSON answer is unusable, in words, or undefined when `valid` accepts it.
 * `what` names the expected shape ("a deploy with an id and a status").
 */
export function jsonProblem(
  body: string,
  valid: (value: unknown) => boolean,
  what: string
): string | undefined {
  const value = parseJson<unknown>(body)
  if (value === undefined) {
    const start = body.trim().replace(/\s+/g, ' ').slice(0, 60)
    return start ? `a body that is not JSON: ${JSON.stringify(start)}` : 'an empty body'
  }
  if (valid(value)) return undefined
  const got = Array.isArray(value) ? 'a list' : value === null ? 'null' : `a JSON ${typeof value}`
  return `${got}, not ${what}`
}

/** The parsed body of an answer `jsonProblem` accepted. */
export function parseAnswer<T>(
  res: HttpResponse,
  valid: (value: unknown) => value is T,
  what: string
): T {
  const problem = jsonProblem(res.body, valid, what)
  if (problem !== undefined)
    throw new MalformedAnswerError(`answered ${res.status} with ${problem}`, res.status, res.body)
  return JSON.parse(res.body) as T
}

/** An API's own `message` from a JSON error body, else the start of the body. */
export function apiMessage(body: string): string {
  const parsed = parseJson<{ message?: unknown }>(body)
  if (parsed && typeof parsed.message === 'string') return parsed.message
  return body.trim().slice(0, 200)
}

export function parseJson<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T
  } catch {
    return undefined
  }
}
