// Issue 7 items 4, 5, 8, 9, 10, 11, 12 and 15 through the runner harness: the built
// smoke-health bundle against the health fake and the GitHub fake.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { FakeGitHub } from '../src/fakes/github.js'
import { FakeHealth } from '../src/fakes/health.js'
import { runAction, type ActionRun, type RunOptions } from './support/harness.js'

let health: FakeHealth
let github: FakeGitHub

beforeAll(async () => {
  health = await new FakeHealth().start()
})
afterAll(async () => {
  await health.stop()
})
beforeEach(async () => {
  github = await new FakeGitHub().start()
})
afterEach(async () => {
  await github.stop()
})

const fast = { timeout: '2s', interval: '100ms', 'request-timeout': '1s' }

const smoke = (inputs: Record<string, string>, options: RunOptions = {}): Promise<ActionRun> =>
  runAction(
    'smoke-health',
    { ...fast, ...inputs },
    { token: github.token, env: { GITHUB_API_URL: github.url }, ...options }
  )

/** The log without its mask commands: what a reader of the job log sees. */
const logged = (run: ActionRun): string =>
  run.stdout
    .split('\n')
    .filter(l => !l.startsWith('::add-mask::'))
    .join('\n')

const masks = (run: ActionRun): string[] =>
  run.stdout
    .split('\n')
    .filter(l => l.startsWith('::add-mask::'))
    .map(l => l.slice('::add-mask::'.length))

interface Report {
  name: string
  url: string
  ok: boolean
  status: number | null
  error: string | null
}

const report = (run: ActionRun): Report[] => JSON.parse(run.outputs.report) as Report[]

function expectNowhere(run: ActionRun, secret: string): void {
  expect(logged(run)).not.toContain(secret)
  expect(run.stderr).not.toContain(secret)
  expect(run.summary).not.toContain(secret)
  for (const value of Object.values(run.outputs)) expect(value).not.toContain(secret)
  for (const issue of github.issues) {
    expect(issue.title).not.toContain(secret)
    expect(issue.body).not.toContain(secret)
    for (const c of issue.comments) expect(c.body).not.toContain(secret)
  }
}

/** A refused configuration: one error, nothing probed, GitHub untouched. */
async function expectRefused(inputs: Record<string, string>, message: RegExp): Promise<ActionRun> {
  const before = health.requests.length
  const run = await smoke(inputs)
  expect(run.code).toBe(1)
  expect(run.errors).toHaveLength(1)
  expect(run.errors[0]).toMatch(message)
  expect(run.summary).toContain('configuration error')
  expect(health.requests.length).toBe(before)
  expect(github.requests).toHaveLength(0)
  return run
}

describe('item 4: configuration errors never print secrets', () => {
  it('a rejected checks list names the item and field and never echoes its header token', async () => {
    const token = 'tok-in-checks-4242-abcdef'
    const checks = [
      `- url: ${health.url}/health`,
      `  headers:`,
      `    Authorization: Bearer ${token}`,
      `- url: /other`,
      `  bogus: 1`
    ].join('\n')
    const run = await expectRefused(
      { url: `${health.url}/health`, checks },
      /^smoke-health: Input 'checks' has an invalid value \(5 lines, not shown\): item 2: .*bogus/
    )
    expect(masks(run).some(m => m.includes(token))).toBe(true)
    expectNowhere(run, token)
  })

  it('a rejected url list names the item and never echoes a URL password', async () => {
    const run = await expectRefused(
      { url: `${health.url}/health\nftp://svc:pw-in-bad-url-77@127.0.0.1/x` },
      /Input 'url' has an invalid value \(2 lines, not shown\): item 2 \("ftp:\/\/svc:\*\*\*@127\.0\.0\.1\/x"\) is not an http/
    )
    expectNowhere(run, 'pw-in-bad-url-77')
  })

  it('a 100 KiB value becomes a short error line', async () => {
    const run = await expectRefused(
      {
        url: `${health.url}/health`,
        checks: `- url: /x\n  name: ${'n'.repeat(100 * 1024)}\n  x: 1`
      },
      /Input 'checks' .*item 1/
    )
    expect(run.errors[0].length).toBeLessThan(800)
  })
})

describe('item 5: URL passwords that are not valid percent-encoding', () => {
  it('are redacted from the summary, the report and the incident', async () => {
    const password = 'p%ZZsecret55'
    health.set('/leak5', { kind: 'status', status: 503, body: { echoed: password } })
    const run = await smoke({
      url: `http://svc:${password}@${health.url.slice('http://'.length)}/leak5`,
      name: 'api'
    })
    expect(run.outputs.healthy).toBe('false')
    expect(github.issues).toHaveLength(1)
    expectNowhere(run, password)
    expect(github.issues[0].body).toContain('***')
  })
})

describe('item 8: line breaks in header values are refused', () => {
  it('in a check, with no probe and no incident', async () => {
    const run = await expectRefused(
      {
        url: `${health.url}/health`,
        checks: `- url: /health\n  headers:\n    X-Token: "abc\\r\\nX-Injected: 1"`
      },
      /Input 'checks' .*item 1, field 'headers\.X-Token': a header value cannot contain a line break/
    )
    expect(run.outputs.healthy).toBe('false')
  })

  it('in the headers input (a carriage return inside a line)', async () => {
    await expectRefused(
      { url: `${health.url}/health`, headers: 'X-Token: abc\rX-Injected: 1' },
      /Input 'headers' has an invalid value \(secret, not shown\): .*line 1 \(X-Token\): a header value cannot contain a line break/
    )
  })
})

describe('item 9: every duration has a ceiling', () => {
  it.each([
    ['interval', '600h', /Input 'interval' .*must be at most 1h/],
    ['request-timeout', '600h', /Input 'request-timeout' .*must be at most 10m/],
    ['timeout', '7h', /Input 'timeout' .*must be at most 6h/],
    ['max-latency', '1h', /Input 'max-latency' .*must be at most 10m/],
    [
      'timeout',
      '9'.repeat(400),
      /Input 'timeout' .*\(400 characters, not shown\): expected a duration/
    ]
  ])('%s: %s is refused', async (input, value, message) => {
    await expectRefused({ url: `${health.url}/health`, [input]: value }, message)
  })

  it('a check max-latency beyond the ceiling is refused by item and field', async () => {
    await expectRefused(
      { url: `${health.url}/health`, checks: '- url: /health\n  max-latency: 600h' },
      /Input 'checks' .*item 1, field 'max-latency': must be at most 10m/
    )
  })
})

describe('item 10: a catastrophic regex cannot hold the step past its timeout', () => {
  it('the match is cut short, the run ends, and the summary names the assertion', async () => {
    health.set('/redos', { kind: 'healthy', body: { v: `${'a'.repeat(40)}!` } })
    let killer: NodeJS.Timeout | undefined
    const run = await smoke(
      {
        url: `${health.url}/health`,
        checks: '- name: redos\n  url: /redos\n  json:\n    v: { match: "^(a+)+$" }',
        timeout: '1s',
        'open-issue': 'false'
      },
      // Before the fix the event loop never comes back: stop it rather than leave it spinning.
      { onStart: kill => (killer = setTimeout(() => kill('SIGKILL'), 30_000)) }
    )
    clearTimeout(killer)
    expect(run.code).toBe(1)
    const redos = report(run).find(r => r.name === 'redos')
    expect(redos?.ok).toBe(false)
    expect(redos?.error).toMatch(/^v match "\^\(a\+\)\+\$" cut short after \d+ ms/)
    expect(run.summary).toMatch(/redos.*v match .*cut short/)
  }, 40_000)
})

describe('item 11: credentials in a check URL', () => {
  it('are sent as Basic auth and kept out of every output', async () => {
    health.set('/basic', { kind: 'healthy' })
    const host = health.url.slice('http://'.length)
    const run = await smoke({
      url: `http://svc:s3cr3t-basic-pw@${host}/basic`,
      checks: '- name: path\n  url: /basic'
    })
    expect(run.outputs.healthy).toBe('true')
    const sent = health.requests.filter(r => r.path === '/basic')
    expect(sent).toHaveLength(2)
    for (const r of sent)
      expect(r.headers.authorization).toBe(
        `Basic ${Buffer.from('svc:s3cr3t-basic-pw').toString('base64')}`
      )
    expect(report(run)[0].url).toBe(`${health.url}/basic`)
    expectNowhere(run, 's3cr3t-basic-pw')
    expectNowhere(run, Buffer.from('svc:s3cr3t-basic-pw').toString('base64'))
  })

  it('alongside an Authorization header are refused with a hint', async () => {
    const host = health.url.slice('http://'.length)
    await expectRefused(
      { url: `http://svc:pw-twice-11@${host}/basic`, headers: 'Authorization: Bearer tok-11-xyz' },
      /Input 'url' item 1: the URL carries user:password and an Authorization header is also set; give the credentials once \(in headers\)/
    )
  })
})

describe("item 12: the gate's deadline never turns slow into down", () => {
  it('an endpoint slower than max-latency is SEV2 slow, not a SEV1 timeout, in its last round', async () => {
    health.set('/slow12', { kind: 'slow', delayMs: 1500 })
    const run = await smoke({
      url: `${health.url}/slow12`,
      name: 'slow12',
      'max-latency': '500ms',
      'request-timeout': '2s',
      timeout: '2200ms'
    })
    expect(run.outputs.healthy).toBe('false')
    expect(run.outputs.severity).toBe('sev2')
    expect(report(run)[0].error).toMatch(/^latency \d+ ms over the 500 ms limit/)
    expect(github.openIssues()[0].title).toMatch(/^\[SEV2\] production: .*latency/)
    expect(github.openIssues()[0].body).toContain('Slow responses')
    expect(github.openIssues()[0].body).not.toContain('no answer')
  })

  it('a body still streaming at the timeout is "headers in N ms, body not finished"', async () => {
    health.set('/stream12', { kind: 'slow-body', bodyAfterMs: 3000 })
    const run = await smoke({
      url: `${health.url}/stream12`,
      'request-timeout': '400ms',
      timeout: '1s',
      'open-issue': 'false'
    })
    expect(run.outputs.healthy).toBe('false')
    expect(report(run)[0]).toMatchObject({ status: 200 })
    expect(report(run)[0].error).toMatch(/^headers in \d+ ms, body not finished within 400 ms$/)
    expect(run.outputs.severity).toBe('sev2')
  })
})

describe('item 15: many checks in one round', () => {
  it('1,000 healthy checks of 200 ms pass: queue time is never latency', async () => {
    health.set('/many', { kind: 'slow', delayMs: 200 })
    const urls = Array.from({ length: 1000 }, (_, i) => `${health.url}/many?i=${i}`).join('\n')
    // Request timeout and gate deadline as shipped (10s, 60s): only the queue is under test.
    const run = await smoke({
      url: urls,
      'max-latency': '2s',
      'request-timeout': '10s',
      timeout: '60s',
      interval: '1s',
      'open-issue': 'false'
    })
    expect(run.outputs.healthy).toBe('true')
    expect(report(run)).toHaveLength(1000)
  })

  it('max-connections bounds the requests in flight per origin', async () => {
    health.set('/few', { kind: 'slow', delayMs: 100 })
    health.maxInFlight = 0
    const urls = Array.from({ length: 12 }, (_, i) => `${health.url}/few?i=${i}`).join('\n')
    const run = await smoke({
      url: urls,
      'max-connections': '2',
      'max-latency': '1s',
      timeout: '10s',
      'request-timeout': '5s',
      'open-issue': 'false'
    })
    expect(run.outputs.healthy).toBe('true')
    expect(health.maxInFlight).toBe(2)
  })

  it.each(['0', '1025', 'many'])('max-connections %s is refused', async value => {
    await expectRefused(
      { url: `${health.url}/health`, 'max-connections': value },
      /Input 'max-connections' .*expected a whole number from 1 to 1024/
    )
  })
})
