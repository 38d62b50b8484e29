// Self-hosted runners behind a proxy: the HTTP client honours HTTP_PROXY / HTTPS_PROXY and NO_PROXY.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createServer, request, type Server } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { FakeHealth } from '../src/fakes/health.js'
import { runAction } from './support/harness.js'

/** A forward proxy (absolute-form requests and CONNECT tunnels), recording what it relays. */
async function startProxy(): Promise<{ url: string; seen: string[]; server: Server }> {
  const seen: string[] = []
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`)
    const target = new URL(req.url ?? '')
    const upstream = request(
      target,
      { method: req.method, headers: { ...req.headers, host: target.host } },
      answer => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      }
    )
    upstream.on('error', () => res.writeHead(502).end())
    req.pipe(upstream)
  })
  server.on('connect', (req, socket, head) => {
    seen.push(`CONNECT ${req.url}`)
    const [host, port] = (req.url ?? '').split(':')
    const upstream = connect(Number(port), host, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      upstream.write(head)
      upstream.pipe(socket)
      socket.pipe(upstream)
    })
    upstream.on('error', () => socket.destroy())
    socket.on('error', () => upstream.destroy())
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server }
}

describe('proxy settings (dist bundle through the runner harness)', () => {
  let health: FakeHealth
  let proxy: Awaited<ReturnType<typeof startProxy>>
  beforeAll(async () => {
    health = await new FakeHealth().start()
    proxy = await startProxy()
  })
  afterAll(async () => {
    await health.stop()
    await new Promise(resolve => proxy.server.close(resolve))
  })

  it('sends requests through HTTP_PROXY', async () => {
    proxy.seen.length = 0
    const run = await runAction(
      'smoke-health',
      { url: `${health.url}/health`, 'open-issue': 'false' },
      { env: { HTTP_PROXY: proxy.url } }
    )
    expect(run.code).toBe(0)
    // undici tunnels through the proxy (CONNECT), or relays plain HTTP in absolute form.
    expect(proxy.seen.length).toBeGreaterThan(0)
    expect(proxy.seen).toEqual(
      proxy.seen.map(() =>
        expect.stringMatching(
          new RegExp(`^(CONNECT ${new URL(health.url).host}|GET ${health.url}/health)$`)
        )
      )
    )
  })

  it('goes direct to a host listed in NO_PROXY', async () => {
    proxy.seen.length = 0
    const run = await runAction(
      'smoke-health',
      { url: `${health.url}/health`, 'open-issue': 'false' },
      { env: { HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' } }
    )
    expect(run.code).toBe(0)
    expect(proxy.seen).toEqual([])
    expect(health.hitsOf('/health')).toBeGreaterThan(0)
  })
})
