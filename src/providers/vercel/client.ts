import {
  HttpClient,
  HttpError,
  NetworkError,
  parseJson,
  parseRetryAfter,
  sleep as realSleep,
  type HttpResponse
} from '../http/client.js'
import { errorMessage } from '../../runtime/errors.js'
import { redact } from '../../runtime/redact.js'

export const DEFAULT_VERCEL_API_URL = 'https://api.vercel.com'

export type ReadyState =
  'QUEUED' | 'BUILDING' | 'INITIALIZING' | 'READY' | 'ERROR' | 'CANCELED' | 'BLOCKED' | 'DELETED'

/** `GET /v13/deployments/{id}`, the fields Shipgate reads. */
export interface Deployment {
  id: string
  /** Hostname, no scheme. */
  url: string
  readyState: ReadyState
  readySubstate?: 'STAGED' | 'ROLLING' | 'PROMOTED'
  name?: string
  projectId?: string
  target?: string | null
  inspectorUrl?: string | null
  aliasAssigned?: boolean | number | null
  aliasError?: { code: string; message: string } | null
  errorCode?: string
  errorMessage?: string
  meta?: Record<string, string>
  createdAt?: number
}

/** A promote or rollback in progress (`project.lastAliasRequest`). */
export interface AliasRequest {
  fromDeploymentId: string
  toDeploymentId: string
  jobStatus: 'pending' | 'in-progress' | 'succeeded' | 'failed' | 'skipped'
  requestedAt: number
  type: 'promote' | 'rollback'
}

export interface Project {
  id: string
  name: string
  accountId?: string
  link?: { type?: string; repoId?: number | string; org?: string; repo?: string }
  /** `targets.production`: the deployment serving production now. */
  targets?: { production?: { id: string; url?: string; createdAt?: number } | null }
  lastAliasRequest?: AliasRequest | null
  autoAssignCustomDomains?: boolean
}

/** An item of `GET /v6/deployments` (`uid`, not `id`). */
export interface ListedDeployment {
  uid: string
  url: string
  created: number
  readyState?: ReadyState
  state?: ReadyState
  target?: string | null
  meta?: Record<string, string>
  inspectorUrl?: string | null
  isRollbackCandidate?: boolean
}

export interface DeploymentList {
  deployments: ListedDeployment[]
  /** Pass as `until` for the next page; null on the last one. */
  next: number | null
}

export interface ListQuery {
  projectId: string
  target?: 'production' | 'preview'
  state?: ReadyState[]
  limit?: number
  until?: number
  since?: number
  /** `meta-<key>=<value>` filters (the CLI's); also checked here, in case the server ignores them. */
  meta?: Record<string, string>
}

export interface CreateDeploymentBody {
  name: string
  project: string
  target: 'production'
  gitSource: { type: 'github'; repoId: number | string; ref: string; sha: string }
  autoAssignCustomDomains: false
  /** Must hold a value unique to this run: the create is found by it after an ambiguous failure. */
  meta: Record<string, string>
}

/** What a promote request did: started (201), queued behind a rolling release (202), already current (409). */
export type PromoteResult = 'started' | 'queued' | 'current'

export interface VercelClientOptions {
  token: string
  /** Sent on every call: `teamId` for an id (`team_...`), `slug` for a slug; empty for a personal account. */
  teamId?: string
  baseUrl?: string
  http?: HttpClient
  sleep?: (ms: number) => Promise<void>
  now?: () => number
  log?: (message: string) => void
  /** Attempts per read (GET) on 5xx, resets and unusable answers; default 4. */
  readAttempts?: number
  /** Attempts per call on 429, honouring Retry-After or error.limit.reset; default 6. */
  rateLimitAttempts?: number
  /** The longest 429 wait honoured before giving up; default 65 s. */
  maxRateLimitWaitMs?: number
  /** After an ambiguous create: poll the list every `findIntervalMs` for `findTimeoutMs`. */
  findIntervalMs?: number
  findTimeoutMs?: number
}

/** A Vercel answer the caller cannot use, explained, with Vercel's own code and message. */
export class VercelApiError extends HttpError {
  override name = 'VercelApiError'
  constructor(
    message: string,
    status: number,
    body: string,
    readonly code?: string
  ) {
    super(message, status, body)
  }
}

/** A 2xx answer that does not parse or lacks a field Shipgate needs: a failed call, never a default. */
export class UnusableAnswer extends VercelApiError {
  override name = 'UnusableAnswer'
}

/** Worth polling again later: rate limits, 5xx, network failures, unusable answers. */
export function isTransient(error: unknown): boolean {
  if (error instanceof NetworkError || error instanceof UnusableAnswer) return true
  return error instanceof HttpError && (error.status === 429 || error.status >= 500)
}

/** Requests made (every attempt counts), for the summary and the benchmark. */
export interface VercelCallCounts {
  get: number
  write: number
  retries: number
  rateLimited: number
}

/** Failures after which a POST may have been processed (refused, DNS and TLS cannot have been). */
const AMBIGUOUS_KINDS = new Set(['timeout', 'reset', 'network'])

type Parse<T> = (data: unknown) => T | undefined

interface Answer<T> {
  value: T
  status: number
  body: string
  code?: string
  message: string
}

interface Call<T> {
  method: 'GET' | 'POST' | 'PATCH'
  path: string
  query?: Record<string, string | undefined>
  body?: unknown
  /** Turns the JSON into the result; undefined means unusable. Omitted: the body is ignored. */
  parse?: Parse<T>
  /** Statuses that are answers, not errors (promote's 409). */
  accept?: number[]
  deadline?: number
  /** What the call is about, for error messages. */
  about: string
}

/**
 * The Vercel REST calls deploy-web and rollback need. `teamId` goes on every call;
 * every attempt has a timeout; 429 waits for `Retry-After` or `error.limit.reset`;
 * reads (GET) are retried on 5xx, resets and unusable answers; writes never are,
 * except after a 429 (Vercel did not process them).
 */
export class VercelClient {
  readonly calls: VercelCallCounts = { get: 0, write: 0, retries: 0, rateLimited: 0 }
  private readonly http: HttpClient
  private readonly baseUrl: string
  private readonly sleep: (ms: number) => Promise<void>
  private readonly now: () => number

  constructor(private readonly o: VercelClientOptions) {
    this.baseUrl = (o.baseUrl || DEFAULT_VERCEL_API_URL).replace(/\/+$/, '')
    this.sleep = o.sleep ?? realSleep
    this.now = o.now ?? Date.now
    this.http =
      o.http ??
      new HttpClient({ timeoutMs: 20_000, attempts: 1, baseDelayMs: 1000, maxDelayMs: 15_000 })
  }

  getProject(idOrName: string, deadline?: number): Promise<Project> {
    return this.send({
      method: 'GET',
      path: `/v9/projects/${enc(idOrName)}`,
      parse: asProject,
      deadline,
      about: `project ${idOrName}`
    })
  }

  /** A deployment by id or hostname. */
  getDeployment(idOrUrl: string, deadline?: number): Promise<Deployment> {
    return this.send({
      method: 'GET',
      path: `/v13/deployments/${enc(idOrUrl)}`,
      parse: asDeployment,
      deadline,
      about: `deployment ${idOrUrl}`
    })
  }

  /** Newest first; `next` pages on with `until`. */
  async listDeployments(q: ListQuery, deadline?: number): Promise<DeploymentList> {
    const query: Record<string, string | undefined> = {
      projectId: q.projectId,
      target: q.target,
      state: q.state?.join(','),
      limit: q.limit !== undefined ? String(q.limit) : undefined,
      until: q.until !== undefined ? String(q.until) : undefined,
      since: q.since !== undefined ? String(q.since) : undefined
    }
    for (const [k, v] of Object.entries(q.meta ?? {})) query[`meta-${k}`] = v
    const list = await this.send({
      method: 'GET',
      path: '/v6/deployments',
      query,
      parse: asList,
      deadline,
      about: `the deployments of project ${q.projectId}`
    })
    const meta = Object.entries(q.meta ?? {})
    return {
      ...list,
      deployments: list.deployments.filter(d => meta.every(([k, v]) => d.meta?.[k] === v))
    }
  }

  /**
   * Creates one deployment. A 429 is waited out and sent again (Vercel did not
   * process it); after a 5xx, a broken connection or an unusable answer the
   * deployment may exist, so it is looked up by `meta` and never sent again.
   */
  async createDeployment(body: CreateDeploymentBody): Promise<Deployment> {
    try {
      return await this.send({
        method: 'POST',
        path: '/v13/deployments',
        body,
        parse: asDeployment,
        about: `a deployment of project ${body.project}`
      })
    } catch (error) {
      if (!ambiguous(error)) throw error
      const why = error instanceof Error ? error.message : String(error)
      this.o.log?.(`${why}. Looking for the deployment it may have created (by its meta)`)
      const found = await this.findByMeta(body.project, body.meta)
      if (!found)
        throw new Error(
          `${why}, and no deployment with this run's meta appeared: check the project's Deployments page before re-running`
        )
      this.o.log?.(`Found deployment ${found.id}, created by this run`)
      return found
    }
  }

  /** `PATCH /v12/deployments/{id}/cancel`. */
  cancelDeployment(id: string, deadline?: number): Promise<Deployment> {
    return this.send({
      method: 'PATCH',
      path: `/v12/deployments/${enc(id)}/cancel`,
      parse: asDeployment,
      deadline,
      about: `deployment ${id}`
    })
  }

  /** Points production at a READY production deployment (no rebuild). 409 means already current. */
  async promote(projectId: string, deploymentId: string): Promise<PromoteResult> {
    const answer = await this.request({
      method: 'POST',
      path: `/v10/projects/${enc(projectId)}/promote/${enc(deploymentId)}`,
      body: {},
      accept: [409],
      about: `the promotion of ${deploymentId}`
    }).catch(e => this.afterAmbiguous(e, projectId, deploymentId, 'promote'))
    if (answer === 'started') return 'started'
    if (answer.status === 202) return 'queued'
    if (answer.status !== 409) return 'started'
    // 409 is also "another alias job is running": only a current deployment counts as done.
    const project = await this.getProject(projectId)
    if (project.targets?.production?.id === deploymentId) return 'current'
    throw new VercelApiError(
      redact(
        `Vercel refused to promote ${deploymentId} (409${answer.message ? `: "${answer.message}"` : ''}), and it is not the current production deployment`
      ),
      409,
      answer.body,
      answer.code
    )
  }

  /**
   * Instant Rollback of production to `deploymentId`: the documented
   * `POST /v1/projects/{id}/rollback/{deploymentId}`, or, if that answers 404, the
   * CLI's `POST /v9/...` with `{}`.
   */
  async rollback(projectId: string, deploymentId: string, description?: string): Promise<void> {
    const about = `the rollback to ${deploymentId}`
    try {
      await this.send({
        method: 'POST',
        path: `/v1/projects/${enc(projectId)}/rollback/${enc(deploymentId)}`,
        query: { description },
        about
      }).catch(e => this.afterAmbiguous(e, projectId, deploymentId, 'rollback'))
    } catch (error) {
      if (!(error instanceof VercelApiError) || error.status !== 404) throw error
      this.o.log?.('Vercel answered 404 to the v1 rollback path: trying the CLI path (v9)')
      await this.send({
        method: 'POST',
        path: `/v9/projects/${enc(projectId)}/rollback/${enc(deploymentId)}`,
        body: {},
        about
      }).catch(e => this.afterAmbiguous(e, projectId, deploymentId, 'rollback'))
    }
  }

  /** The project's current promote/rollback job (`GET /v9/projects/{id}?rollbackInfo=true`). */
  async aliasStatus(
    projectId: string,
    deadline?: number
  ): Promise<{ request: AliasRequest | null; productionId?: string }> {
    const project = await this.send({
      method: 'GET',
      path: `/v9/projects/${enc(projectId)}`,
      query: { rollbackInfo: 'true' },
      parse: asProject,
      deadline,
      about: `project ${projectId}`
    })
    return {
      request: project.lastAliasRequest ?? null,
      productionId: project.targets?.production?.id
    }
  }

  /**
   * A promote or rollback POST that failed ambiguously (5xx, reset, unusable
   * answer) may have started its job: look at the project instead of re-sending.
   */
  private async afterAmbiguous(
    error: unknown,
    projectId: string,
    deploymentId: string,
    type: 'promote' | 'rollback'
  ): Promise<'started'> {
    if (!ambiguous(error)) throw error
    const status = await this.aliasStatus(projectId)
    const job = status.request
    if (
      (job?.type === type && job.toDeploymentId === deploymentId) ||
      status.productionId === deploymentId
    ) {
      this.o.log?.(`${errorMessage(error)}; Vercel did start the ${type} of ${deploymentId}`)
      return 'started'
    }
    throw error
  }

  /** Polls the newest deployments of the project for one whose meta matches. */
  private async findByMeta(
    projectId: string,
    meta: Record<string, string>
  ): Promise<Deployment | undefined> {
    const deadline = this.now() + (this.o.findTimeoutMs ?? 15_000)
    for (;;) {
      const list = await this.listDeployments({ projectId, meta, limit: 20 }).catch(e => {
        if (!isTransient(e)) throw e
        return undefined
      })
      const hit = list?.deployments[0]
      if (hit) return this.getDeployment(hit.uid)
      if (this.now() >= deadline) return undefined
      await this.sleep(this.o.findIntervalMs ?? 1000)
    }
  }

  private async send<T>(c: Call<T>): Promise<T> {
    return (await this.request(c)).value
  }

  /** One call with Vercel's retry rules; see the class comment. */
  private async request<T>(c: Call<T>): Promise<Answer<T>> {
    const read = c.method === 'GET'
    const params = new URLSearchParams()
    for (const [k, v] of Object.entries(c.query ?? {})) if (v !== undefined) params.set(k, v)
    // A team id goes as `teamId`, a team slug as `slug` (every endpoint takes either).
    if (this.o.teamId)
      params.set(this.o.teamId.startsWith('team_') ? 'teamId' : 'slug', this.o.teamId)
    const url = `${this.baseUrl}${c.path}${params.size ? `?${params}` : ''}`
    const readAttempts = this.o.readAttempts ?? 4
    const limitAttempts = this.o.rateLimitAttempts ?? 6
    let failures = 0
    let limited = 0
    for (let attempt = 1; ; attempt++) {
      if (attempt > 1) this.calls.retries++
      if (read) this.calls.get++
      else this.calls.write++
      let res: HttpResponse | undefined
      let error: Error
      let delay: number
      try {
        res = await this.http.request(url, {
          method: c.method,
          headers: {
            authorization: `Bearer ${this.o.token}`,
            accept: 'application/json',
            ...(c.body !== undefined ? { 'content-type': 'application/json' } : {})
          },
          body: c.body !== undefined ? JSON.stringify(c.body) : undefined,
          attempts: 1,
          deadline: c.deadline
        })
      } catch (e) {
        const n = e instanceof NetworkError ? e : new NetworkError(String(e), 'network')
        const note = read ? '' : '; not sent again (it may or may not have reached Vercel)'
        error = new NetworkError(
          redact(`Vercel API ${c.method} ${c.path}: ${n.message}${note}`),
          n.kind,
          n.code
        )
        if (!read || ++failures >= readAttempts) throw error
        delay = this.http.backoff(failures)
        await this.pause(delay, c, error)
        continue
      }
      const ok = (res.status >= 200 && res.status < 300) || c.accept?.includes(res.status)
      if (ok) {
        const err = parseJson<{ error?: { code?: unknown; message?: unknown } }>(res.body)?.error
        const answer = {
          status: res.status,
          body: res.body,
          code: typeof err?.code === 'string' ? err.code : undefined,
          message: typeof err?.message === 'string' ? err.message : ''
        }
        // No fields needed (promote, rollback: 201 with no content), but a body that is
        // not JSON (a proxy's page) is no answer from Vercel: the call may not have arrived.
        if (!c.parse) {
          if (!res.body.trim() || parseJson(res.body) !== undefined)
            return { ...answer, value: undefined as T }
        } else {
          const value = c.parse(parseJson(res.body))
          if (value !== undefined) return { ...answer, value }
        }
        error = new UnusableAnswer(
          redact(
            `Vercel answered ${res.status} to ${c.method} ${c.path} with ${res.body.trim() ? 'a body Shipgate cannot use (not JSON, or missing fields it needs)' : 'an empty body'}`
          ),
          res.status,
          res.body
        )
        if (!read || ++failures >= readAttempts) throw error
        delay = this.http.backoff(failures)
      } else {
        error = this.explain(res, c)
        if (res.status === 429) {
          this.calls.rateLimited++
          delay = rateLimitWait(res, this.now())
          if (++limited >= limitAttempts || delay > (this.o.maxRateLimitWaitMs ?? 65_000))
            throw error
          delay += Math.round(Math.random() * 250)
        } else if (read && (res.status >= 500 || res.status === 408)) {
          if (++failures >= readAttempts) throw error
          delay = this.http.backoff(failures)
        } else throw error
      }
      await this.pause(delay, c, error)
    }
  }

  private async pause(delay: number, c: Call<unknown>, error: Error): Promise<void> {
    if (c.deadline !== undefined && Date.now() + delay >= c.deadline) throw error
    this.o.log?.(`Vercel API: ${error.message}; trying again in ${Math.round(delay)}ms`)
    await this.sleep(delay)
  }

  private explain(res: HttpResponse, c: Call<unknown>): VercelApiError {
    const body = parseJson<{ error?: { code?: unknown; message?: unknown } }>(res.body)
    const code = typeof body?.error?.code === 'string' ? body.error.code : undefined
    const message = typeof body?.error?.message === 'string' ? body.error.message : ''
    const said = message ? `: Vercel says "${message}"` : code ? ` (${code})` : ''
    const team = this.o.teamId ? `team ${this.o.teamId}` : 'the personal account'
    let text: string
    switch (res.status) {
      case 400:
        text = `Vercel rejected the request for ${c.about} (400)${said}`
        break
      case 401:
      case 403:
        text = `the Vercel token was refused for ${c.about} in ${team} (${res.status})${said}: check vercel-token and team-id`
        break
      case 402:
        text = `Vercel refused ${c.about} because of the plan (402)${said}`
        break
      case 404:
        text = `${c.about} was not found in ${team} (404)${said}: check the id and team-id`
        break
      case 409:
        text = `Vercel refused ${c.about} because of a conflicting operation (409)${said}`
        break
      case 429:
        text = `Vercel's rate limit was exceeded (429) for ${c.about} and did not clear in time${said}`
        break
      default:
        text =
          res.status >= 500
            ? `the Vercel API failed (${res.status}) for ${c.about}${said}: see https://www.vercel-status.com`
            : `Vercel answered ${res.status} for ${c.about}${said}`
    }
    return new VercelApiError(redact(text), res.status, res.body, code)
  }
}

const enc = encodeURIComponent

/** `Retry-After` first, then the body's `error.limit.reset` (epoch seconds), else 5 s. */
export function rateLimitWait(res: HttpResponse, now: number): number {
  const after = parseRetryAfter(res.headers['retry-after'], now)
  if (after !== undefined) return after
  const limit = parseJson<{ error?: { limit?: { reset?: unknown; resetMs?: unknown } } }>(res.body)
    ?.error?.limit
  const resetMs =
    typeof limit?.resetMs === 'number'
      ? limit.resetMs
      : typeof limit?.reset === 'number'
        ? limit.reset * 1000
        : undefined
  if (resetMs !== undefined) return Math.max(0, resetMs - now)
  return 5000
}

/** The failures after which a create may have happened. */
function ambiguous(error: unknown): boolean {
  if (error instanceof NetworkError) return AMBIGUOUS_KINDS.has(error.kind)
  if (error instanceof UnusableAnswer) return true
  return error instanceof VercelApiError && error.status >= 500
}

// ---- answer checks: the fields Shipgate needs, or undefined ----

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)
const isString = (v: unknown): v is string => typeof v === 'string' && v !== ''

const READY_STATES = new Set<string>([
  'QUEUED',
  'BUILDING',
  'INITIALIZING',
  'READY',
  'ERROR',
  'CANCELED',
  'BLOCKED',
  'DELETED'
])

export function asDeployment(v: unknown): Deployment | undefined {
  if (!isObject(v) || !isString(v.id) || !isString(v.url)) return undefined
  const state = v.readyState ?? v.status
  if (typeof state !== 'string' || !READY_STATES.has(state)) return undefined
  return { ...(v as unknown as Deployment), readyState: state as ReadyState }
}

export function asProject(v: unknown): Project | undefined {
  if (!isObject(v) || !isString(v.id) || !isString(v.name)) return undefined
  const production = isObject(v.targets) ? v.targets.production : undefined
  if (production != null && (!isObject(production) || !isString(production.id))) return undefined
  const req = v.lastAliasRequest
  if (
    req != null &&
    (!isObject(req) || !isString(req.toDeploymentId) || typeof req.jobStatus !== 'string')
  )
    return undefined
  return v as unknown as Project
}

function asList(v: unknown): DeploymentList | undefined {
  if (!isObject(v) || !Array.isArray(v.deployments)) return undefined
  const items = v.deployments as unknown[]
  if (!items.every(d => isObject(d) && isString(d.uid) && typeof d.created === 'number'))
    return undefined
  const next = isObject(v.pagination) ? v.pagination.next : null
  return {
    deployments: items as ListedDeployment[],
    next: typeof next === 'number' ? next : null
  }
}
