import type { IncomingMessage, ServerResponse } from 'node:http'
import { listenLocal, type Listening } from './http-server.js'
import type { Deploy, DeployStatus, DeployTrigger } from '../providers/render/client.js'

/**
 * A fake Render REST API on a real 127.0.0.1 port, faithful to
 * /work/shared/reference/render-api.md: services (suspended or not), deploys that
 * move created -> build_in_progress -> [pre_deploy_in_progress] -> update_in_progress
 * -> live on a per-deploy timeline, the previous live deploy becoming `deactivated`,
 * 202-with-no-body, newest-first lists with cursors, rollback, cancel, injectable
 * faults, and a health endpoint per service that answers for whichever deploy is live.
 */

/** How one deploy behaves. Times are milliseconds in each phase; Infinity stays there. */
export interface DeployScript {
  queuedMs?: number
  createdMs?: number
  buildMs?: number
  /** 0 skips the pre-deploy phase. */
  preDeployMs?: number
  updateMs?: number
  /** The phase that fails, instead of going live. */
  fail?: 'build' | 'pre_deploy' | 'update'
  /** Someone (a newer deploy) cancels it this long after creation. */
  cancelAfterMs?: number
  /** Render deactivates it this long after creation, before it ever went live (superseded mid-flight). */
  deactivateAfterMs?: number
  /** What the service's health endpoint answers while this deploy is live. */
  healthy?: boolean
  /** Extra latency of the health endpoint while this deploy is live. */
  healthLatencyMs?: number
  /** 202 only: the deploy is not visible to GETs until this long after creation. */
  hiddenMs?: number
}

export const DEFAULT_SCRIPT: Required<
  Omit<DeployScript, 'fail' | 'cancelAfterMs' | 'deactivateAfterMs'>
> = {
  queuedMs: 0,
  createdMs: 30,
  buildMs: 100,
  preDeployMs: 0,
  updateMs: 100,
  healthy: true,
  healthLatencyMs: 0,
  hiddenMs: 0
}

export interface FakeService {
  id: string
  name: string
  suspended: boolean
  autoDeploy: boolean
  /** Newer servers' field (`commit`, `off`, `checksPass`); absent on an older server. */
  autoDeployTrigger?: 'commit' | 'off' | 'checksPass'
  /** An older server: no `autoDeployTrigger` field, and PATCH ignores it. */
  legacy?: boolean
}

interface FakeDeploy {
  id: string
  serviceId: string
  seq: number
  trigger: DeployTrigger
  commitId?: string
  imageRef?: string
  createdAt: number
  script: DeployScript
  /** Status changes in time order, computed at creation (cancel truncates it). */
  timeline: Array<{ at: number; status: DeployStatus }>
  liveAt?: number
}

/** A scripted misbehaviour: the next `times` matching requests get it. */
export interface Fault {
  method?: string
  /** Matched against the path after `/v1`, e.g. /^\/services\/[^/]+\/deploys\/[^/]+$/. */
  path: RegExp
  /** An HTTP status with Render's error body, or a dropped connection. */
  status?: number
  reset?: boolean
  /** POST /deploys only: create the deploy, then drop the connection. */
  resetAfterProcessing?: boolean
  /** POST /deploys only: create the deploy, then answer this status as a proxy would (HTML body). */
  gatewayAfterProcessing?: number
  /** Seconds, sent as Retry-After (and Ratelimit-Reset, rounded up) on a 429. */
  retryAfter?: number
  message?: string
  times: number
}

export interface RecordedRequest {
  method: string
  path: string
  query: Record<string, string[]>
  body: unknown
  headers: Record<string, string | string[] | undefined>
  at: number
  /** What the fake answered (0 for a dropped connection). */
  status: number
}

export interface FakeRenderOptions {
  apiKey?: string
  now?: () => number
}

export class FakeRender {
  readonly requests: RecordedRequest[] = []
  readonly services = new Map<string, FakeService>()
  readonly deploys: FakeDeploy[] = []
  /** Scripts for the next deploys created by POST /deploys, in order; then `defaultScript`. */
  readonly nextDeploys: DeployScript[] = []
  /** Scripts for the next rollback deploys; then the target deploy's health with `defaultScript` timings. */
  readonly nextRollbacks: DeployScript[] = []
  defaultScript: DeployScript = {}
  /** Answer POST /deploys with 202 and no body (the deploy starts `queued`). */
  answer202 = false
  /** Overrides the health endpoint: 'auto' follows the live deploy's script. */
  health: 'auto' | 'up' | 'down' = 'auto'
  readonly apiKey: string
  private faults: Fault[] = []
  private seq = 0
  private readonly now: () => number
  private server?: Listening
  origin = ''

  private constructor(o: FakeRenderOptions) {
    this.apiKey = o.apiKey ?? 'rnd_fake_key_0123456789'
    this.now = o.now ?? Date.now
  }

  static async start(o: FakeRenderOptions = {}): Promise<FakeRender> {
    const fake = new FakeRender(o)
    fake.server = await listenLocal((req, res) => void fake.handle(req, res))
    fake.origin = fake.server.origin
    return fake
  }

  /** The API base URL (`render-api-url`). */
  get url(): string {
    return `${this.origin}/v1`
  }

  healthUrl(serviceId: string): string {
    return `${this.origin}/health/${serviceId}`
  }

  async close(): Promise<void> {
    await this.server?.close()
  }

  /** A service with, by default, one live deploy (`liveDeployId`). */
  addService(
    s: Partial<FakeService> & {
      id: string
      liveDeployId?: string | null
      liveCommit?: string
      healthy?: boolean
    }
  ): FakeService {
    const service: FakeService = {
      name: s.name ?? s.id.replace(/^srv-/, ''),
      suspended: s.suspended ?? false,
      autoDeploy: s.autoDeploy ?? true,
      legacy: s.legacy ?? false,
      id: s.id
    }
    if (!service.legacy)
      service.autoDeployTrigger = s.autoDeployTrigger ?? (service.autoDeploy ? 'commit' : 'off')
    this.services.set(s.id, service)
    if (s.liveDeployId !== null) {
      const at = this.now() - 3_600_000
      this.insert(
        s.id,
        'new_commit',
        { commitId: s.liveCommit ?? 'c0ffee0000000000000000000000000000000000' },
        at,
        {
          createdMs: 0,
          buildMs: 0,
          updateMs: 0,
          healthy: s.healthy ?? true
        },
        s.liveDeployId ?? `dep-live-${s.id}`
      )
    }
    return service
  }

  /**
   * A past deploy of a service, created at `at` (epoch ms), following `script`
   * from there (zero-length phases by default, so it goes live at `at`).
   */
  addDeploy(
    serviceId: string,
    d: { id?: string; commitId?: string; at: number; script?: DeployScript }
  ): string {
    const script = { createdMs: 0, buildMs: 0, updateMs: 0, ...d.script }
    const commitId = d.commitId ?? `${d.at.toString(16)}`.padEnd(40, '0')
    return this.insert(serviceId, 'new_commit', { commitId }, d.at, script, d.id).id
  }

  fault(f: Fault): void {
    this.faults.push({ ...f })
  }

  /** Requests matching a method and a path (after /v1). */
  calls(method: string, path: RegExp): RecordedRequest[] {
    return this.requests.filter(r => r.method === method && path.test(r.path.replace(/^\/v1/, '')))
  }

  /** A deploy as the API would show it now. */
  view(id: string): Deploy | undefined {
    const d = this.deploys.find(x => x.id === id)
    return d && this.render(d, this.now())
  }

  /** The deploy that is live on a service now. */
  liveDeploy(serviceId: string): Deploy | undefined {
    const t = this.now()
    return this.deploys
      .filter(d => d.serviceId === serviceId)
      .map(d => this.render(d, t))
      .find(d => d.status === 'live')
  }

  // ---- the server ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake')
    const raw = await readBody(req)
    const query: Record<string, string[]> = {}
    for (const [k, v] of url.searchParams) (query[k] ??= []).push(v)
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query,
      body: raw ? (safeJson(raw) ?? raw) : undefined,
      headers: req.headers,
      at: this.now(),
      status: 0
    }
    this.requests.push(record)
    const send = (status: number, body?: unknown, headers: Record<string, string> = {}): void => {
      record.status = status
      res.writeHead(
        status,
        body === undefined ? headers : { 'content-type': 'application/json', ...headers }
      )
      res.end(body === undefined ? undefined : JSON.stringify(body))
    }

    if (url.pathname.startsWith('/health/')) return this.serveHealth(url.pathname.slice(8), send)
    if (!url.pathname.startsWith('/v1/'))
      return send(404, { id: 'not_found', message: 'not found' })
    const path = url.pathname.slice(3)

    const fault = this.takeFault(record.method, path)
    if (fault?.reset) {
      req.socket.destroy()
      return
    }
    if (fault?.status) {
      const headers: Record<string, string> = {}
      if (fault.status === 429) {
        const after = fault.retryAfter ?? 1
        Object.assign(headers, {
          'retry-after': String(after),
          'ratelimit-limit': '400',
          'ratelimit-remaining': '0',
          'ratelimit-reset': String(Math.ceil(after))
        })
      }
      return send(
        fault.status,
        { id: `fault_${fault.status}`, message: fault.message ?? `injected ${fault.status}` },
        headers
      )
    }

    if (req.headers.authorization !== `Bearer ${this.apiKey}`) {
      return send(401, { id: 'unauthorized', message: 'unauthorized' })
    }
    const gateway = fault?.gatewayAfterProcessing
    const after = gateway
      ? () => {
          res.writeHead(gateway, { 'content-type': 'text/html' })
          res.end(`<html><body><h1>${gateway} Bad Gateway</h1></body></html>`)
        }
      : fault
        ? () => req.socket.destroy()
        : undefined
    this.route(record, path, url.searchParams, send, after)
  }

  private route(
    r: RecordedRequest,
    path: string,
    q: URLSearchParams,
    send: (status: number, body?: unknown, headers?: Record<string, string>) => void,
    dropAfter?: () => void
  ): void {
    const m = path.match(/^\/services\/([^/]+)(\/deploys(?:\/([^/]+)(\/cancel)?)?|\/rollback)?$/)
    const service = m && this.services.get(decodeURIComponent(m[1]))
    if (!m || !service) return send(404, { id: 'not_found', message: 'service not found' })
    const [, , sub, deployId, cancel] = m
    const t = this.now()

    const view = () => ({
      id: service.id,
      name: service.name,
      type: 'web_service',
      suspended: service.suspended ? 'suspended' : 'not_suspended',
      suspenders: service.suspended ? ['user'] : [],
      autoDeploy: service.autoDeploy ? 'yes' : 'no',
      ...(service.legacy ? {} : { autoDeployTrigger: service.autoDeployTrigger }),
      dashboardUrl: `https://dashboard.render.com/web/${service.id}`,
      serviceDetails: { url: `https://${service.name}.onrender.com` }
    })
    if (!sub && r.method === 'GET') return send(200, view())
    if (!sub && r.method === 'PATCH') {
      const body = r.body as { autoDeploy?: unknown; autoDeployTrigger?: unknown }
      if (!body || typeof body !== 'object')
        return send(400, { id: 'bad_request', message: 'invalid JSON body' })
      if (body.autoDeploy !== undefined && body.autoDeploy !== 'yes' && body.autoDeploy !== 'no')
        return send(400, { id: 'bad_request', message: 'autoDeploy must be yes or no' })
      const trigger = body.autoDeployTrigger
      if (!service.legacy && trigger !== undefined) {
        if (trigger !== 'commit' && trigger !== 'off' && trigger !== 'checksPass')
          return send(400, {
            id: 'bad_request',
            message: 'autoDeployTrigger must be commit, off or checksPass'
          })
        service.autoDeployTrigger = trigger
        service.autoDeploy = trigger !== 'off'
      }
      if (body.autoDeploy !== undefined) {
        service.autoDeploy = body.autoDeploy === 'yes'
        if (!service.legacy && trigger === undefined)
          service.autoDeployTrigger = service.autoDeploy ? 'commit' : 'off'
      }
      return send(200, view())
    }
    if (sub === '/deploys' && r.method === 'GET') return this.list(service.id, q, t, send)
    if (sub === '/deploys' && r.method === 'POST') {
      const body = (r.body ?? {}) as {
        clearCache?: unknown
        commitId?: unknown
        imageUrl?: unknown
      }
      if (typeof r.body !== 'object')
        return send(400, { id: 'bad_request', message: 'invalid JSON body' })
      if (
        body.clearCache !== undefined &&
        body.clearCache !== 'clear' &&
        body.clearCache !== 'do_not_clear'
      ) {
        return send(400, { id: 'bad_request', message: 'clearCache must be clear or do_not_clear' })
      }
      if (service.suspended)
        return send(400, { id: 'bad_request', message: 'service is suspended' })
      const script = { ...(this.nextDeploys.shift() ?? this.defaultScript) }
      if (this.answer202) script.queuedMs ??= 50
      const d = this.insert(
        service.id,
        'api',
        {
          commitId: typeof body.commitId === 'string' ? body.commitId : undefined,
          imageRef: typeof body.imageUrl === 'string' ? body.imageUrl : undefined
        },
        t,
        script
      )
      if (dropAfter) return dropAfter()
      return this.answer202 ? send(202) : send(201, this.render(d, t))
    }
    if (sub === '/rollback' && r.method === 'POST') {
      const target = this.visible(service.id, t).find(
        d => d.id === (r.body as { deployId?: unknown })?.deployId
      )
      if (!target) return send(404, { id: 'not_found', message: 'deploy not found' })
      const script = this.nextRollbacks.shift() ?? {
        ...this.defaultScript,
        healthy: target.script.healthy ?? DEFAULT_SCRIPT.healthy,
        fail: undefined,
        cancelAfterMs: undefined
      }
      const d = this.insert(
        service.id,
        'rollback',
        { commitId: target.commitId, imageRef: target.imageRef },
        t,
        script
      )
      return send(201, this.render(d, t))
    }
    const d =
      deployId && this.visible(service.id, t).find(x => x.id === decodeURIComponent(deployId))
    if (!d) return send(404, { id: 'not_found', message: 'deploy not found' })
    if (!cancel && r.method === 'GET') return send(200, this.render(d, t))
    if (cancel && r.method === 'POST') {
      const status = this.render(d, t).status
      if (!status || !CANCELLABLE.has(status)) {
        return send(400, { id: 'bad_request', message: `deploy is ${status}, not in progress` })
      }
      this.cancelAt(d, t)
      return send(200, this.render(d, t))
    }
    send(405, { id: 'method_not_allowed', message: 'method not allowed' })
  }

  private list(
    serviceId: string,
    q: URLSearchParams,
    t: number,
    send: (status: number, body?: unknown) => void
  ): void {
    const limit = q.has('limit') ? Number(q.get('limit')) : 20
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      return send(400, { id: 'bad_request', message: 'limit must be between 1 and 100' })
    }
    const statuses = q.getAll('status')
    const bad = statuses.find(s => !ALL_STATUSES.has(s))
    if (bad) return send(400, { id: 'bad_request', message: `invalid status ${bad}` })
    const after = q.get('createdAfter')
    const before = q.get('createdBefore')
    let rows = this.visible(serviceId, t)
      .sort((a, b) => b.createdAt - a.createdAt || b.seq - a.seq)
      .map(d => ({ d, view: this.render(d, t) }))
      .filter(({ view }) => !statuses.length || statuses.includes(view.status ?? ''))
      .filter(({ d }) => !after || d.createdAt > Date.parse(after))
      .filter(({ d }) => !before || d.createdAt < Date.parse(before))
    const cursor = q.get('cursor')
    if (cursor) {
      const i = rows.findIndex(({ d }) => cursorOf(d) === cursor)
      if (i < 0) return send(400, { id: 'bad_request', message: 'invalid cursor' })
      rows = rows.slice(i + 1)
    }
    send(
      200,
      rows.slice(0, limit).map(({ d, view }) => ({ cursor: cursorOf(d), deploy: view }))
    )
  }

  private serveHealth(serviceId: string, send: (status: number, body?: unknown) => void): void {
    const live = this.liveDeploy(serviceId)
    const d = live && this.deploys.find(x => x.id === live.id)
    const healthy =
      this.health === 'auto'
        ? (d?.script.healthy ?? DEFAULT_SCRIPT.healthy) && !!d
        : this.health === 'up'
    const reply = (): void =>
      healthy
        ? send(200, { status: 'ok', deploy: live?.id })
        : send(503, { status: 'unavailable', deploy: live?.id })
    const delay = d?.script.healthLatencyMs ?? 0
    if (delay > 0) setTimeout(reply, delay)
    else reply()
  }

  private takeFault(method: string, path: string): Fault | undefined {
    const f = this.faults.find(
      x => x.times > 0 && (!x.method || x.method === method) && x.path.test(path)
    )
    if (f) f.times--
    return f
  }

  // ---- deploy state ----

  private insert(
    serviceId: string,
    trigger: DeployTrigger,
    what: { commitId?: string; imageRef?: string },
    at: number,
    script: DeployScript,
    id?: string
  ): FakeDeploy {
    const seq = ++this.seq
    const d: FakeDeploy = {
      id: id ?? `dep-${String(seq).padStart(6, '0')}${Math.random().toString(36).slice(2, 8)}`,
      serviceId,
      seq,
      trigger,
      ...what,
      createdAt: at,
      script,
      timeline: []
    }
    const s = { ...DEFAULT_SCRIPT, ...script }
    const phases: Array<[DeployStatus, number, DeployStatus | undefined]> = [
      ['queued', s.queuedMs, undefined],
      ['created', s.createdMs, undefined],
      ['build_in_progress', s.buildMs, 'build_failed'],
      ['pre_deploy_in_progress', s.preDeployMs, 'pre_deploy_failed'],
      ['update_in_progress', s.updateMs, 'update_failed']
    ]
    let t = at
    let failed = false
    for (const [status, ms, failure] of phases) {
      const failsHere = !!(failure && script.fail && failure.startsWith(script.fail))
      if (ms <= 0 && status !== 'created' && !failsHere) continue
      d.timeline.push({ at: t, status })
      t += ms
      if (failure && failsHere) {
        d.timeline.push({ at: t, status: failure })
        failed = true
        break
      }
    }
    if (!failed) {
      d.timeline.push({ at: t, status: 'live' })
      d.liveAt = t
    }
    if (script.cancelAfterMs !== undefined) this.cancelAt(d, at + script.cancelAfterMs)
    if (script.deactivateAfterMs !== undefined)
      this.cancelAt(d, at + script.deactivateAfterMs, 'deactivated')
    this.deploys.push(d)
    return d
  }

  private cancelAt(d: FakeDeploy, at: number, status: DeployStatus = 'canceled'): void {
    const keep = d.timeline.filter(x => x.at <= at)
    const last = keep[keep.length - 1]?.status
    if (last && !CANCELLABLE.has(last)) return
    d.timeline = [...keep, { at, status }]
    d.liveAt = undefined
  }

  private visible(serviceId: string, t: number): FakeDeploy[] {
    return this.deploys.filter(
      d => d.serviceId === serviceId && t >= d.createdAt + (d.script.hiddenMs ?? 0)
    )
  }

  private render(d: FakeDeploy, t: number): Deploy {
    let current = d.timeline[0]
    for (const step of d.timeline) if (step.at <= t) current = step
    let status = current.status
    let changed = current.at
    // A later deploy of the same service that has gone live deactivates this one.
    if (status === 'live' && d.liveAt !== undefined) {
      const next = this.deploys
        .filter(x => x.serviceId === d.serviceId && x !== d && x.liveAt !== undefined)
        .map(x => x.liveAt as number)
        .filter(at => at <= t && at > (d.liveAt as number))
        .sort((a, b) => a - b)[0]
      if (next !== undefined) {
        status = 'deactivated'
        changed = next
      }
    }
    const terminal = !CANCELLABLE.has(status) && status !== 'queued'
    const started = d.timeline.find(x => x.status === 'build_in_progress' && x.at <= t)?.at
    return {
      id: d.id,
      commit: d.commitId
        ? { id: d.commitId, message: `commit ${d.commitId.slice(0, 7)}` }
        : undefined,
      ...(d.imageRef ? { image: { ref: d.imageRef, sha: 'sha256:fake' } } : {}),
      status,
      trigger: d.trigger,
      createdAt: iso(d.createdAt),
      updatedAt: iso(changed),
      ...(started !== undefined ? { startedAt: iso(started) } : {}),
      // A deploy finishes once: going live, failing or being stopped; deactivation later does not move it.
      ...(terminal
        ? { finishedAt: iso(d.liveAt !== undefined && d.liveAt <= t ? d.liveAt : changed) }
        : {})
    }
  }
}

const CANCELLABLE = new Set<string>([
  'created',
  'queued',
  'build_in_progress',
  'update_in_progress',
  'pre_deploy_in_progress'
])
const ALL_STATUSES = new Set<string>([
  ...CANCELLABLE,
  'live',
  'deactivated',
  'build_failed',
  'update_failed',
  'canceled',
  'pre_deploy_failed'
])

const iso = (ms: number): string => new Date(ms).toISOString()
const cursorOf = (d: FakeDeploy): string => Buffer.from(`c:${d.id}`).toString('base64url')

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
