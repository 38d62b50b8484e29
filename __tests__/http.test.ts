import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { HttpClient, NetworkError, parseRetryAfter } from '../src/providers/http/client.js'
import { closedPort, sendJson, TestServer } from '../src/fakes/http-server.js'

describe('HttpClient against a real server', () => {
  // Each path answers from a script: one entry per request, the last repeats.
  const scripts = new Map<
    string,
    Array<
      (res: import('node:http').ServerResponse, req: import('node:http').IncomingMessage) => void
    >
  >()
  const seen = new Map<string, number>()
  const server = new TestServer((req, res, _b, url) => {
    const n = seen.get(url.pathname) ?? 0
    seen.set(url.pathname, n + 1)
    const script = scripts.get(url.pathname) ?? [r => sendJson(r, 200, { ok: true })]
    script[Math.min(n, script.length - 1)](res, req)
  })
  const delays: number[] = []
  const client = new HttpClient({
    sleep: async ms => void delays.push(ms),
    random: () => 0.5,
    timeoutMs: 500
  })

  beforeAll(async () => {
    await server.start()
  })
  afterAll(async () => {
    await server.stop()
  })
  const count = (p: string): number => server.requests.filter(r => r.path === p).length

  it('sends the shipgate user agent', async () => {
    await client.request(`${server.url}/ua`)
    expect(server.requests.find(r => r.path === '/ua')?.headers['user-agent']).toMatch(
      /^shipgate\/\d+\.\d+\.\d+$/
    )
  })

  it('retries a GET on 503 with exponential backoff and jitter, then succeeds', async () => {
    delays.length = 0
    scripts.set('/flaky', [
      r => sendJson(r, 503, {}),
      r => sendJson(r, 502, {}),
      r => sendJson(r, 200, { ok: 1 })
    ])
    const res = await client.request(`${server.url}/flaky`)
    expect(res.status).toBe(200)
    expect(res.attempts).toBe(3)
    expect(delays).toEqual([375, 750]) // base 500 x 2^n, scaled by 0.5 + random/2
  })

  it('honours Retry-After in seconds and as an HTTP date', async () => {
    delays.length = 0
    const date = new Date(Date.now() + 3000).toUTCString()
    scripts.set('/limited', [
      r => sendJson(r, 429, {}, { 'retry-after': '2' }),
      r => sendJson(r, 503, {}, { 'retry-after': date }),
      r => sendJson(r, 200, {})
    ])
    await client.request(`${server.url}/limited`)
    expect(delays[0]).toBeGreaterThanOrEqual(2000)
    expect(delays[0]).toBeLessThan(2300)
    expect(delays[1]).toBeGreaterThan(1000)
    expect(delays[1]).toBeLessThan(3300)
  })

  it('never retries a POST on a server error or a reset', async () => {
    scripts.set('/create', [r => sendJson(r, 500, {})])
    expect(
      (await client.request(`${server.url}/create`, { method: 'POST', body: '{}' })).status
    ).toBe(500)
    expect(count('/create')).toBe(1)
    scripts.set('/create-reset', [(_r, req) => req.socket.destroy()])
    await expect(
      client.request(`${server.url}/create-reset`, { method: 'POST', body: '{}' })
    ).rejects.toMatchObject({ kind: 'reset' })
    expect(count('/create-reset')).toBe(1)
  })

  it('retries a POST on 429 only when asked, after Retry-After', async () => {
    scripts.set('/post429', [
      r => sendJson(r, 429, {}, { 'retry-after': '1' }),
      r => sendJson(r, 201, { id: 1 })
    ])
    expect((await client.request(`${server.url}/post429`, { method: 'POST' })).status).toBe(429)
    seen.delete('/post429')
    delays.length = 0
    const retried = await client.request(`${server.url}/post429`, {
      method: 'POST',
      retryRateLimited: true
    })
    expect(retried.status).toBe(201)
    expect(delays).toHaveLength(1)
    expect(delays[0]).toBeGreaterThanOrEqual(1000)
  })

  it('does not retry a POST answered 429 without saying when', async () => {
    scripts.set('/post429bare', [r => sendJson(r, 429, {}), r => sendJson(r, 201, {})])
    const res = await client.request(`${server.url}/post429bare`, {
      method: 'POST',
      retryRateLimited: true
    })
    expect(res.status).toBe(429)
    expect(count('/post429bare')).toBe(1)
  })

  it('stops retrying at the deadline', async () => {
    const real = new HttpClient({ baseDelayMs: 400, random: () => 1 })
    scripts.set('/down', [r => sendJson(r, 503, {})])
    const started = Date.now()
    const res = await real.request(`${server.url}/down`, { deadline: Date.now() + 300 })
    expect(res.status).toBe(503)
    expect(count('/down')).toBe(1)
    expect(Date.now() - started).toBeLessThan(300)
  })

  it('gives up on a Retry-After longer than it may wait', async () => {
    const impatient = new HttpClient({ sleep: async () => undefined, maxRetryAfterMs: 1000 })
    scripts.set('/long', [r => sendJson(r, 429, {}, { 'retry-after': '3600' })])
    const res = await impatient.request(`${server.url}/long`)
    expect(res.status).toBe(429)
    expect(res.attempts).toBe(1)
  })

  it('times out a request that never answers, and classifies refused connections', async () => {
    scripts.set('/hang', [() => undefined])
    await expect(
      client.request(`${server.url}/hang`, { attempts: 1, timeoutMs: 200 })
    ).rejects.toMatchObject({ kind: 'timeout' })
    const port = await closedPort()
    const err = await client
      .request(`http://127.0.0.1:${port}/`, { attempts: 2 })
      .catch(e => e as NetworkError)
    expect(err).toBeInstanceOf(NetworkError)
    expect((err as NetworkError).kind).toBe('refused')
  })
})

describe('parseRetryAfter', () => {
  it('reads seconds and dates, rejects garbage', () => {
    expect(parseRetryAfter('5')).toBe(5000)
    expect(
      parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:50 GMT'))
    ).toBe(10_000)
    expect(parseRetryAfter('soon')).toBeUndefined()
    expect(parseRetryAfter(undefined)).toBeUndefined()
  })
})
