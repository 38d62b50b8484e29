import http from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Recorded {
  method: string
  path: string
  query: URLSearchParams
  headers: http.IncomingHttpHeaders
  body: string
}

export type Handler = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
  body: string,
  url: URL
) => void | Promise<void>

/** A real HTTP server on 127.0.0.1 with a random port, recording every request. */
export class TestServer {
  readonly requests: Recorded[] = []
  private server?: http.Server
  private readonly sockets = new Set<import('node:net').Socket>()
  url = ''

  constructor(private readonly handler: Handler) {}

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      let body = ''
      req.on('data', c => (body += c))
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://127.0.0.1')
        this.requests.push({
          method: req.method ?? 'GET',
          path: url.pathname,
          query: url.searchParams,
          headers: req.headers,
          body
        })
        Promise.resolve(this.handler(req, res, body, url)).catch(err => {
          res.statusCode = 500
          res.end(String(err))
        })
      })
    })
    this.server.on('connection', s => {
      this.sockets.add(s)
      s.on('close', () => this.sockets.delete(s))
    })
    await new Promise<void>(r => this.server!.listen(0, '127.0.0.1', r))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
    return this
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy()
    await new Promise<void>(r => (this.server ? this.server.close(() => r()) : r()))
  }
}

/** A server listening on 127.0.0.1 at a random port: its origin, and a close that drops every connection. */
export interface Listening {
  origin: string
  close(): Promise<void>
}

export async function listenLocal(
  handle: (req: http.IncomingMessage, res: http.ServerResponse) => void
): Promise<Listening> {
  const server = http.createServer(handle)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}

export function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {}
): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers })
  res.end(body === undefined ? '' : JSON.stringify(body))
}

/** A port on 127.0.0.1 where nothing listens: connections are refused. */
export async function closedPort(): Promise<number> {
  const s = http.createServer()
  await new Promise<void>(r => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as AddressInfo).port
  await new Promise<void>(r => s.close(() => r()))
  return port
}
