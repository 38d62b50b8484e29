// The LMA API as Render would serve it: its health endpoints answer for whichever
// deploy is live on the Render fake, with the sandbox's latency knob applied.
import type { FakeRender } from '../fakes/render.js'
import { sendJson, TestServer } from '../fakes/http-server.js'

export interface ApiKnobs {
  /** Extra latency of every health answer. */
  latencyMs: number
}

export class LmaApi extends TestServer {
  private readonly started = Date.now()
  private served = 0

  constructor(
    private readonly render: FakeRender,
    private readonly serviceId: string,
    private readonly knobs: ApiKnobs
  ) {
    super(async (_req, res, _body, url) => {
      this.served++
      if (this.knobs.latencyMs > 0) await new Promise(r => setTimeout(r, this.knobs.latencyMs))
      const live = this.render.liveDeploy(this.serviceId)
      const script = live && this.render.deploys.find(d => d.id === live.id)?.script
      const healthy = !!live && (script?.healthy ?? true)
      const version = live?.commit?.id?.slice(0, 7) ?? 'none'
      switch (url.pathname) {
        case '/health':
          return healthy
            ? sendJson(res, 200, { status: 'ok', db: 'up', version, deploy: live?.id })
            : sendJson(res, 503, { status: 'error', db: 'down', version, deploy: live?.id })
        case '/health/live':
          // The process answers as long as a deploy is live, healthy or not.
          return live
            ? sendJson(res, 200, { status: 'ok' })
            : sendJson(res, 503, { status: 'down' })
        case '/health/ready':
          return healthy
            ? sendJson(res, 200, { status: 'ready', checks: { db: 'up', cache: 'up' } })
            : sendJson(res, 503, { status: 'not_ready', checks: { db: 'down', cache: 'up' } })
        case '/health/metrics':
          return sendJson(res, healthy ? 200 : 503, {
            uptimeSeconds: Math.round((Date.now() - this.started) / 1000),
            requests: this.served,
            memory: { heapUsedPercent: healthy ? 41 : 97 },
            version
          })
        default:
          return sendJson(res, 404, { error: 'not found' })
      }
    })
  }
}
