// The sandbox world: the Render, Vercel and GitHub fakes and the LMA services they
// serve, on 127.0.0.1, with scenario knobs that can change while it runs.
import type http from 'node:http'
import { FakeGitHub } from '../fakes/github.js'
import { sendJson, TestServer } from '../fakes/http-server.js'
import { FakeRender } from '../fakes/render.js'
import { FakeVercel } from '../fakes/vercel.js'
import { LmaApi } from './lma.js'

export const API_SERVICE = 'srv-lmaapi'
export const OWNER = 'lma'
export const REPO = 'platform'

/** The three LMA web apps, as Vercel projects. */
export const WEB_APPS = [
  { app: 'web', id: 'prj_lma_web', name: 'lma-web', title: 'Customer web' },
  { app: 'merchant', id: 'prj_lma_merchant', name: 'lma-merchant', title: 'Merchant admin' },
  { app: 'admin', id: 'prj_lma_admin', name: 'lma-admin', title: 'Super admin' }
] as const

/** What the next deploys do; change them with POST /knobs on the control endpoint. */
export interface Knobs {
  /** Build time of new Render deploys and Vercel deployments. */
  buildMs: number
  /** New deploys fail their build (production stays on the old one). */
  buildFailure: boolean
  /** New deploys build and go live, but their health endpoints answer 503. */
  unhealthyRelease: boolean
  /** Extra latency of the API's health endpoints. */
  latencyMs: number
  /** The next N Render and Vercel API calls answer 429 with Retry-After: 1. */
  rateLimit: number
}

export const DEFAULT_KNOBS: Knobs = {
  buildMs: 300,
  buildFailure: false,
  unhealthyRelease: false,
  latencyMs: 0,
  rateLimit: 0
}

const KNOB_TYPES: Record<keyof Knobs, 'number' | 'boolean'> = {
  buildMs: 'number',
  buildFailure: 'boolean',
  unhealthyRelease: 'boolean',
  latencyMs: 'number',
  rateLimit: 'number'
}

/** Checks a knobs update; returns the problem, or undefined. */
export function knobsProblem(update: unknown): string | undefined {
  if (typeof update !== 'object' || update === null || Array.isArray(update))
    return 'expected a JSON object of knobs'
  for (const [k, v] of Object.entries(update)) {
    const type = KNOB_TYPES[k as keyof Knobs]
    if (!type)
      return `unknown knob ${JSON.stringify(k)}: knobs are ${Object.keys(KNOB_TYPES).join(', ')}`
    if (typeof v !== type) return `knob ${k} must be a ${type}`
    if (type === 'number' && (!Number.isFinite(v) || (v as number) < 0 || (v as number) > 600_000))
      return `knob ${k} must be between 0 and 600000`
  }
  return undefined
}

export class World {
  knobs: Knobs = { ...DEFAULT_KNOBS }
  private readonly apiKnobs = { latencyMs: 0 }
  readonly api: LmaApi
  readonly control: TestServer

  private constructor(
    readonly render: FakeRender,
    readonly vercel: FakeVercel,
    readonly github: FakeGitHub
  ) {
    this.api = new LmaApi(render, API_SERVICE, this.apiKnobs)
    this.control = new TestServer((req, res, body) => this.handleControl(req, res, body))
  }

  static async start(): Promise<World> {
    const [render, vercel, github] = await Promise.all([
      FakeRender.start(),
      FakeVercel.start(),
      new FakeGitHub(OWNER, REPO).start()
    ])
    const world = new World(render, vercel, github)
    render.addService({
      id: API_SERVICE,
      name: 'lma-api',
      liveDeployId: 'dep-lmaapi1',
      liveCommit: '1111111111111111111111111111111111111111'
    })
    for (const a of WEB_APPS) vercel.addProject({ id: a.id, name: a.name })
    await Promise.all([world.api.start(), world.control.start()])
    world.setKnobs({})
    return world
  }

  /** Applies knobs to the fakes: they shape every deploy created from now on. */
  setKnobs(update: Partial<Knobs>): Knobs {
    const rateLimit = update.rateLimit ?? 0
    this.knobs = { ...this.knobs, ...update, rateLimit: 0 }
    const k = this.knobs
    this.render.defaultScript = {
      createdMs: 30,
      buildMs: k.buildMs,
      updateMs: 100,
      healthy: !k.unhealthyRelease,
      healthLatencyMs: k.latencyMs,
      ...(k.buildFailure ? { fail: 'build' as const } : {})
    }
    this.vercel.defaultScript = {
      queuedMs: 30,
      buildMs: k.buildMs,
      healthy: !k.unhealthyRelease,
      ...(k.buildFailure
        ? { error: { code: 'BUILD_FAILED', message: 'Command "npm run build" exited with 1' } }
        : {})
    }
    this.apiKnobs.latencyMs = k.latencyMs
    if (rateLimit > 0) {
      this.render.fault({ path: /./, status: 429, retryAfter: 1, times: rateLimit })
      this.vercel.fault({ path: /^\/v\d+\//, status: 429, retryAfter: 1, times: rateLimit })
    }
    return this.knobs
  }

  /** Base URLs of everything, and the inputs that point an action at them. */
  endpoints() {
    return {
      control: this.control.url,
      renderApi: this.render.url,
      vercelApi: this.vercel.url,
      githubApi: this.github.url,
      api: this.api.url,
      apiHealth: ['/health', '/health/live', '/health/ready', '/health/metrics'].map(
        p => `${this.api.url}${p}`
      ),
      web: WEB_APPS.map(a => ({ ...a, url: this.vercel.productionUrl(a.id) }))
    }
  }

  /** The environment the CLI (or an action run by hand) needs for GitHub. */
  env(): Record<string, string> {
    return {
      GITHUB_API_URL: this.github.url,
      GITHUB_REPOSITORY: `${OWNER}/${REPO}`,
      GITHUB_TOKEN: this.github.token
    }
  }

  /** The inputs that point each action at this world (as CLI flags or `with:`). */
  inputs(): Record<string, Record<string, string>> {
    const e = this.endpoints()
    const web = WEB_APPS[0]
    // A sandbox deploy is healthy in seconds: a bad release (the unhealthyRelease knob)
    // is rolled back after 20 s, not after the production default of 5 minutes.
    const gate = { 'health-interval': '1s', 'health-timeout': '20s' }
    const render = {
      'render-api-url': this.render.url,
      'render-api-key': this.render.apiKey,
      'service-id': API_SERVICE
    }
    const vercel = {
      'vercel-api-url': this.vercel.url,
      'vercel-token': this.vercel.token,
      'team-id': this.vercel.teams[0],
      'project-id': web.id,
      'production-url': this.vercel.productionUrl(web.id),
      'health-paths': '/,/api/health'
    }
    return {
      'smoke-health': { url: e.apiHealth.join(',') },
      'deploy-api': { ...render, 'health-url': e.apiHealth[0], ...gate },
      'deploy-web': {
        ...vercel,
        app: web.app,
        'deployment-url-template': this.vercel.deploymentUrlTemplate,
        ...gate
      },
      rollback: { platform: 'render', ...render, 'health-url': e.apiHealth[0], ...gate },
      'rollback (web)': { platform: 'vercel', ...vercel, name: web.app, ...gate }
    }
  }

  async stop(): Promise<void> {
    await Promise.all([
      this.render.close(),
      this.vercel.close(),
      this.github.stop(),
      this.api.stop(),
      this.control.stop()
    ])
  }

  private handleControl(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    if (path === '/knobs' && req.method === 'GET') return sendJson(res, 200, this.knobs)
    if (path === '/knobs' && req.method === 'POST') {
      let update: unknown
      try {
        update = JSON.parse(body || '{}')
      } catch {
        return sendJson(res, 400, { error: 'the body is not JSON' })
      }
      const problem = knobsProblem(update)
      if (problem) return sendJson(res, 400, { error: problem })
      return sendJson(res, 200, this.setKnobs(update as Partial<Knobs>))
    }
    if (path === '/reset' && req.method === 'POST')
      return sendJson(res, 200, this.setKnobs({ ...DEFAULT_KNOBS }))
    if (path === '/issues' && req.method === 'GET') return sendJson(res, 200, this.github.issues)
    if (path === '/' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' })
      return void res.end(CONTROL_HELP)
    }
    return sendJson(res, 404, { error: 'see GET / for the control endpoints' })
  }
}

export const CONTROL_HELP = `Shipgate sandbox control endpoint
  GET  /knobs    the scenario knobs (JSON)
  POST /knobs    change some: {"buildMs": 5000, "buildFailure": false, "unhealthyRelease": true,
                 "latencyMs": 0, "rateLimit": 3}; they shape every deploy created from then on
                 (rateLimit: the next N Render and Vercel API calls answer 429, Retry-After: 1)
  POST /reset    back to the defaults
  GET  /issues   the fake GitHub's issues, with their comments
`
