import type { IncomingMessage, ServerResponse } from 'node:http'
import { listenLocal, type Listening } from './http-server.js'
import type { AliasRequest, ReadyState } from '../providers/vercel/client.js'

/**
 * A fake Vercel REST API on a real 127.0.0.1 port, faithful to
 * /work/shared/reference/vercel-api.md: projects scoped to teams (a project of
 * another team is 404, a bad token 403), deployments going QUEUED -> BUILDING ->
 * READY or ERROR on a per-deployment script, `autoAssignCustomDomains: false`
 * leaving `targets.production` alone until a promote (201, 202 or 409), promote
 * and rollback jobs progressing through `lastAliasRequest`, cancel, the deployment
 * list with `meta-*` filters, 429 with `Retry-After` and `error.limit`, and error
 * bodies `{error: {code, message}}`.
 *
 * It also serves the apps: `/<deployment id>/<path>` answers as that deployment
 * (healthy or not per its script; behind Deployment Protection without the bypass
 * header when the project has one), and `/_prod/<project name>/<path>` answers as
 * whichever deployment production points at.
 */

/** How one deployment behaves. Times in ms; Infinity stays in that state. */
export interface DeploymentScript {
  queuedMs?: number
  buildMs?: number
  /** Ends in ERROR with this errorCode/errorMessage instead of READY. */
  error?: { code: string; message: string }
  /** What its health endpoints answer. */
  healthy?: boolean
  /** What they answer through the production domain (default: as `healthy`), e.g. production env vars. */
  healthyInProduction?: boolean
}

/** How the next promote behaves. */
export interface PromoteScript {
  /** 201 (started), 202 (queued behind a rolling release), 409 (already current: production is switched first). */
  status?: 201 | 202 | 409
  /** How long the alias job takes (pending half, in-progress half). */
  aliasMs?: number
  /** The job ends `failed` and production stays where it was. */
  fail?: boolean
}

export interface FakeProject {
  id: string
  name: string
  teamId: string
  repoId: number
  productionId?: string
  autoAssignCustomDomains: boolean
  lastAliasRequest: (AliasRequest & { doneAt: number; fail?: boolean }) | null
  /** Deployment Protection: deployment URLs need `x-vercel-protection-bypass: <this>`. */
  protectionBypass?: string
  /** Deployments that once served production (Instant Rollback candidates). */
  served: Set<string>
  /** Hobby: Instant Rollback only to the immediately previous production deployment (402 beyond). */
  plan: 'hobby' | 'pro'
}

export interface FakeDeployment {
  id: string
  projectId: string
  url: string
  target: 'production' | null
  createdAt: number
  meta: Record<string, string>
  body: Record<string, unknown>
  script: DeploymentScript
  /** State changes in time order; a cancel truncates it. */
  timeline: Array<{ at: number; state: ReadyState }>
}

export interface Fault {
  method?: string
  path: RegExp
  /** An HTTP status with Vercel's error body. */
  status?: number
  /** 429 only: send no Retry-After, so only `error.limit.reset` says when. */
  noRetryAfter?: boolean
  /** Seconds (Retry-After and error.limit.reset). */
  retryAfter?: number
  /** Drop the connection. */
  reset?: boolean
  /** A raw 200 body instead of the real answer (unparseable or missing fields). */
  body?: string
  /** Process the request first (the deployment exists), then answer with the fault. */
  afterProcessing?: boolean
  times: number
}

export interface RecordedRequest {
  method: string
  path: string
  query: URLSearchParams
  headers: Record<string, string | string[] | undefined>
  body: unknown
  at: number
  status: number
}

export interface FakeVercelOptions {
  token?: string
  /** Teams the token may act in. */
  teams?: string[]
  now?: () => number
}

const DEFAULT_SCRIPT = { queuedMs: 50, buildMs: 200, healthy: true }
const DEFAULT_ALIAS_MS = 200

type Send = (status: number, body?: unknown, headers?: Record<string, string>) => void

export class FakeVercel {
  readonly requests: RecordedRequest[] = []
  readonly projects = new Map<string, FakeProject>()
  readonly deployments: FakeDeployment[] = []
  /** Scripts of the next created deployments, in order; then `defaultScript`. */
  readonly nextDeployments: DeploymentScript[] = []
  readonly nextPromotes: PromoteScript[] = []
  defaultScript: DeploymentScript = {}
  /** How long a create is answered after the deployment exists (a slow API). */
  createAnswerDelayMs = 0
  /** How long a list of deployments takes to answer (a slow API). */
  listAnswerDelayMs = 0
  /** Answer the v1 rollback path with 404 (an API that only has the CLI's v9 path). */
  v1RollbackMissing = false
  readonly token: string
  readonly teams: string[]
  private faults: Fault[] = []
  private seq = 0
  private readonly now: () => number
  private server?: Listening
  origin = ''

  private constructor(o: FakeVercelOptions) {
    this.token = o.token ?? 'vercel_fake_token_0123456789'
    this.teams = o.teams ?? ['team_shipgate']
    this.now = o.now ?? Date.now
  }

  static async start(o: FakeVercelOptions = {}): Promise<FakeVercel> {
    const fake = new FakeVercel(o)
    fake.server = await listenLocal((req, res) => void fake.handle(req, res))
    fake.origin = fake.server.origin
    return fake
  }

  /** `vercel-api-url`. */
  get url(): string {
    return this.origin
  }

  /** `deployment-url-template`: each deployment's own URL on this server. */
  get deploymentUrlTemplate(): string {
    return `${this.origin}/{id}`
  }

  /** `production-url` of a project: serves what production points at. */
  productionUrl(projectId: string): string {
    return `${this.origin}/_prod/${this.projects.get(projectId)?.name ?? projectId}`
  }

  async close(): Promise<void> {
    await this.server?.close()
  }

  /** A project with, by default, one READY production deployment serving it. */
  addProject(p: {
    id: string
    name?: string
    teamId?: string
    productionId?: string | null
    healthy?: boolean
    protectionBypass?: string
    plan?: 'hobby' | 'pro'
  }): FakeProject {
    const project: FakeProject = {
      id: p.id,
      name: p.name ?? p.id.replace(/^prj_/, ''),
      teamId: p.teamId ?? this.teams[0],
      repoId: 123456 + this.projects.size,
      autoAssignCustomDomains: true,
      lastAliasRequest: null,
      protectionBypass: p.protectionBypass,
      served: new Set(),
      plan: p.plan ?? 'pro'
    }
    this.projects.set(p.id, project)
    if (p.productionId !== null) {
      const d = this.insert(project, {
        at: this.now() - 3_600_000,
        body: { target: 'production' },
        script: { queuedMs: 0, buildMs: 0, healthy: p.healthy ?? true },
        id: p.productionId ?? `dpl_live${project.name}`
      })
      project.productionId = d.id
      project.served.add(d.id)
    }
    return project
  }

  fault(f: Fault): void {
    this.faults.push({ ...f })
  }

  /** Requests matching a method and a path. */
  calls(method: string, path: RegExp): RecordedRequest[] {
    return this.requests.filter(r => r.method === method && path.test(r.path))
  }

  /** API requests (not the apps' health endpoints). */
  apiCalls(): RecordedRequest[] {
    return this.requests.filter(r => /^\/v\d+\//.test(r.path))
  }

  /** Deployments made through POST /v13/deployments. */
  created(): FakeDeployment[] {
    return this.deployments.filter(d => d.body.name !== undefined)
  }

  stateOf(id: string): ReadyState | undefined {
    const d = this.deployments.find(x => x.id === id)
    return d && this.state(d, this.now())
  }

  /** The deployment production points at now (alias jobs settled as of now). */
  production(projectId: string): string | undefined {
    const p = this.projects.get(projectId)
    if (!p) return undefined
    this.settle(p, this.now())
    return p.productionId
  }

  /** A deployment made by an earlier step (`vercel deploy --prebuilt --prod --skip-domain`). */
  addDeployment(projectId: string, script: DeploymentScript = {}): FakeDeployment {
    const p = this.projects.get(projectId)!
    return this.insert(p, {
      at: this.now(),
      body: { target: 'production', autoAssignCustomDomains: false, source: 'cli' },
      script
    })
  }

  /**
   * An older production deployment of a project, created at `at` (epoch ms):
   * `served` when it was promoted once (and later replaced), else staged only.
   */
  addPast(
    projectId: string,
    o: { at: number; served?: boolean; script?: DeploymentScript; id?: string }
  ): FakeDeployment {
    const p = this.projects.get(projectId)!
    const d = this.insert(p, {
      at: o.at,
      body: { target: 'production', autoAssignCustomDomains: false, source: 'cli' },
      script: { queuedMs: 0, buildMs: 0, ...o.script },
      id: o.id
    })
    if (o.served) p.served.add(d.id)
    return d
  }

  // ---- the server ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake')
    const raw = await readBody(req)
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: raw ? (safeJson(raw) ?? raw) : undefined,
      at: this.now(),
      status: 0
    }
    this.requests.push(record)
    const send: Send = (status, body, headers = {}) => {
      record.status = status
      const text = typeof body === 'string' ? body : body === undefined ? '' : JSON.stringify(body)
      res.writeHead(status, {
        ...(body !== undefined ? { 'content-type': 'application/json; charset=utf-8' } : {}),
        ...headers
      })
      res.end(text)
    }
    const app = url.pathname.match(/^\/(dpl_[^/]+|_prod\/[^/]+)(\/.*)?$/)
    if (app) return this.serveApp(app[1], req, send)
    if (!/^\/v\d+\//.test(url.pathname)) return send(404, err('not_found', 'Not Found'))

    const fault = this.takeFault(record.method, url.pathname)
    if (fault && !fault.afterProcessing) return this.applyFault(fault, req, send)
    const answer: Send = fault
      ? (status, body, headers) =>
          status >= 200 && status < 300
            ? this.applyFault(fault, req, send)
            : send(status, body, headers)
      : send

    if (req.headers.authorization !== `Bearer ${this.token}`)
      return send(403, {
        error: { code: 'forbidden', message: 'Not authorized', invalidToken: true }
      })
    // A team is named by its id, or by its slug (here: the id without `team_`).
    const slug = url.searchParams.get('slug')
    const teamId = url.searchParams.get('teamId') ?? (slug ? `team_${slug}` : null)
    if (!teamId || !this.teams.includes(teamId))
      return send(
        403,
        err('forbidden', teamId ? 'You do not have access to this team' : 'Missing teamId')
      )
    this.route(record, url, teamId, answer)
  }

  private applyFault(f: Fault, req: IncomingMessage, send: Send): void {
    if (f.reset) {
      req.socket.destroy()
      return
    }
    if (f.body !== undefined) return send(200, f.body)
    const status = f.status ?? 500
    if (status === 429) {
      const after = f.retryAfter ?? 1
      const resetMs = this.now() + after * 1000
      return send(
        429,
        {
          error: {
            code: 'rate_limited',
            message: 'Rate limit exceeded',
            limit: { remaining: 0, reset: Math.ceil(resetMs / 1000), resetMs, total: 100 }
          }
        },
        f.noRetryAfter ? {} : { 'retry-after': String(after) }
      )
    }
    send(status, err(status >= 500 ? 'internal_server_error' : 'bad_request', `injected ${status}`))
  }

  private route(r: RecordedRequest, url: URL, teamId: string, send: Send): void {
    const t = this.now()
    const path = url.pathname
    const q = url.searchParams
    let m: RegExpMatchArray | null

    if ((m = path.match(/^\/v9\/projects\/([^/]+)$/)) && r.method === 'GET') {
      const p = this.project(decodeURIComponent(m[1]), teamId)
      if (!p) return send(404, err('not_found', 'Project not found'))
      return send(200, this.projectView(p, t))
    }
    if (path === '/v13/deployments' && r.method === 'POST') return this.create(r, teamId, send)
    if ((m = path.match(/^\/v13\/deployments\/([^/]+)$/)) && r.method === 'GET') {
      const d = this.deployment(decodeURIComponent(m[1]), teamId)
      if (!d) return send(404, err('not_found', 'Deployment not found'))
      return send(200, this.view(d, t))
    }
    if ((m = path.match(/^\/v12\/deployments\/([^/]+)\/cancel$/)) && r.method === 'PATCH') {
      const d = this.deployment(decodeURIComponent(m[1]), teamId)
      if (!d) return send(404, err('not_found', 'Deployment not found'))
      const state = this.state(d, t)
      if (state !== 'QUEUED' && state !== 'BUILDING' && state !== 'INITIALIZING')
        return send(400, err('bad_request', `Cannot cancel a deployment that is ${state}`))
      d.timeline = [...d.timeline.filter(x => x.at <= t), { at: t, state: 'CANCELED' }]
      return send(200, this.view(d, t))
    }
    if (path === '/v6/deployments' && r.method === 'GET') return this.list(q, teamId, t, send)
    if ((m = path.match(/^\/v10\/projects\/([^/]+)\/promote\/([^/]+)$/)) && r.method === 'POST') {
      const p = this.project(decodeURIComponent(m[1]), teamId)
      const d = p && this.deployment(decodeURIComponent(m[2]), teamId)
      if (!p || !d || d.projectId !== p.id)
        return send(404, err('not_found', 'Deployment not found'))
      return this.promote(p, d, t, send)
    }
    if (
      (m = path.match(/^\/(v1|v9)\/projects\/([^/]+)\/rollback\/([^/]+)$/)) &&
      r.method === 'POST'
    ) {
      if (m[1] === 'v1' && this.v1RollbackMissing) return send(404, err('not_found', 'Not Found'))
      const p = this.project(decodeURIComponent(m[2]), teamId)
      const d = p && this.deployment(decodeURIComponent(m[3]), teamId)
      if (!p || !d || d.projectId !== p.id)
        return send(404, err('not_found', 'Deployment not found'))
      return this.rollback(p, d, t, send)
    }
    send(404, err('not_found', `No route for ${r.method} ${path}`))
  }

  private create(r: RecordedRequest, teamId: string, send: Send): void {
    const body = r.body
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      return send(400, err('bad_request', 'Invalid JSON body'))
    const b = body as Record<string, unknown>
    if (typeof b.name !== 'string' || !b.name)
      return send(400, err('bad_request', 'Missing required property `name`'))
    const p = this.project(String(b.project ?? b.name), teamId)
    if (!p) return send(404, err('not_found', 'Project not found'))
    const git = b.gitSource as Record<string, unknown> | undefined
    if (git !== undefined) {
      if (b.files !== undefined)
        return send(400, err('bad_request', '`files` cannot be used together with `gitSource`'))
      if (typeof git.ref !== 'string' || !git.ref)
        return send(400, err('bad_request', '`gitSource.ref` is required'))
      if (String(git.repoId) !== String(p.repoId))
        return send(400, err('bad_request', 'The repository is not linked to this project'))
    }
    const meta = (b.meta ?? {}) as Record<string, unknown>
    if (Object.values(meta).some(v => typeof v !== 'string'))
      return send(400, err('bad_request', '`meta` values must be strings'))
    const d = this.insert(p, {
      at: this.now(),
      body: b,
      script: this.nextDeployments.shift() ?? this.defaultScript
    })
    if (this.createAnswerDelayMs > 0)
      setTimeout(() => send(200, this.view(d, this.now())), this.createAnswerDelayMs)
    else send(200, this.view(d, this.now()))
  }

  private promote(p: FakeProject, d: FakeDeployment, t: number, send: Send): void {
    this.settle(p, t)
    if (this.state(d, t) !== 'READY')
      return send(400, err('bad_request', 'The deployment is not READY'))
    if (d.target !== 'production')
      return send(400, err('bad_request', 'Only production deployments can be promoted'))
    const script = this.nextPromotes.shift() ?? {}
    if (script.status === 409) {
      this.switchTo(p, d.id, 'promote', t, 0)
      this.settle(p, t)
    }
    if (p.productionId === d.id)
      return send(
        409,
        err(
          'conflict',
          'Cannot promote a deployment that is already the current production deployment'
        )
      )
    this.switchTo(p, d.id, 'promote', t, script.aliasMs ?? DEFAULT_ALIAS_MS, script.fail)
    send(script.status === 202 ? 202 : 201)
  }

  private rollback(p: FakeProject, d: FakeDeployment, t: number, send: Send): void {
    this.settle(p, t)
    if (p.lastAliasRequest && p.lastAliasRequest.doneAt > t)
      return send(409, err('conflict', 'A rollback or promotion is already in progress'))
    if (!p.served.has(d.id) || this.state(d, t) !== 'READY')
      return send(
        422,
        err(
          'not_rollback_candidate',
          'This deployment never served production and cannot be rolled back to'
        )
      )
    if (p.productionId === d.id)
      return send(
        409,
        err('conflict', 'This deployment is already the current production deployment')
      )
    if (p.plan === 'hobby' && d.id !== this.previousProduction(p))
      return send(
        402,
        err(
          'plan_limit',
          'To roll back further than the previous production deployment, upgrade to pro'
        )
      )
    this.switchTo(p, d.id, 'rollback', t, DEFAULT_ALIAS_MS)
    p.autoAssignCustomDomains = false
    send(201)
  }

  private switchTo(
    p: FakeProject,
    to: string,
    type: 'promote' | 'rollback',
    t: number,
    ms: number,
    fail?: boolean
  ): void {
    p.lastAliasRequest = {
      fromDeploymentId: p.productionId ?? '',
      toDeploymentId: to,
      jobStatus: 'pending',
      requestedAt: t,
      type,
      doneAt: t + ms,
      fail
    }
    if (type === 'promote') p.autoAssignCustomDomains = true
  }

  /** The newest deployment that served production before the current one. */
  private previousProduction(p: FakeProject): string | undefined {
    const current = this.deployments.find(x => x.id === p.productionId)
    return this.deployments
      .filter(x => p.served.has(x.id) && x !== current)
      .filter(x => !current || x.createdAt < current.createdAt)
      .sort((a, b) => b.createdAt - a.createdAt)[0]?.id
  }

  /** Completes alias jobs whose time has come. */
  private settle(p: FakeProject, t: number): void {
    const job = p.lastAliasRequest
    if (!job || job.jobStatus === 'succeeded' || job.jobStatus === 'failed') return
    if (t >= job.doneAt) {
      job.jobStatus = job.fail ? 'failed' : 'succeeded'
      if (!job.fail) {
        p.productionId = job.toDeploymentId
        p.served.add(job.toDeploymentId)
      }
    } else
      job.jobStatus =
        t >= job.requestedAt + (job.doneAt - job.requestedAt) / 2 ? 'in-progress' : 'pending'
  }

  private list(q: URLSearchParams, teamId: string, t: number, answer: Send): void {
    const send: Send = (...a) =>
      this.listAnswerDelayMs > 0
        ? void setTimeout(() => answer(...a), this.listAnswerDelayMs)
        : answer(...a)
    const projectId = q.get('projectId')
    const p = projectId ? this.project(projectId, teamId) : undefined
    if (projectId && !p) return send(404, err('not_found', 'Project not found'))
    const limit = q.has('limit') ? Number(q.get('limit')) : 20
    if (!Number.isInteger(limit) || limit < 1 || limit > 100)
      return send(400, err('bad_request', '`limit` must be between 1 and 100'))
    const states = q.get('state')?.split(',').filter(Boolean)
    const until = q.has('until') ? Number(q.get('until')) : Infinity
    const since = q.has('since') ? Number(q.get('since')) : -Infinity
    const meta = [...q.entries()]
      .filter(([k]) => k.startsWith('meta-'))
      .map(([k, v]) => [k.slice(5), v] as const)
    const rows = this.deployments
      .filter(d => this.projects.get(d.projectId)?.teamId === teamId)
      .filter(d => !p || d.projectId === p.id)
      .filter(d => !q.get('target') || d.target === q.get('target'))
      .filter(d => !states || states.includes(this.state(d, t)))
      .filter(d => d.createdAt < until && d.createdAt > since)
      .filter(d => meta.every(([k, v]) => d.meta[k] === v))
      .sort((a, b) => b.createdAt - a.createdAt)
    const page = rows.slice(0, limit)
    send(200, {
      pagination: {
        count: page.length,
        next: rows.length > limit ? page[page.length - 1].createdAt : null,
        prev: null
      },
      deployments: page.map(d => {
        const state = this.state(d, t)
        return {
          uid: d.id,
          name: this.projects.get(d.projectId)?.name,
          url: d.url,
          created: d.createdAt,
          createdAt: d.createdAt,
          state,
          readyState: state,
          target: d.target,
          meta: d.meta,
          inspectorUrl: this.inspector(d),
          source: d.body.source ?? 'api',
          isRollbackCandidate: this.projects.get(d.projectId)?.served.has(d.id) ?? false
        }
      })
    })
  }

  /** A deployment URL, or production: healthy, unhealthy, or protected. */
  private serveApp(where: string, req: IncomingMessage, send: Send): void {
    const t = this.now()
    let d: FakeDeployment | undefined
    if (where.startsWith('_prod/')) {
      const name = where.slice(6)
      const p = [...this.projects.values()].find(x => x.name === name)
      if (p) this.settle(p, t)
      d = this.deployments.find(x => x.id === p?.productionId)
      if (!d) return send(404, err('not_found', 'DEPLOYMENT_NOT_FOUND'))
    } else {
      d = this.deployments.find(x => x.id === where)
      if (!d || this.state(d, t) !== 'READY')
        return send(404, err('not_found', 'DEPLOYMENT_NOT_FOUND'))
      const bypass = this.projects.get(d.projectId)?.protectionBypass
      if (bypass && req.headers['x-vercel-protection-bypass'] !== bypass)
        return send(401, 'Authentication Required')
    }
    const own = d.script.healthy ?? DEFAULT_SCRIPT.healthy
    const healthy = where.startsWith('_prod/') ? (d.script.healthyInProduction ?? own) : own
    return healthy
      ? send(200, { status: 'ok', deployment: d.id })
      : send(503, { status: 'error', deployment: d.id })
  }

  private takeFault(method: string, path: string): Fault | undefined {
    const f = this.faults.find(
      x => x.times > 0 && (!x.method || x.method === method) && x.path.test(path)
    )
    if (f) f.times--
    return f
  }

  // ---- state ----

  private project(idOrName: string, teamId: string): FakeProject | undefined {
    const p =
      this.projects.get(idOrName) ?? [...this.projects.values()].find(x => x.name === idOrName)
    return p && p.teamId === teamId ? p : undefined
  }

  private deployment(idOrUrl: string, teamId: string): FakeDeployment | undefined {
    const d = this.deployments.find(x => x.id === idOrUrl || x.url === idOrUrl)
    return d && this.projects.get(d.projectId)?.teamId === teamId ? d : undefined
  }

  private insert(
    p: FakeProject,
    o: { at: number; body: Record<string, unknown>; script: DeploymentScript; id?: string }
  ): FakeDeployment {
    const seq = ++this.seq
    const id =
      o.id ?? `dpl_${String(seq).padStart(4, '0')}${Math.random().toString(36).slice(2, 10)}`
    const s = { ...DEFAULT_SCRIPT, ...o.script }
    const timeline: FakeDeployment['timeline'] = [{ at: o.at, state: 'QUEUED' }]
    timeline.push({ at: o.at + s.queuedMs, state: 'BUILDING' })
    timeline.push({ at: o.at + s.queuedMs + s.buildMs, state: s.error ? 'ERROR' : 'READY' })
    const d: FakeDeployment = {
      id,
      projectId: p.id,
      url: `${p.name}-${id.slice(4, 13).toLowerCase()}-shipgate.vercel.app`,
      target: o.body.target === 'production' ? 'production' : null,
      createdAt: o.at,
      meta: (o.body.meta ?? {}) as Record<string, string>,
      body: o.body,
      script: o.script,
      timeline
    }
    this.deployments.push(d)
    // Without autoAssignCustomDomains: false, a production build goes live when READY.
    if (d.target === 'production' && o.body.autoAssignCustomDomains !== false && o.body.name) {
      if (!s.error && s.queuedMs + s.buildMs < Infinity)
        this.switchTo(p, d.id, 'promote', o.at, s.queuedMs + s.buildMs)
    }
    return d
  }

  private state(d: FakeDeployment, t: number): ReadyState {
    let state = d.timeline[0].state
    for (const step of d.timeline) if (step.at <= t) state = step.state
    return state
  }

  private inspector(d: FakeDeployment): string {
    return `https://vercel.com/shipgate/${this.projects.get(d.projectId)?.name}/${d.id.slice(4)}`
  }

  private view(d: FakeDeployment, t: number): Record<string, unknown> {
    const p = this.projects.get(d.projectId)!
    this.settle(p, t)
    const state = this.state(d, t)
    const error = state === 'ERROR' ? d.script.error : undefined
    const building = d.timeline.find(x => x.state === 'BUILDING')
    return {
      id: d.id,
      url: d.url,
      name: p.name,
      projectId: p.id,
      ownerId: p.teamId,
      readyState: state,
      status: state,
      readySubstate:
        state === 'READY' && d.target === 'production'
          ? p.productionId === d.id
            ? 'PROMOTED'
            : 'STAGED'
          : undefined,
      target: d.target,
      inspectorUrl: this.inspector(d),
      aliasAssigned: p.productionId === d.id,
      aliasError: null,
      meta: d.meta,
      createdAt: d.createdAt,
      buildingAt: building && building.at <= t ? building.at : undefined,
      ready: state === 'READY' ? d.timeline[d.timeline.length - 1].at : undefined,
      ...(error ? { errorCode: error.code, errorMessage: error.message } : {}),
      gitSource: d.body.gitSource
    }
  }

  private projectView(p: FakeProject, t: number): Record<string, unknown> {
    this.settle(p, t)
    const prod = this.deployments.find(x => x.id === p.productionId)
    const job = p.lastAliasRequest
    return {
      id: p.id,
      name: p.name,
      accountId: p.teamId,
      autoAssignCustomDomains: p.autoAssignCustomDomains,
      link: {
        type: 'github',
        org: 'acme',
        repo: 'shop',
        repoId: p.repoId,
        productionBranch: 'main',
        deployHooks: [],
        gitCredentialId: 'cred_fake'
      },
      targets: {
        production: prod
          ? {
              id: prod.id,
              url: prod.url,
              alias: [`${p.name}.example.com`],
              aliasAssigned: prod.createdAt,
              readyState: this.state(prod, t),
              createdAt: prod.createdAt,
              meta: prod.meta
            }
          : null
      },
      lastAliasRequest: job
        ? {
            fromDeploymentId: job.fromDeploymentId,
            toDeploymentId: job.toDeploymentId,
            jobStatus: job.jobStatus,
            requestedAt: job.requestedAt,
            type: job.type
          }
        : null
    }
  }
}

const err = (code: string, message: string): { error: { code: string; message: string } } => ({
  error: { code, message }
})

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}
