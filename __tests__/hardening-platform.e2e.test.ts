// Issue 7, items 1, 2 and 7: the built bundles under platform answers that are not
// what they should be (a fault proxy in front of the Render and GitHub fakes), and
// incidents that an endpoint tries to hijack.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { FakeGitHub } from '../src/fakes/github.js'
import { FakeHealth } from '../src/fakes/health.js'
import { FakeRender } from '../src/fakes/render.js'
import { FaultProxy } from '../src/fakes/fault-proxy.js'
import { runAction, type ActionRun } from './support/harness.js'

const SVC = 'srv-api1'
const DEPLOYS = /^\/v1\/services\/[^/]+\/deploys$/
const ONE_DEPLOY = /^\/v1\/services\/[^/]+\/deploys\/[^/]+$/
const ISSUES = /^\/repos\/acme\/shop\/issues$/

describe('deploy-api behind a faulty proxy', () => {
  let render: FakeRender
  let github: FakeGitHub
  let renderProxy: FaultProxy
  let githubProxy: FaultProxy

  beforeEach(async () => {
    render = await FakeRender.start()
    render.addService({ id: SVC, name: 'api', liveDeployId: 'dep-old' })
    github = await new FakeGitHub().start()
    renderProxy = await FaultProxy.start(render.origin)
    githubProxy = await FaultProxy.start(github.url)
  })
  afterEach(async () => {
    await renderProxy.close()
    await githubProxy.close()
    await render.close()
    await github.stop()
  })

  const deploy = (inputs: Record<string, string> = {}): Promise<ActionRun> =>
    runAction(
      'deploy-api',
      {
        'render-api-key': render.apiKey,
        'service-id': SVC,
        'render-api-url': `${renderProxy.origin}/v1`,
        'deploy-timeout': '5s',
        'health-url': render.healthUrl(SVC),
        'health-interval': '100ms',
        'health-timeout': '1s',
        'health-request-timeout': '500ms',
        ...inputs
      },
      { token: github.token, env: { GITHUB_API_URL: githubProxy.origin } }
    )
  const apiDeploys = (): unknown[] => render.deploys.filter(d => d.trigger === 'api')

  describe('item 1: Render answers', () => {
    it('a status poll answering 200 with a maintenance page is retried, and the deploy is gated', async () => {
      render.nextDeploys.push({ createdMs: 50, buildMs: 300, updateMs: 100 })
      renderProxy.fault({ method: 'GET', path: ONE_DEPLOY, answer: { kind: 'not-json' } })
      const run = await deploy()
      expect(renderProxy.faulted('not-json')).toHaveLength(1)
      expect(run.errors).toEqual([])
      expect(run.code).toBe(0)
      expect(run.outputs).toMatchObject({ status: 'live', healthy: 'true' })
      expect(render.calls('GET', /^\/health\//).length).toBeGreaterThan(0)
    })

    it('a status poll answering {} never leads to /deploys/undefined', async () => {
      render.nextDeploys.push({ createdMs: 50, buildMs: 300, updateMs: 100 })
      renderProxy.fault({ method: 'GET', path: ONE_DEPLOY, answer: { kind: 'empty-object' } })
      const run = await deploy()
      expect(renderProxy.faulted('empty-object')).toHaveLength(1)
      expect(renderProxy.requests.filter(r => r.path.includes('undefined'))).toEqual([])
      expect(run.errors).toEqual([])
      expect(run.code).toBe(0)
      expect(run.outputs.status).toBe('live')
    })

    it('a 201 whose body is truncated finds the deploy it created, without a second POST', async () => {
      renderProxy.fault({ method: 'POST', path: DEPLOYS, answer: { kind: 'truncate' } })
      const run = await deploy()
      expect(renderProxy.faulted('truncate')).toHaveLength(1)
      expect(render.calls('POST', /^\/services\/[^/]+\/deploys$/)).toHaveLength(1)
      expect(apiDeploys()).toHaveLength(1)
      expect(run.errors).toEqual([])
      expect(run.code).toBe(0)
      expect(run.outputs['deploy-id']).toBe(render.deploys.find(d => d.trigger === 'api')!.id)
      expect(run.outputs.healthy).toBe('true')
    })

    it('a wait that fails after the deploy exists cancels it and opens an incident', async () => {
      render.nextDeploys.push({ buildMs: Infinity })
      renderProxy.fault({
        method: 'GET',
        path: ONE_DEPLOY,
        answer: { kind: 'status', status: 404, body: '{"message":"not found"}' },
        times: 1000
      })
      const run = await deploy()
      expect(run.code).toBe(1)
      const id = run.outputs['deploy-id']
      expect(id).toMatch(/^dep-/)
      expect(render.calls('POST', /\/cancel$/)).toHaveLength(1)
      expect(render.view(id)?.status).toBe('canceled')
      const [issue] = github.openIssues()
      expect(issue?.body).toContain(id)
      expect(run.outputs['issue-number']).toBe(String(issue.number))
      expect(run.errors.join('\n')).toContain(`lost track of deploy ${id}`)
    })
  })

  it('a wait that fails after the deploy already went live gates it instead', async () => {
    // Live 100 ms after creation, before the first poll.
    render.nextDeploys.push({ createdMs: 100, buildMs: 0, updateMs: 0 })
    renderProxy.fault({
      method: 'GET',
      path: ONE_DEPLOY,
      answer: { kind: 'status', status: 404, body: '{"message":"not found"}' }
    })
    const run = await deploy()
    // The cancel came too late (Render: not in progress), so the gate decided.
    expect(render.calls('POST', /\/cancel$/).map(r => r.status)).toEqual([400])
    expect(render.calls('GET', /^\/health\//).length).toBeGreaterThan(0)
    expect(run.code).toBe(0)
    expect(run.outputs).toMatchObject({ status: 'live', healthy: 'true' })
  })

  it('a rollback whose 201 is truncated is found, not re-sent', async () => {
    render.nextDeploys.push({ healthy: false })
    renderProxy.fault({ method: 'POST', path: /\/rollback$/, answer: { kind: 'truncate' } })
    const run = await deploy()
    expect(run.code).toBe(1)
    expect(render.calls('POST', /\/rollback$/)).toHaveLength(1)
    const rb = render.deploys.find(d => d.trigger === 'rollback')!
    expect(run.outputs).toMatchObject({ 'rolled-back': 'true', 'rollback-deploy-id': rb.id })
    expect(github.openIssues()[0].title).toMatch(/^\[SEV2\]/)
  })

  describe('item 2: GitHub answers', () => {
    const seedIncident = (): ReturnType<FakeGitHub['seed']> =>
      github.seed({
        title: '[SEV3] production: deploy-api failed for api: old',
        body: '<!-- shipgate:incident deploy-api/production/api -->\nearlier failure',
        labels: [{ id: 1, name: 'incident' }]
      })

    it.each([
      ['not-json' as const, /not JSON/],
      ['empty-object' as const, /not a list/]
    ])(
      'an open-issues list answering %s opens no duplicate and says so in the summary',
      async (kind, said) => {
        const existing = seedIncident()
        render.nextDeploys.push({ fail: 'build' })
        githubProxy.fault({ method: 'GET', path: ISSUES, answer: { kind }, times: 100 })
        const run = await deploy()
        expect(run.code).toBe(1)
        expect(githubProxy.faulted(kind).length).toBeGreaterThan(0)
        expect(github.issues).toHaveLength(1)
        expect(existing.comments).toHaveLength(0)
        expect(run.outputs['issue-number']).toBe('')
        expect(run.summary).toMatch(/Incident not recorded: .*GitHub/)
        expect(run.summary).toMatch(said)
        expect(run.stdout).not.toMatch(/is not a function|is not iterable/)
      }
    )

    it('a 403 secondary rate limit with Retry-After on the issue POST is retried', async () => {
      render.nextDeploys.push({ fail: 'build' })
      githubProxy.fault({
        method: 'POST',
        path: ISSUES,
        answer: {
          kind: 'status',
          status: 403,
          body: '{"message":"You have exceeded a secondary rate limit"}',
          headers: { 'retry-after': '1' }
        }
      })
      const run = await deploy()
      expect(run.code).toBe(1)
      expect(githubProxy.faulted('status')).toHaveLength(1)
      expect(github.issues).toHaveLength(1)
      expect(run.outputs['issue-number']).toBe(String(github.issues[0].number))
      expect(run.summary).not.toContain('Incident not recorded')
    })

    it('a 201 created issue whose body is truncated keeps the incident: its number is recovered', async () => {
      render.nextDeploys.push({ fail: 'build' })
      githubProxy.fault({ method: 'POST', path: ISSUES, answer: { kind: 'truncate' } })
      const run = await deploy()
      expect(run.code).toBe(1)
      expect(githubProxy.faulted('truncate')).toHaveLength(1)
      expect(github.issues).toHaveLength(1)
      const [issue] = github.issues
      expect(run.outputs['issue-number']).toBe(String(issue.number))
      expect(run.outputs['issue-url']).toBe(issue.html_url)
      expect(run.summary).not.toContain('Incident not recorded')
    })
  })
})

describe('item 7: an endpoint cannot hijack another target’s incident', () => {
  let health: FakeHealth
  let github: FakeGitHub
  beforeEach(async () => {
    health = await new FakeHealth().start()
    github = await new FakeGitHub().start()
  })
  afterEach(async () => {
    await health.stop()
    await github.stop()
  })

  const smoke = (name: string): Promise<ActionRun> =>
    runAction(
      'smoke-health',
      { url: `${health.url}/${name}`, name, timeout: '1s', interval: '100ms' },
      { token: github.token, env: { GITHUB_API_URL: github.url } }
    )

  it('a marker planted in a response body is neither matched nor kept as a comment', async () => {
    const planted = '<!-- shipgate:incident smoke-health/production/b -->'
    health.set('/a', { kind: 'status', status: 503, body: { status: 'down', note: planted } })
    health.set('/b', { kind: 'status', status: 503 })
    expect((await smoke('a')).code).toBe(1)
    const [a] = github.issues
    expect(a.body).toContain('shipgate:incident smoke-health/production/b')
    expect(a.body).not.toContain(planted)
    expect(a.body!.split('<!--')).toHaveLength(2)

    // b fails: its own incident, not a comment on a's.
    expect((await smoke('b')).code).toBe(1)
    expect(a.comments).toHaveLength(0)
    expect(github.openIssues()).toHaveLength(2)
    const b = github.issues[1]
    expect(b.title).toContain('for b')

    // b recovers: b's incident closes, a's (still down) stays open.
    health.set('/b', { kind: 'healthy' })
    expect((await smoke('b')).code).toBe(0)
    expect(b.state).toBe('closed')
    expect(a.state).toBe('open')
    expect(a.comments).toHaveLength(0)
  })
})
