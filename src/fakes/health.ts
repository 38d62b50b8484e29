// A health app whose endpoints can be healthy, 503, slow, flapping, resetting,
// answering malformed JSON, streaming a slow body, or anything a test scripts.
import { sendJson, TestServer } from './http-server.js'

export type Behaviour =
  | { kind: 'healthy'; body?: unknown }
  | { kind: 'status'; status: number; body?: unknown }
  | { kind: 'slow'; delayMs: number; status?: number; body?: unknown }
  /** Fails every `every`-th request; with `first: 'fail'` it fails the first, then every `every`-th after it. */
  | { kind: 'flap'; every?: number; first?: 'pass' | 'fail' }
  /** Status and headers after `headersAfterMs`, the body's first bytes at once, the rest at `bodyAfterMs`. */
  | { kind: 'slow-body'; headersAfterMs?: number; bodyAfterMs: number; status?: number }
  | { kind: 'reset' }
  | { kind: 'malformed' }
  | { kind: 'hang' }

export const HEALTHY_BODY = {
  status: 'ok',
  db: 'up',
  memory: { heapUsedPercent: 42 },
  version: '1.4.2'
}

export class FakeHealth extends TestServer {
  private readonly behaviours = new Map<string, Behaviour>()
  private readonly hits = new Map<string, number>()
  private inFlight = 0
  /** The most requests it was answering at once. */
  maxInFlight = 0

  constructor() {
    super(async (req, res, _body, url) => {
      const b = this.behaviours.get(url.pathname) ?? { kind: 'healthy' }
      const n = (this.hits.get(url.pathname) ?? 0) + 1
      this.hits.set(url.pathname, n)
      this.inFlight++
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight)
      res.on('close', () => this.inFlight--)
      switch (b.kind) {
        case 'healthy':
          return sendJson(res, 200, b.body ?? HEALTHY_BODY)
        case 'status':
          return sendJson(res, b.status, b.body ?? { status: 'error', db: 'down' })
        case 'slow':
          await new Promise(r => setTimeout(r, b.delayMs))
          return sendJson(res, b.status ?? 200, b.body ?? HEALTHY_BODY)
        case 'flap': {
          // Fails every `every`-th request (default: every other one).
          const every = b.every ?? 2
          const failing = (b.first === 'fail' ? n - 1 : n) % every === 0
          return failing
            ? sendJson(res, 503, { status: 'degraded' })
            : sendJson(res, 200, HEALTHY_BODY)
        }
        case 'slow-body': {
          await new Promise(r => setTimeout(r, b.headersAfterMs ?? 0))
          res.writeHead(b.status ?? 200, { 'content-type': 'application/json' })
          res.write('{"status": "ok", ')
          await new Promise(r => setTimeout(r, b.bodyAfterMs - (b.headersAfterMs ?? 0)))
          if (!res.destroyed) res.end('"db": "up"}')
          return
        }
        case 'reset':
          req.socket.destroy()
          return
        case 'malformed':
          res.writeHead(200, { 'content-type': 'application/json' })
          res.end('{"status": "ok", "db": ')
          return
        case 'hang':
          return // never answers
      }
    })
  }

  set(path: string, behaviour: Behaviour): this {
    this.behaviours.set(path, behaviour)
    return this
  }

  hitsOf(path: string): number {
    return this.hits.get(path) ?? 0
  }
}
