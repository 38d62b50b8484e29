import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { FakeGitHub } from '../src/fakes/github.js'
import { FakeHealth } from '../src/fakes/health.js'
import { runAction, type ActionRun } from './support/harness.js'
import { closedPort } from '../src/fakes/http-server.js'

const fast = { timeout: '2s', interval: '100ms', 'request-timeout': '1s' }

describe('smoke-health (dist bundle through the runner harness)', () => {
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
    health.set('/health', { kind: 'healthy' })
  })
  afterEach(async () => {
    await github.stop()
  })

  const smoke = (inputs: Record<string, string>, token = github.token): Promise<ActionRun> =>
    runAction(
      'smoke-health',
      { ...fast, ...inputs },
      { token, env: { GITHUB_API_URL: github.url } }
    )

  it('reports a healthy endpoint without touching issues', async () => {
    const run = await smoke({ url: `${health.url}/health`, name: 'api' })
    expect(run.code).toBe(0)
    expect(run.outputs.healthy).toBe('true')
    expect(run.outputs.severity).toBe('')
    expect(run.outputs.failed).toBe('')
    const report = JSON.parse(run.outputs.report) as Array<Record<string, unknown>>
    expect(report).toHaveLength(1)
    expect(report[0]).toMatchObject({
      url: `${health.url}/health`,
      ok: true,
      status: 200,
      error: null
    })
    expect(typeof report[0].latencyMs).toBe('number')
    expect(run.summary).toContain('Shipgate smoke-health')
    expect(run.summary).toContain('✅ healthy')
    expect(github.writes()).toBe(0)
  })

  it('opens one SEV1 issue for a 503, comments on a repeat, and closes it on recovery', async () => {
    health.set('/health', { kind: 'status', status: 503 })
    const first = await smoke({ url: `${health.url}/health`, name: 'api' })
    expect(first.code).toBe(1)
    expect(first.outputs.healthy).toBe('false')
    expect(first.outputs.severity).toBe('sev1')
    expect(github.openIssues()).toHaveLength(1)
    const issue = github.openIssues()[0]
    expect(issue.title).toMatch(/^\[SEV1\] production: smoke-health failed for api: .*returned 503/)
    expect(issue.labels.map(l => l.name).sort()).toEqual(['incident', 'sev1'])
    expect(issue.body).toContain('<!-- shipgate:incident smoke-health/production/api -->')
    expect(issue.body).toContain('API returns 503')
    expect(issue.body).toContain('https://github.com/acme/shop/actions/runs/4242')
    expect(first.outputs['issue-number']).toBe(String(issue.number))
    expect(first.outputs['issue-url']).toBe(issue.html_url)

    const second = await smoke({ url: `${health.url}/health`, name: 'api' })
    expect(second.code).toBe(1)
    expect(github.issues).toHaveLength(1)
    expect(issue.comments).toHaveLength(1)
    expect(issue.comments[0].body).toContain('Failed again (SEV1)')
    expect(second.outputs['issue-number']).toBe(String(issue.number))

    health.set('/health', { kind: 'healthy' })
    const third = await smoke({ url: `${health.url}/health`, name: 'api' })
    expect(third.code).toBe(0)
    expect(issue.state).toBe('closed')
    expect(issue.state_reason).toBe('completed')
    expect(issue.comments.at(-1)?.body).toMatch(/^Resolved: healthy again after \d+(\.\d)?(ms|s)/)
    expect(third.outputs['issue-number']).toBe(String(issue.number))
  })

  it('raises the title and label when a repeat is more severe', async () => {
    health.set('/health', { kind: 'slow', delayMs: 300 })
    await smoke({ url: `${health.url}/health`, name: 'api', 'max-latency': '100ms' })
    const issue = github.openIssues()[0]
    expect(issue.title).toMatch(/^\[SEV2\]/)
    health.set('/health', { kind: 'status', status: 500 })
    await smoke({ url: `${health.url}/health`, name: 'api' })
    expect(github.issues).toHaveLength(1)
    expect(issue.title).toMatch(/^\[SEV1\]/)
    expect(issue.labels.map(l => l.name).sort()).toEqual(['incident', 'sev1'])
  })

  it('calls a latency-only failure SEV2', async () => {
    health.set('/health', { kind: 'slow', delayMs: 400 })
    const run = await smoke({ url: `${health.url}/health`, name: 'api', 'max-latency': '150ms' })
    expect(run.code).toBe(1)
    expect(run.outputs.severity).toBe('sev2')
    expect(github.openIssues()[0].title).toMatch(/^\[SEV2\] production: .*latency/)
    expect(github.openIssues()[0].body).toContain('Slow responses')
  })

  it('drops one level outside production', async () => {
    health.set('/health', { kind: 'status', status: 503 })
    const run = await smoke({ url: `${health.url}/health`, name: 'api', environment: 'staging' })
    expect(run.outputs.severity).toBe('sev2')
    expect(github.openIssues()[0].title).toMatch(/^\[SEV2\] staging: smoke-health failed for api/)
    expect(github.openIssues()[0].body).toContain('smoke-health/staging/api')
  })

  it('does not call a flapping endpoint healthy when 3 consecutive passes are required', async () => {
    // Fail, pass, fail, pass ... from the very first request.
    health.set('/flap', { kind: 'flap', first: 'fail' })
    const run = await smoke({ url: `${health.url}/flap`, successes: '3', timeout: '1500ms' })
    expect(run.code).toBe(1)
    expect(run.outputs.healthy).toBe('false')
    expect(health.hitsOf('/flap')).toBeGreaterThanOrEqual(3)
    // It did flap: rounds failed and passed by turns, never three passes in a row.
    expect(run.stdout).toMatch(/round 1: fail[\s\S]*round 2: pass \(1\/3\)[\s\S]*round 3: fail/)
    expect(run.stdout).not.toContain('(2/3)')
    expect(run.outputs.severity).toBe('sev1')
  })

  it('passes a flapping endpoint with the default single success', async () => {
    health.set('/flap2', { kind: 'flap', first: 'fail' })
    const run = await smoke({ url: `${health.url}/flap2` })
    expect(run.outputs.healthy).toBe('true')
    expect(run.stdout).toMatch(/round 1: fail[\s\S]*round 2: pass \(1\/1\)/)
  })

  it('evaluates status sets, body and JSON assertions from the checks list', async () => {
    health.set('/metrics', {
      kind: 'healthy',
      body: { status: 'ok', memory: { heapUsedPercent: 95 } }
    })
    const checks = [
      `- name: live\n  url: /health\n  expect-status: 200,204\n  body-contains: ok\n  json:\n    status: ok\n    db: { match: "^up$" }`,
      `- name: metrics\n  url: ${health.url}/metrics\n  json:\n    memory.heapUsedPercent: { lt: 90 }\n    version: { exists: false }\n  severity: sev2`
    ].join('\n')
    const run = await smoke({
      url: `${health.url}/health`,
      checks,
      name: 'api',
      'open-issue': 'false'
    })
    const report = JSON.parse(run.outputs.report) as Array<{
      name: string
      ok: boolean
      error: string | null
    }>
    expect(report.map(r => [r.name, r.ok])).toEqual([
      [expect.stringContaining('/health'), true],
      ['live', true],
      ['metrics', false]
    ])
    expect(report[2].error).toContain('memory.heapUsedPercent is 95 (expected lt 90)')
    expect(run.outputs.severity).toBe('sev2')
    expect(run.outputs.failed).toBe('metrics')
    expect(github.writes()).toBe(0)
  })

  it('records refused, reset, timed-out and malformed endpoints with their error kinds', async () => {
    health
      .set('/reset', { kind: 'reset' })
      .set('/bad', { kind: 'malformed' })
      .set('/hang', { kind: 'hang' })
    const port = await closedPort()
    const checks = `- name: bad\n  url: ${health.url}/bad\n  json:\n    status: ok`
    const run = await smoke({
      url: [`http://127.0.0.1:${port}/health`, `${health.url}/reset`, `${health.url}/hang`].join(
        '\n'
      ),
      checks,
      'request-timeout': '300ms',
      timeout: '500ms',
      'open-issue': 'false'
    })
    const report = JSON.parse(run.outputs.report) as Array<{ ok: boolean; error: string }>
    expect(report.map(r => r.error)).toEqual([
      expect.stringMatching(/^refused:/),
      expect.stringMatching(/^reset:/),
      expect.stringMatching(/^timeout:/),
      'body is not valid JSON'
    ])
    expect(run.outputs.severity).toBe('sev1')
  })

  it('finds the open incident on a later page and ignores pull requests carrying the marker', async () => {
    for (let i = 0; i < 120; i++)
      github.seed({ title: `old ${i}`, labels: [{ id: 1, name: 'incident' }] })
    const marker = '<!-- shipgate:incident smoke-health/production/api -->'
    const real = github.seed({
      title: '[SEV1] production: smoke-health failed for api: x',
      body: marker,
      labels: [
        { id: 1, name: 'incident' },
        { id: 2, name: 'sev1' }
      ]
    })
    for (let i = 0; i < 120; i++)
      github.seed({ title: `newer ${i}`, labels: [{ id: 1, name: 'incident' }] })
    github.seed({
      title: 'PR',
      body: marker,
      labels: [{ id: 1, name: 'incident' }],
      pull_request: { url: 'x' }
    })
    health.set('/health', { kind: 'status', status: 503 })
    const run = await smoke({ url: `${health.url}/health`, name: 'api' })
    expect(run.outputs['issue-number']).toBe(String(real.number))
    expect(real.comments).toHaveLength(1)
    expect(
      github.requests.filter(r => r.method === 'GET' && r.path.endsWith('/issues')).length
    ).toBe(3)
    expect(
      github.requests.filter(r => r.method === 'POST' && r.path.endsWith('/issues'))
    ).toHaveLength(0)
  })

  it('still fails for the original reason when GitHub refuses, and says which permission is missing', async () => {
    github.denyWrites = true
    health.set('/health', { kind: 'status', status: 503 })
    const run = await smoke({ url: `${health.url}/health`, name: 'api' })
    expect(run.code).toBe(1)
    expect(run.outputs.healthy).toBe('false')
    expect(run.errors.join('\n')).toContain('issues: write')
    expect(run.errors.join('\n')).toMatch(/smoke-health: unhealthy \(SEV1\)/)
    expect(run.summary).toContain('Incident not recorded')
    expect(run.outputs['issue-number']).toBe('')
  })

  it('rejects bad inputs with one clear error and touches nothing', async () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [
        { url: `${health.url}/health`, timeout: 'soon' },
        /Input 'timeout' has an invalid value "soon": expected a duration/
      ],
      [{ url: 'ftp://x' }, /Input 'url' .*not an http/],
      [{ url: `${health.url}/health`, 'expect-status': '2000' }, /Input 'expect-status' .*200-299/],
      [{ url: `${health.url}/health`, successes: '0' }, /Input 'successes' .*from 1 to 100/],
      [{ url: `${health.url}/health`, 'open-issue': 'yes' }, /Input 'open-issue' .*true or false/],
      [{ url: `${health.url}/health`, checks: '- url: /x\n  bogus: 1' }, /Input 'checks'.*bogus/],
      [
        { url: `${health.url}/health`, headers: 'no colon here' },
        /Input 'headers' has an invalid value \(secret, not shown\)/
      ],
      [{}, /Input 'url' is required/]
    ]
    const before = health.requests.length
    for (const [inputs, message] of cases) {
      const run = await smoke(inputs)
      expect(run.code).toBe(1)
      expect(run.errors).toHaveLength(1)
      expect(run.errors[0]).toMatch(message)
      expect(run.outputs.healthy).toBe('false')
      expect(run.summary).toContain('configuration error')
    }
    expect(health.requests.length).toBe(before)
    expect(github.requests).toHaveLength(0)
  })

  it('never lets the token or a header value out of the log masks, the summary or the issue', async () => {
    const secretHeader = 'Bearer s3cr3t-header-value-xyz'
    health.set('/echo', {
      kind: 'status',
      status: 503,
      body: { echoed: secretHeader, token: github.token }
    })
    const run = await smoke({
      url: `${health.url}/echo`,
      name: 'api',
      headers: `Authorization: ${secretHeader}\nX-Api-Key: key-987654321`
    })
    expect(health.requests.at(-1)?.headers.authorization).toBe(secretHeader)
    const lines = run.stdout.split('\n')
    const masks = lines
      .filter(l => l.startsWith('::add-mask::'))
      .map(l => l.slice('::add-mask::'.length))
    const logged = lines.filter(l => !l.startsWith('::add-mask::')).join('\n')
    for (const secret of [secretHeader, 's3cr3t-header-value-xyz', 'key-987654321', github.token]) {
      expect(masks.some(m => m.includes(secret))).toBe(true)
      expect(logged).not.toContain(secret)
      expect(run.summary).not.toContain(secret)
      for (const issue of github.issues) {
        expect(issue.body).not.toContain(secret)
        expect(issue.title).not.toContain(secret)
        for (const c of issue.comments) expect(c.body).not.toContain(secret)
      }
    }
    expect(github.issues[0].body).toContain('***')
  })

  it('keeps a bare bearer token, a basic-auth password and a URL key out of every output', async () => {
    const basic = Buffer.from('svc:pa55-w0rd-basic').toString('base64')
    health.set('/leak', {
      kind: 'status',
      status: 401,
      body: {
        error: 'invalid token tok_abcdef123456',
        user: 'svc:pa55-w0rd-basic',
        q: 'k3y-in-query-777'
      }
    })
    const checks = `- name: basic\n  url: ${health.url}/leak\n  headers:\n    Authorization: Basic ${basic}`
    const run = await smoke({
      url: `${health.url}/leak?api_key=k3y-in-query-777`,
      checks,
      name: 'api',
      headers: 'Authorization: Bearer tok_abcdef123456'
    })
    expect(run.outputs.healthy).toBe('false')
    const logged = run.stdout
      .split('\n')
      .filter(l => !l.startsWith('::add-mask::'))
      .join('\n')
    const issue = github.issues[0]
    for (const secret of ['tok_abcdef123456', 'pa55-w0rd-basic', 'k3y-in-query-777']) {
      expect(logged).not.toContain(secret)
      expect(run.summary).not.toContain(secret)
      expect(run.outputs.report).not.toContain(secret)
      expect(issue.body).not.toContain(secret)
    }
    expect(issue.body).toContain('Authentication errors')
  })

  it('never echoes a malformed header line, which may hold the credential', async () => {
    const run = await smoke({ url: `${health.url}/health`, headers: 'X-Api-Key tok_zyx987654:x' })
    expect(run.errors[0]).toContain("line 1 is not 'Name: value'")
    expect(
      run.stdout
        .split('\n')
        .filter(l => !l.startsWith('::add-mask::'))
        .join('\n')
    ).not.toContain('tok_zyx987654')
    expect(run.summary).not.toContain('tok_zyx987654')
  })

  it('refuses a gate whose passing rounds cannot fit in the timeout', async () => {
    const run = await smoke({
      url: `${health.url}/health`,
      successes: '3',
      interval: '1s',
      timeout: '1500ms'
    })
    expect(run.code).toBe(1)
    expect(run.errors[0]).toMatch(/Input 'timeout' \(1.5s\) cannot fit 3 passing rounds 1s apart/)
    expect(github.requests).toHaveLength(0)
  })

  it('opens and closes nothing when the run is cancelled', async () => {
    health.set('/health', { kind: 'slow', delayMs: 1500, status: 503 })
    const run = await runAction(
      'smoke-health',
      { url: `${health.url}/health`, name: 'api', timeout: '5s', 'request-timeout': '3s' },
      { token: github.token, env: { GITHUB_API_URL: github.url }, cancelAfterMs: 700 }
    )
    expect(run.code).not.toBe(0)
    expect(github.writes()).toBe(0)
    expect(run.outputs.healthy).toBe('false')
    expect(run.summary).toContain('⏹️ cancelled')
  })
})
