// The health engine and the input parsers it rests on (issue 7 items 4, 5, 8-12, 15).
import { afterEach, describe, expect, it } from '@jest/globals'
import {
  NetworkError,
  type HttpResponse,
  type RequestOptions
} from '../src/providers/http/client.js'
import {
  duration,
  field,
  MAX_DURATION_MS,
  optionalDuration,
  parseDuration,
  parseHeaders,
  readInputs,
  text
} from '../src/runtime/inputs.js'
import { addUrlSecrets, clearSecrets, redact, redactUrl } from '../src/runtime/redact.js'
import { boundedTest, checkAssertion } from '../src/engines/health/assertions.js'
import { buildChecks, urlCredentials, type CheckSpec } from '../src/engines/health/checks.js'
import { perKeyLimit, runHealthGate } from '../src/engines/health/gate.js'
import { healthConfig, healthFields } from '../src/engines/health/inputs.js'
import type { ProbeClient } from '../src/engines/health/probe.js'

afterEach(() => clearSecrets())

const message = (f: () => unknown): string => {
  try {
    f()
  } catch (e) {
    return (e as Error).message
  }
  throw new Error('expected a throw')
}

describe('input errors (item 4)', () => {
  it('never echo a multi-line or long value, and cap the reason', () => {
    const spec = { a: field(text().refine(() => false, 'no')) }
    expect(message(() => readInputs(spec, () => 'line 1\nline 2 tok-xyz'))).toBe(
      "Input 'a' has an invalid value (2 lines, not shown): no"
    )
    expect(message(() => readInputs(spec, () => 'x'.repeat(101)))).toBe(
      "Input 'a' has an invalid value (101 characters, not shown): no"
    )
    const long = { a: field(text().refine(() => false, 'y'.repeat(100 * 1024))) }
    expect(message(() => readInputs(long, () => 'v')).length).toBeLessThan(500)
  })

  it('hide a URL password of any length in the value shown', () => {
    const spec = healthFields('', { timeout: '1m', interval: '5s', successes: 1 })
    const error = message(() =>
      readInputs(spec, n => (n === 'url' ? 'http://ok/a, ftp://u:ab@h/x' : ''))
    )
    expect(error).toBe(
      'Input \'url\' has an invalid value "http://ok/a, ftp://u:***@h/x": item 2 ("ftp://u:***@h/x") is not an http:// or https:// URL; expected one or more URLs separated by newlines or commas'
    )
  })

  it('register the secrets inside a structured value before validating it', () => {
    const spec = healthFields('', { timeout: '1m', interval: '5s', successes: 1 })
    const inputs: Record<string, string> = {
      url: 'http://127.0.0.1/a',
      checks: '- url: /x\n  headers:\n    X-Key: key-unit-4242\n  bogus: true'
    }
    const error = message(() => readInputs(spec, n => inputs[n] ?? ''))
    expect(error).toMatch(/^Input 'checks' has an invalid value \(4 lines, not shown\): item 1: /)
    expect(redact('echo key-unit-4242')).toBe('echo ***')
  })

  it('name the input, the item and the field of a check', () => {
    const spec = healthFields('health-', { timeout: '1m', interval: '5s', successes: 1 })
    const read = (checks: string) => (n: string) =>
      ({ 'health-url': 'http://127.0.0.1/a', 'health-checks': checks })[n] ?? ''
    expect(
      message(() => readInputs(spec, read('- url: /a\n- url: /b\n  expect-status: 99')))
    ).toMatch(/^Input 'health-checks' .*: item 2, field 'expect-status': expected status codes/)
    expect(
      message(() => readInputs(spec, read('- url: /a\n  json:\n    v: { match: "(" }')))
    ).toMatch(/item 1, field 'json\.v\.match': not a valid regular expression/)
    const v = readInputs(spec, read('- url: ftp://u:pw-bad-scheme@h/x'))
    const error = message(() => healthConfig('health-', v))
    expect(error).toBe(
      "Input 'health-checks' item 1, field 'url': \"ftp://u:***@h/x\" is not an http:// or https:// URL or a path"
    )
  })
})

describe('URL passwords (item 5)', () => {
  it('are registered raw when they are not valid percent-encoding, and decoded when they are', () => {
    addUrlSecrets('https://svc:p%ZZsecret55@h/x')
    addUrlSecrets('https://svc:p%40ss-word@h/x')
    expect(redact('a p%ZZsecret55 b p%40ss-word c p@ss-word')).toBe('a *** b *** c ***')
  })

  it('are hidden in written URLs whatever their length', () => {
    expect(redactUrl('https://svc:ab@h/health')).toBe('https://svc:***@h/health')
    expect(redactUrl('https://h/health')).toBe('https://h/health')
    addUrlSecrets('notaurl://u:pw-not-parsed-77@')
    expect(redact('pw-not-parsed-77')).toBe('***')
  })
})

describe('header values (item 8)', () => {
  it('refuse line breaks and control characters, naming the line and header', () => {
    expect(parseHeaders('A: 1\r\nB: 2\n')).toEqual({ a: '1', b: '2' })
    expect(parseHeaders('A: 1\nB: x\ry')).toBe(
      'line 2 (B): a header value cannot contain a line break'
    )
    expect(parseHeaders('A: x\u0000y')).toBe(
      'line 1 (A): a header value cannot contain control characters'
    )
    expect(parseHeaders('A: tab\tis fine')).toEqual({ a: 'tab\tis fine' })
  })
})

describe('durations (item 9)', () => {
  it('refuse what a timer cannot hold', () => {
    expect(parseDuration('9'.repeat(400))).toBeUndefined()
    expect(parseDuration('9'.repeat(400) + 'ms')).toBeUndefined()
    const spec = { d: field(duration('1s')), o: field(optionalDuration()) }
    const read =
      (d: string, o = '') =>
      (n: string) =>
        ({ d, o })[n as 'd' | 'o']
    expect(readInputs(spec, read(`${MAX_DURATION_MS}ms`, '0'))).toEqual({
      d: MAX_DURATION_MS,
      o: 0
    })
    expect(message(() => readInputs(spec, read('600h')))).toBe(
      'Input \'d\' has an invalid value "600h": must be at most 2147483647ms (about 24.8 days)'
    )
    expect(message(() => readInputs(spec, read('1s', `${MAX_DURATION_MS + 1}ms`)))).toMatch(
      /^Input 'o' .*must be at most 2147483647ms/
    )
    expect(
      message(() => readInputs({ d: field(duration('1s', { max: 3_600_000 })) }, () => '2h'))
    ).toMatch(/must be at most 1h$/)
  })
})

describe('regular expressions (item 10)', () => {
  it('a catastrophic match is cut short and named; an ordinary one is not', () => {
    const body = { v: `${'a'.repeat(40)}!`, s: 'ok' }
    const why = checkAssertion(body, { path: 'v', op: 'match', value: '^(a+)+$' }, 50)
    expect(why).toBe(
      'v match "^(a+)+$" cut short after 50 ms (the pattern backtracks too much on a 41-character value)'
    )
    expect(checkAssertion(body, { path: 's', op: 'match', value: '^o' }, 50)).toBeUndefined()
    expect(checkAssertion(body, { path: 's', op: 'match', value: '^x' }, 50)).toBe(
      's is "ok" (expected match "^x")'
    )
    expect(boundedTest(/b/, 'abc', 10)).toBe(true)
  })
})

describe('URL credentials (item 11)', () => {
  it('become Basic auth, the URL loses them', () => {
    const sent = urlCredentials('https://svc:p%40ss@h/health', { accept: 'x' })
    expect(sent).toEqual({
      url: 'https://h/health',
      headers: { accept: 'x', authorization: `Basic ${Buffer.from('svc:p@ss').toString('base64')}` }
    })
    expect(urlCredentials('https://h/health', {})).toEqual({ url: 'https://h/health', headers: {} })
    expect(urlCredentials('https://svc:pw@h/', { authorization: 'Bearer t' })).toMatch(
      /give the credentials once/
    )
  })

  it('in a check list are sent the same way, or refused by item', () => {
    const item = { url: 'https://u:p@h/b', headers: {}, bodyContains: [], json: [] }
    const d = { expectStatus: '200', maxLatencyMs: 1000, headers: {} }
    const [a, b] = buildChecks(['https://h/a'], [item], d)
    expect(a).toMatchObject({ url: 'https://h/a', headers: {} })
    expect(b).toMatchObject({
      name: 'h/b',
      url: 'https://h/b',
      headers: { authorization: `Basic ${Buffer.from('u:p').toString('base64')}` }
    })
    const names = { url: 'health-url', checks: 'health-checks' }
    const withAuth = { ...d, headers: { authorization: 'Bearer t' } }
    expect(message(() => buildChecks([], [item], withAuth, names))).toMatch(
      /^Input 'health-checks' item 1, field 'url': the URL carries user:password/
    )
  })
})

// ---- the gate on a virtual clock, with an HTTP client that answers on it ----

const check = (name: string, over: Partial<CheckSpec> = {}): CheckSpec => ({
  name,
  url: `http://h/${name}`,
  method: 'GET',
  headers: {},
  expectStatus: '200-299',
  statusRanges: [[200, 299]],
  maxLatencyMs: 500,
  bodyContains: [],
  json: [],
  severity: 'sev1',
  ...over
})

interface Sent {
  url: string
  at: number
  timeoutMs: number
}

/**
 * Endpoints that answer after `answerMs` (or never), on a virtual clock: a
 * request ends at min(answer, timeout); the clock reads the latest end so far.
 */
function virtualHttp(answerMs: (url: string) => number | undefined, clock: { t: number }) {
  const sent: Sent[] = []
  let inFlight = 0
  let maxInFlight = 0
  const client: ProbeClient = {
    async request(url: string, o: RequestOptions = {}): Promise<HttpResponse> {
      const at = clock.t
      const timeoutMs = o.timeoutMs ?? 10_000
      sent.push({ url, at, timeoutMs })
      inFlight++
      maxInFlight = Math.max(maxInFlight, inFlight)
      await new Promise(r => setImmediate(r))
      inFlight--
      const answer = answerMs(url)
      const took = answer === undefined ? timeoutMs : Math.min(answer, timeoutMs)
      clock.t = Math.max(clock.t, at + took)
      if (answer === undefined || answer > timeoutMs) throw new NetworkError('timed out', 'timeout')
      return { status: 200, headers: {}, body: '{}', latencyMs: answer, attempts: 1 }
    }
  }
  return { client, sent, max: () => maxInFlight }
}

function gate(
  answerMs: (url: string) => number | undefined,
  o: { timeoutMs: number; requestTimeoutMs: number; intervalMs?: number; successes?: number },
  checks = [check('api')],
  maxConnections?: number
) {
  const clock = { t: 0 }
  const http = virtualHttp(answerMs, clock)
  const result = runHealthGate({
    checks,
    intervalMs: 100,
    successes: 1,
    ...o,
    maxConnections,
    http: http.client,
    now: () => clock.t,
    sleep: async ms => {
      clock.t += ms
    }
  })
  return { result, ...http }
}

describe("the gate's deadline (item 12)", () => {
  it('an endpoint slower than max-latency stays SEV2 slow in the round the deadline cuts', async () => {
    const { result, sent } = gate(() => 1500, { timeoutMs: 2200, requestTimeoutMs: 2000 })
    const g = await result
    expect(sent.map(s => s.timeoutMs)).toEqual([2000, 600])
    expect(g.healthy).toBe(false)
    expect(g.severity).toBe('sev2')
    expect(g.results[0].reasons).toEqual(['latency 1500 ms over the 500 ms limit'])
    expect(g.results[0].errorKind).toBeUndefined()
  })

  it('no request runs past the deadline; the last round never overruns timeout', async () => {
    for (const answer of [300, 1500, undefined]) {
      const { result, sent } = gate(() => answer, { timeoutMs: 2500, requestTimeoutMs: 1000 })
      const g = await result
      for (const s of sent) expect(s.at + s.timeoutMs).toBeLessThanOrEqual(2500)
      expect(g.durationMs).toBeLessThanOrEqual(2500)
    }
  })

  it('a request cut short with no full round before it is slow, not down', async () => {
    const { result } = gate(() => undefined, { timeoutMs: 500, requestTimeoutMs: 10_000 })
    const g = await result
    expect(g.severity).toBe('sev2')
    expect(g.results[0]).toMatchObject({
      cutShort: true,
      slowOnly: true,
      reasons: ["slow: no answer within the remaining 500 ms before the gate's deadline"]
    })
  })

  it('a timeout in a full round stays the evidence when a later round is cut short', async () => {
    const { result, sent } = gate(() => undefined, { timeoutMs: 1500, requestTimeoutMs: 1000 })
    const g = await result
    expect(sent.map(s => s.timeoutMs)).toEqual([1000, 400])
    expect(g.severity).toBe('sev1')
    expect(g.results[0].reasons).toEqual(['timed out: no answer within 1000 ms'])
  })
})

describe('connections per origin (item 15)', () => {
  it('at most max-connections requests are in flight per origin; latency is their own', async () => {
    const checks = Array.from({ length: 6 }, (_, i) => check(`c${i}`))
    const { result, max } = gate(
      () => 200,
      { timeoutMs: 60_000, requestTimeoutMs: 1000 },
      checks,
      2
    )
    const g = await result
    expect(max()).toBe(2)
    expect(g.healthy).toBe(true)
    expect(g.results.map(r => r.latencyMs)).toEqual([200, 200, 200, 200, 200, 200])
  })

  it('perKeyLimit holds each key to its limit and releases in order', async () => {
    const limit = perKeyLimit(1)
    const order: string[] = []
    const task = (key: string, name: string) =>
      limit(key, async () => {
        order.push(`start ${name}`)
        await new Promise(r => setImmediate(r))
        order.push(`end ${name}`)
      })
    await Promise.all([task('a', 'a1'), task('a', 'a2'), task('b', 'b1')])
    expect(order.indexOf('start a2')).toBeGreaterThan(order.indexOf('end a1'))
    expect(order.indexOf('start b1')).toBeLessThan(order.indexOf('end a1'))
  })
})
