import {
  apiMessage,
  HttpClient,
  HttpError,
  isRecord,
  isTransient as isTransientFailure,
  jsonProblem,
  MalformedAnswerError,
  NetworkError,
  parseAnswer,
  sleep as realSleep,
  type HttpResponse
} from '../http/client.js'
import { redact } from '../../runtime/redact.js'

export const DEFAULT_RENDER_API_URL = 'https://api.render.com/v1'

export const DEPLOY_STATUSES = [
  'created',
  'queued',
  'build_in_progress',
  'update_in_progress',
  'pre_deploy_in_progress',
  'live',
  'deactivated',
  'build_failed',
  'update_failed',
  'canceled',
  'pre_deploy_failed'
] as const
export type DeployStatus = (typeof DEPLOY_STATUSES)[number]

/** Render's own `IsComplete` (R1 pkg/deploy/util.go). */
export const TERMINAL_STATUSES: ReadonlySet<DeployStatus> = new Set([
  'live',
  'deactivated',
  'build_failed',
  'update_failed',
  'canceled',
  'pre_deploy_failed'
])

export type DeployTrigger =
  | 'api'
  | 'blueprint_sync'
  | 'deploy_hook'
  | 'deployed_by_render'
  | 'manual'
  | 'new_commit'
  | 'other'
  | 'rollback'
  | 'service_resumed'
  | 'service_updated'

export interface Deploy {
  id: string
  status?: DeployStatus
  trigger?: DeployTrigger
  commit?: { id?: string; message?: string; createdAt?: string }
  image?: { ref?: string; sha?: string }
  createdAt?: string
  updatedAt?: string
  startedAt?: string
  finishedAt?: string
}

export interface DeployWithCursor {
  cursor: string
  deploy: Deploy
}

export interface Service {
  id: string
  name: string
  type?: string
  suspended: 'suspended' | 'not_suspended'
  suspenders?: string[]
  autoDeploy?: 'yes' | 'no'
  /** Newer servers: `off`, `commit` or `checksPass`. */
  autoDeployTrigger?: 'commit' | 'off' | 'checksPass'
  dashboardUrl?: string
  /** Web services carry their public `url` here. */
  serviceDetails?: { url?: string }
}

export interface CreateDeployInput {
  commitId?: string
  imageUrl?: string
  clearCache?: boolean
}

export interface CreatedDeploy {
  deploy: Deploy
  /** Render answered 202 and the deploy was found by listing. */
  queued: boolean
}

export interface RenderClientOptions {
  apiKey: string
  baseUrl?: string
  http?: HttpClient
  sleep?: (ms: number) => Promise<void>
  now?: () => number
  /** How to find the deploy after a 202: poll every `findIntervalMs` for `findTimeoutMs` (CLI: 1 s, 1 min). */
  findIntervalMs?: number
  findTimeoutMs?: number
  log?: (message: string) => void
}

/** A Render answer the caller cannot use, explained in words. */
export class RenderApiError extends HttpError {
  override name = 'RenderApiError'
}

/**
 * Render said it created (2xx) or queued (202) a deploy that could not be found:
 * it exists and may go live without a health gate.
 */
export class UnidentifiedDeployError extends Error {
  override name = 'UnidentifiedDeployError'
}

/** Failures a poll can shrug off and try again later (no answer, an unusable one, 408/429/5xx). */
export const isTransient = isTransientFailure

/** What a caller needs from an answer: the check, and its name for the error. */
interface Shape<T> {
  valid: (value: unknown) => value is T
  what: string
}

const OBJECT: Shape<Record<string, unknown>> = { valid: isRecord, what: 'a JSON object' }
const hasId = (v: unknown): v is Deploy => isRecord(v) && typeof v.id === 'string' && v.id !== ''
/** A created deploy: its id is all the caller needs. */
const CREATED: Shape<Deploy> = { valid: hasId, what: 'a deploy with an id' }
/** A polled deploy: the status is what the poll is for. */
const POLLED: Shape<Deploy> = {
  valid: (v): v is Deploy => hasId(v) && typeof v.status === 'string',
  what: 'a deploy with an id and a status'
}
const SERVICE: Shape<Service> = {
  valid: (v): v is Service => isRecord(v) && typeof v.id === 'string' && v.id !== '',
  what: 'a service with an id'
}
const DEPLOY_LIST: Shape<DeployWithCursor[]> = {
  valid: (v): v is DeployWithCursor[] =>
    Array.isArray(v) && v.every(x => isRecord(x) && hasId(x.deploy)),
  what: 'a list of deploys'
}

/** Requests and attempts made, for the benchmark and the summary. */
export interface RenderCallCounts {
  get: number
  post: number
  /** Attempts beyond the first (retries on 429/5xx/network). */
  retries: number
}

/** Failures after which a POST may have reached Render (refused, DNS and TLS cannot have). */
const AMBIGUOUS = new Set(['timeout', 'reset', 'network'])
const AMBIGUOUS_FIND_MS = 15_000

/** Clock skew allowed between the runner and Render when matching a 202's deploy by `createdAt`. */
const SKEW_MS = 10_000

/**
 * A failed create that may still have created the deploy: the connection broke,
 * a 5xx came back (a proxy's 502/504 can follow a deploy Render made), or a 2xx
 * came back that cannot be read (truncated, `{}`): then it surely did.
 */
function isAmbiguous(error: unknown): error is NetworkError | HttpError {
  if (error instanceof NetworkError) return AMBIGUOUS.has(error.kind)
  if (error instanceof MalformedAnswerError) return true
  return error instanceof RenderApiError && [500, 502, 503, 504].includes(error.status)
}

/** Created after our request (allowing clock skew); without a timestamp, only a queued one. */
function createdSince(d: Deploy, since: number): boolean {
  const created = Date.parse(d.createdAt ?? '')
  return Number.isNaN(created) ? d.status === 'queued' : created >= since - SKEW_MS
}

/** Typed client for the Render REST calls the deploy and rollback actions need. */
export class RenderClient {
  readonly calls: RenderCallCounts = { get: 0, post: 0, retries: 0 }
  /** Ids of the deploys Render has shown this client: a create's lost answer is never one of them. */
  private readonly seen = new Set<string>()
  private readonly http: HttpClient
  private readonly baseUrl: string
  private readonly sleep: (ms: number) => Promise<void>
  private readonly now: () => number

  constructor(private readonly o: RenderClientOptions) {
    this.baseUrl = (o.baseUrl || DEFAULT_RENDER_API_URL).replace(/\/+$/, '')
    this.sleep = o.sleep ?? realSleep
    this.now = o.now ?? Date.now
    this.http =
      o.http ??
      new HttpClient({
        timeoutMs: 20_000,
        attempts: 5,
        baseDelayMs: 1000,
        maxDelayMs: 15_000,
        maxRetryAfterMs: 65_000,
        sleep: this.sleep,
        onRetry: i => o.log?.(`Render API: retrying in ${Math.round(i.delayMs)}ms (${i.reason})`)
      })
  }

  async getService(serviceId: string): Promise<Service> {
    return this.call('GET', `/services/${enc(serviceId)}`, { serviceId }, SERVICE)
  }

  /** Newest first. `status` is sent form-exploded: `status=a&status=b`. */
  async listDeploys(
    serviceId: string,
    q: { status?: DeployStatus[]; limit?: number; cursor?: string } = {}
  ): Promise<DeployWithCursor[]> {
    const params = new URLSearchParams()
    for (const s of q.status ?? []) params.append('status', s)
    if (q.limit !== undefined) params.set('limit', String(q.limit))
    if (q.cursor) params.set('cursor', q.cursor)
    const query = params.toString() ? `?${params}` : ''
    return this.call(
      'GET',
      `/services/${enc(serviceId)}/deploys${query}`,
      { serviceId },
      DEPLOY_LIST
    )
  }

  /** The service's current live deploy, if any: the rollback target. */
  async liveDeploy(serviceId: string): Promise<Deploy | undefined> {
    return (await this.listDeploys(serviceId, { status: ['live'], limit: 1 }))[0]?.deploy
  }

  /**
   * Every deploy, newest first, page by page as Render's CLI does (`limit=100`, the
   * last item's cursor, until a short page), stopping once `max` are read.
   */
  async listAllDeploys(serviceId: string, max = 500): Promise<Deploy[]> {
    const out: Deploy[] = []
    let cursor: string | undefined
    while (out.length < max) {
      const page = await this.listDeploys(serviceId, { limit: 100, cursor })
      out.push(...page.map(x => x.deploy))
      if (page.length < 100) break
      cursor = page[page.length - 1].cursor
      if (!cursor)
        throw new RenderApiError('Render listed a full page of deploys without a cursor', 200, '')
    }
    return out.slice(0, max)
  }

  /**
   * Turns auto-deploy off: `autoDeployTrigger: off` for current servers, with
   * `autoDeploy: no` for older ones (both in one PATCH, which is idempotent).
   */
  async pauseAutoDeploy(serviceId: string): Promise<Service> {
    return this.call('PATCH', `/services/${enc(serviceId)}`, { serviceId }, SERVICE, {
      autoDeployTrigger: 'off',
      autoDeploy: 'no'
    })
  }

  /** `deadline` (epoch ms) bounds the call and its retries, so a wait never overruns. */
  async getDeploy(serviceId: string, deployId: string, deadline?: number): Promise<Deploy> {
    const path = `/services/${enc(serviceId)}/deploys/${enc(deployId)}`
    return this.call('GET', path, { serviceId, deployId }, POLLED, undefined, deadline)
  }

  /**
   * Triggers a deploy. Retried only on 429 (after Retry-After): any other failure
   * is reported, never retried. A 202 (queued, no body) is resolved by listing.
   */
  async createDeploy(serviceId: string, input: CreateDeployInput): Promise<CreatedDeploy> {
    const body: Record<string, string> = { clearCache: input.clearCache ? 'clear' : 'do_not_clear' }
    if (input.commitId) body.commitId = input.commitId
    if (input.imageUrl) body.imageUrl = input.imageUrl
    const before: Before = { since: this.now(), known: new Set(this.seen) }
    const sent = await this.createOnce(serviceId, 'deploy', before, input, 'api', () =>
      // 202 has no body; any other 2xx must name the deploy it created.
      this.send('POST', `/services/${enc(serviceId)}/deploys`, { serviceId }, body, undefined, {
        ...CREATED,
        unless: 202
      })
    )
    if ('found' in sent) return { deploy: sent.found, queued: false }
    if (sent.res.status === 202) {
      this.o.log?.('Render queued the deploy (202, no body): looking it up')
      // Render accepted it: a search that fails leaves a deploy nobody follows.
      const deploy = await this.findCreated(serviceId, input, before).catch((error: unknown) => {
        if (error instanceof UnidentifiedDeployError) throw error
        throw new UnidentifiedDeployError(
          `Render accepted the deploy (202) but looking it up failed (${errorText(error)}): check the service's Deploys page before re-running`
        )
      })
      return { deploy, queued: true }
    }
    return { deploy: this.remember(this.parse(sent.res, CREATED)), queued: false }
  }

  /** Rolls back to `deployId`: Render creates a new deploy (trigger `rollback`). 429-only retry. */
  async rollback(serviceId: string, deployId: string): Promise<Deploy> {
    const before: Before = { since: this.now(), known: new Set(this.seen) }
    const sent = await this.createOnce(serviceId, 'rollback deploy', before, {}, 'rollback', () =>
      this.send(
        'POST',
        `/services/${enc(serviceId)}/rollback`,
        { serviceId, deployId },
        { deployId },
        undefined,
        CREATED
      )
    )
    return 'found' in sent ? sent.found : this.remember(this.parse(sent.res, CREATED))
  }

  /**
   * Sends a create (deploy, rollback) once. When its outcome is unknown (the
   * connection broke, a 5xx, a 2xx that cannot be read) the deploy it may have
   * made is looked for, never re-sent.
   */
  private async createOnce(
    serviceId: string,
    noun: string,
    before: Before,
    input: CreateDeployInput,
    trigger: DeployTrigger,
    send: () => Promise<HttpResponse>
  ): Promise<{ res: HttpResponse } | { found: Deploy }> {
    try {
      return { res: await send() }
    } catch (error) {
      if (!isAmbiguous(error)) throw error
      this.o.log?.(`${error.message}. Looking for the ${noun} it may have created`)
      const timeoutMs = Math.min(AMBIGUOUS_FIND_MS, this.o.findTimeoutMs ?? AMBIGUOUS_FIND_MS)
      const found = await this.findCreated(serviceId, input, before, timeoutMs, trigger).catch(
        () => undefined
      )
      if (found) return { found }
      const text = `${error.message}, and no new ${noun} appeared: check the service's Deploys page before re-running`
      // A 2xx means Render created it: not knowing which one is not "nothing happened".
      throw error instanceof MalformedAnswerError
        ? new UnidentifiedDeployError(text)
        : new Error(text)
    }
  }

  /** `deadline` (epoch ms) bounds the call and any 429 wait. */
  async cancelDeploy(serviceId: string, deployId: string, deadline?: number): Promise<Deploy> {
    const path = `/services/${enc(serviceId)}/deploys/${enc(deployId)}/cancel`
    return this.call('POST', path, { serviceId, deployId }, POLLED, undefined, deadline)
  }

  /**
   * After a 202, find our deploy as Render's CLI does (newest `queued`, polled every
   * 1 s for 1 min), but also accept a deploy that already moved on: one of the newest
   * five created since the request (minus clock skew) whose commit or image matches.
   */
  private async findCreated(
    serviceId: string,
    input: CreateDeployInput,
    before: Before,
    timeoutMs = this.o.findTimeoutMs ?? 60_000,
    trigger: DeployTrigger = 'api'
  ): Promise<Deploy> {
    const interval = this.o.findIntervalMs ?? 1000
    const deadline = this.now() + timeoutMs
    for (;;) {
      const list = await this.listDeploys(serviceId, { limit: 5 }).catch(e => {
        if (!isTransient(e)) throw e
        return []
      })
      const found = list
        .map(x => x.deploy)
        .find(
          d =>
            !before.known.has(d.id) &&
            matchesInput(d, input) &&
            (d.trigger === undefined || d.trigger === trigger) &&
            createdSince(d, before.since)
        )
      if (found) return found
      if (this.now() >= deadline) {
        throw new UnidentifiedDeployError(
          'Render accepted the deploy (202) but no matching new deploy appeared within ' +
            `${Math.round(timeoutMs / 1000)}s: check the service's Deploys page before re-running`
        )
      }
      await this.sleep(interval)
    }
  }

  /** One call whose answer must have `shape`: an unusable 2xx is retried (GET) like a 502. */
  private async call<T>(
    method: string,
    path: string,
    ids: Ids,
    shape: Shape<T>,
    body?: unknown,
    deadline?: number
  ): Promise<T> {
    return this.remember(
      this.parse(await this.send(method, path, ids, body, deadline, shape), shape)
    )
  }

  /** Notes the deploys an answer shows (one, or a list of them). */
  private remember<T>(data: T): T {
    const items: unknown[] = Array.isArray(data)
      ? data.map(x => (isRecord(x) ? x.deploy : x))
      : [data]
    for (const d of items) if (hasId(d)) this.seen.add(d.id)
    return data
  }

  /** The answer's body with `shape` (default: any JSON object), else MalformedAnswerError. */
  private parse<T = Record<string, unknown>>(
    res: HttpResponse,
    shape: Shape<T> = OBJECT as unknown as Shape<T>
  ): T {
    try {
      return parseAnswer(res, shape.valid, shape.what)
    } catch (error) {
      throw new MalformedAnswerError(redact(`Render ${errorText(error)}`), res.status, res.body)
    }
  }

  /**
   * One call; a POST retries on 429 only. Non-2xx answers become RenderApiError; a
   * 2xx without `shape` (except status `unless`) becomes MalformedAnswerError.
   */
  private async send(
    method: string,
    path: string,
    ids: Ids,
    body?: unknown,
    deadline?: number,
    shape?: Shape<unknown> & { unless?: number }
  ): Promise<HttpResponse> {
    const post = method !== 'GET'
    let res: HttpResponse
    try {
      res = await this.http.request(`${this.baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.o.apiKey}`,
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {})
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        deadline,
        check: shape
          ? r =>
              r.status === shape.unless ? undefined : jsonProblem(r.body, shape.valid, shape.what)
          : undefined,
        // The one PATCH (pauseAutoDeploy) sets absolute values: repeating it is harmless.
        idempotent: method === 'PATCH' || undefined,
        ...(post ? { retryRateLimited: true, timeoutMs: 30_000 } : {})
      })
    } catch (error) {
      this.count(method, error instanceof MalformedAnswerError ? error.attempts : 1)
      if (error instanceof MalformedAnswerError) {
        throw Object.assign(
          new MalformedAnswerError(
            redact(`Render API ${method} ${path} ${error.message}`),
            error.status,
            error.body
          ),
          { attempts: error.attempts }
        )
      }
      if (error instanceof NetworkError) {
        const what =
          post && method !== 'PATCH'
            ? `; the request was not retried (it may or may not have reached Render)`
            : ''
        throw new NetworkError(
          redact(`Render API ${method} ${path}: ${error.message}${what}`),
          error.kind,
          error.code
        )
      }
      throw error
    }
    this.count(method, res.attempts)
    if (res.status >= 200 && res.status < 300) return res
    throw new RenderApiError(
      redact(explainRenderStatus(res.status, apiMessage(res.body), ids)),
      res.status,
      res.body
    )
  }

  private count(method: string, attempts: number): void {
    if (method === 'GET') this.calls.get += attempts
    else this.calls.post += attempts
    this.calls.retries += attempts - 1
  }
}

/** What a create's search leaves out: deploys older than the request, or already seen. */
interface Before {
  /** When the request was sent (runner clock). */
  since: number
  known: ReadonlySet<string>
}

interface Ids {
  serviceId: string
  deployId?: string
}

const enc = encodeURIComponent
const errorText = (error: unknown): string =>
  error instanceof Error ? error.message : String(error)

/** What a Render status code means for the user, in words, with Render's own message. */
export function explainRenderStatus(status: number, message: string, ids: Ids): string {
  const said = message ? `: Render says "${message}"` : ''
  const deploy = ids.deployId ? `deploy ${ids.deployId} of ` : ''
  switch (status) {
    case 400:
      return `Render rejected the request (400)${said}`
    case 401:
      return 'the Render API key was rejected (401): check the secret'
    case 403:
      return `the Render API key may not act on ${deploy}service ${ids.serviceId} (403): use a key of a workspace member allowed to deploy it${said}`
    case 404:
      return ids.deployId
        ? `${deploy}service ${ids.serviceId} not found (404): check service-id and that the key's workspace owns it${said}`
        : `service ${ids.serviceId} not found (404): check service-id and that the key's workspace owns it`
    case 409:
      return `Render refused because of a conflicting operation on service ${ids.serviceId} (409)${said}`
    case 410:
      return `service ${ids.serviceId} is gone (410)${said}`
    case 429:
      return `Render's API rate limit was exceeded (429) and did not clear in time${said}`
    default:
      return status >= 500
        ? `the Render API failed (${status})${said}: see https://status.render.com`
        : `Render answered ${status}${said}`
  }
}

/** A short SHA matches its full form; an image ref matches with or without a registry prefix. */
function matchesInput(d: Deploy, input: CreateDeployInput): boolean {
  const commit = d.commit?.id
  if (
    input.commitId &&
    commit &&
    !commit.startsWith(input.commitId) &&
    !input.commitId.startsWith(commit)
  )
    return false
  const ref = d.image?.ref
  if (input.imageUrl && ref && !ref.endsWith(input.imageUrl) && !input.imageUrl.endsWith(ref))
    return false
  return true
}
