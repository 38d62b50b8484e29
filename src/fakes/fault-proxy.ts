// A fault-injecting HTTP proxy on 127.0.0.1, put in front of a fake (Render,
// GitHub): it forwards every request to the fake and, for the requests a rule
// matches (method, path, how many), answers what a broken middlebox or API would.
import { createServer, request, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/** What a matched request gets instead of the fake's answer. */
export type FaultAnswer =
  /** 200 with an HTML page (a proxy's maintenance page); the fake never sees the request. */
  | { kind: 'not-json'; status?: number }
  /** 200 `{}`; the fake never sees the request. */
  | { kind: 'empty-object'; status?: number }
  /** Any status and body, with headers (e.g. 403 + Retry-After); the fake never sees it. */
  | { kind: 'status'; status: number; body?: string; headers?: Record<string, string> }
  /** The connection is dropped before anything is sent; the fake never sees it. */
  | { kind: 'reset' }
  /** Forwarded: the fake acts, then the answer keeps its status but loses the second half of its body. */
  | { kind: 'truncate' }
  /** Forwarded: the fake acts, then the connection is dropped instead of answering. */
  | { kind: 'reset-after' }
  /** Forwarded: the fake acts at once, its answer is held back `ms` (a slow API or middlebox). */
  | { kind: 'slow'; ms: number }
  /** Forwarded: the fake acts, then a gateway answers this status instead (a 502 after the work was done). */
  | { kind: 'status-after'; status: number }

export interface FaultRule {
  method?: string
  /** Matched against the request path (without the query). */
  path: RegExp
  answer: FaultAnswer
  /** How many matching requests get it (default 1). */
  times?: number
  /** Matching requests to let through first (default 0). */
  skip?: number
}

export interface ProxiedRequest {
  method: string
  path: string
  /** The rule's answer kind, or 'forwarded'. */
  fate: FaultAnswer['kind'] | 'forwarded'
}

const MAINTENANCE =
  '<!DOCTYPE html><html><head><title>Down for maintenance</title></head><body><h1>We will be back soon</h1></body></html>'

export class FaultProxy {
  readonly requests: ProxiedRequest[] = []
  /** Called as each request arrives (before it is answered): lets a test act at that moment. */
  onRequest?: (r: ProxiedRequest) => void
  private readonly rules: Array<Required<Pick<FaultRule, 'times' | 'skip'>> & FaultRule> = []
  private server?: Server
  private readonly sockets = new Set<Socket>()
  private readonly target: URL
  origin = ''

  private constructor(target: string) {
    this.target = new URL(target)
  }

  /** A proxy forwarding to `target` (an origin, e.g. the fake's `origin`). */
  static async start(target: string): Promise<FaultProxy> {
    const proxy = new FaultProxy(target)
    const server = createServer((req, res) => proxy.handle(req, res))
    server.on('connection', s => {
      proxy.sockets.add(s)
      s.on('close', () => proxy.sockets.delete(s))
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    proxy.server = server
    proxy.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    return proxy
  }

  /** Adds a rule; the first rule with matches left wins. */
  fault(rule: FaultRule): this {
    this.rules.push({ times: 1, skip: 0, ...rule })
    return this
  }

  /** Requests a rule answered (any kind, or one kind). */
  faulted(kind?: FaultAnswer['kind']): ProxiedRequest[] {
    return this.requests.filter(r => r.fate !== 'forwarded' && (!kind || r.fate === kind))
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy()
    await new Promise<void>(resolve =>
      this.server ? this.server.close(() => resolve()) : resolve()
    )
  }

  private take(method: string, path: string): FaultRule | undefined {
    for (const r of this.rules) {
      if (r.times <= 0 || (r.method && r.method !== method) || !r.path.test(path)) continue
      if (r.skip > 0) {
        r.skip--
        return undefined
      }
      r.times--
      return r
    }
    return undefined
  }

  private handle(req: IncomingMessage, res: import('node:http').ServerResponse): void {
    const method = req.method ?? 'GET'
    const path = new URL(req.url ?? '/', 'http://proxy').pathname
    const rule = this.take(method, path)
    const answer = rule?.answer
    const seen: ProxiedRequest = { method, path, fate: answer?.kind ?? 'forwarded' }
    this.requests.push(seen)
    this.onRequest?.(seen)
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const reply = (status: number, body: string, headers: Record<string, string>): void => {
        res.writeHead(status, { 'content-length': String(Buffer.byteLength(body)), ...headers })
        res.end(body)
      }
      switch (answer?.kind) {
        case 'not-json':
          return reply(answer.status ?? 200, MAINTENANCE, { 'content-type': 'text/html' })
        case 'empty-object':
          return reply(answer.status ?? 200, '{}', { 'content-type': 'application/json' })
        case 'status':
          return reply(answer.status, answer.body ?? '', {
            'content-type': 'application/json',
            ...answer.headers
          })
        case 'reset':
          req.socket.destroy()
          return
      }
      const upstream = request(
        {
          host: this.target.hostname,
          port: this.target.port,
          method,
          path: req.url,
          headers: { ...req.headers, host: this.target.host, connection: 'close' }
        },
        up => {
          const body: Buffer[] = []
          up.on('data', (c: Buffer) => body.push(c))
          up.on('end', () => {
            if (answer?.kind === 'reset-after') {
              req.socket.destroy()
              return
            }
            if (answer?.kind === 'status-after')
              return reply(answer.status, '<html><body><h1>Bad Gateway</h1></body></html>', {
                'content-type': 'text/html'
              })
            let data = Buffer.concat(body)
            if (answer?.kind === 'truncate') data = data.subarray(0, Math.floor(data.length / 2))
            const headers = { ...up.headers }
            delete headers['content-length']
            delete headers['transfer-encoding']
            delete headers.connection
            const send = (): void => {
              res.writeHead(up.statusCode ?? 502, { ...headers, 'content-length': data.length })
              res.end(data)
            }
            if (answer?.kind === 'slow') setTimeout(send, answer.ms)
            else send()
          })
        }
      )
      upstream.on('error', () => req.socket.destroy())
      upstream.end(Buffer.concat(chunks))
    })
  }
}
