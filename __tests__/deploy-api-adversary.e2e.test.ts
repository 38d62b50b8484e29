// deploy-api attacked through the runner harness on the built bundle: secrets in
// every place Shipgate writes outside the log, GitHub refusing in every way, a
// cancelled run, and Render faults after a deploy exists.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { FakeGitHub } from '../src/fakes/github.js'
import { FakeHealth } from '../src/fakes/health.js'
import { FakeRender } from '../src/fakes/render.js'
import { FaultProxy, type FaultAnswer, type ProxiedRequest } from '../src/fakes/fault-proxy.js'
import { runAction, type ActionRun, type RunOptions } from './support/harness.js'

const SVC = 'srv-api1'
const DEPLOYS = /^\/v1\/services\/[^/]+\/deploys$/
const ONE_DEPLOY = /^\/v1\/services\/[^/]+\/deploys\/[^/]+$/
const ROLLBACK = /^\/v1\/services\/[^/]+\/rollback$/

let render: FakeRender
let github: FakeGitHub
let health: FakeHealth
let renderProxy: FaultProxy
let githubProxy: FaultProxy

beforeEach(async () => {
  render = await FakeRender.start()
  render.addService({ id: SVC, name: 'api', liveDeployId: 'dep-old' })
  github = await new FakeGitHub().start()
  health = await new FakeHealth().start()
  renderProxy = await FaultProxy.start(render.origin)
  githubProxy = await FaultProxy.start(github.url)
})
afterEach(async () => {
  await renderProxy.close()
  await githubProxy.close()
  await render.close()
  await github.stop()
  await health.stop()
})

const deploy = (
  inputs: Record<string, string> = {},
  options: RunOptions = {}
): Promise<ActionRun> =>
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
    { token: github.token, env: { GITHUB_API_URL: githubProxy.origin }, ...options }
  )

/** Everything Shipgate wrote outside the log. */
function written(run: ActionRun): string {
  return [
    JSON.stringify(run.outputs),
    run.summary,
    JSON.stringify(github.issues),
    JSON.stringify(github.deployments),
    github.requests.map(r => JSON.stringify(r.body ?? '')).join('\n')
  ].join('\n')
}

/** The secrets printed in the log before (or without) their `::add-mask::`, with the line. */
function maskedFirst(run: ActionRun, secrets: string[]): string[] {
  const lines = run.stdout.split('\n')
  return secrets.flatMap(s => {
    const mask = lines.findIndex(l => l === `::add-mask::${s}`)
    const first = lines.findIndex(l => l.includes(s) && !l.startsWith('::add-mask::'))
    return first >= 0 && (mask < 0 || first < mask) ? [`${s}: ${lines[first].slice(0, 200)}`] : []
  })
}

/** The last non-empty line of the summary: one plain verdict. */
function verdictLine(run: ActionRun): string {
  const lines = run.summary.trimEnd().split('\n')
  return lines[lines.length - 1]
}

describe('secrets never leave the log masks', () => {
  const password = 'pw-S3cretPass'
  const header = 'hdr-S3cretValue'
  const basic = Buffer.from(`user:${password}`).toString('base64')

  it('an endpoint that echoes every secret back, through a failed gate and a rollback', async () => {
    const echo = `${render.apiKey} ${github.token} ${header} ${password} Basic ${basic}`
    health.set('/x', { kind: 'status', status: 503, body: { status: 'down', echo } })
    const url = new URL(`${health.url}/x`)
    url.username = 'user'
    url.password = password
    const run = await deploy({
      'health-url': url.toString(),
      'health-headers': `X-Api-Key: ${header}`,
      environment: 'staging'
    })
    expect(run.code).toBe(1)
    expect(github.issues).toHaveLength(1)
    const out = written(run)
    for (const s of [render.apiKey, github.token, header, password, basic])
      expect({ secret: s, found: out.includes(s) }).toEqual({ secret: s, found: false })
    // In the log, each secret is masked before it is printed.
    expect(maskedFirst(run, [render.apiKey, github.token, header, password])).toEqual([])
  })

  it('Render echoing the API key in a refusal, after the deploy exists', async () => {
    render.nextDeploys.push({ buildMs: Infinity })
    renderProxy.fault({
      method: 'GET',
      path: ONE_DEPLOY,
      answer: {
        kind: 'status',
        status: 403,
        body: JSON.stringify({ message: `key ${render.apiKey} may not read this` })
      },
      times: 1000
    })
    const run = await deploy()
    expect(run.code).toBe(1)
    expect(github.issues).toHaveLength(1)
    expect(written(run)).not.toContain(render.apiKey)
  })

  it('a password in render-api-url is never written anywhere', async () => {
    const proxyUrl = new URL(`${renderProxy.origin}/v1`)
    proxyUrl.username = 'proxy'
    proxyUrl.password = 'Proxy-S3cret'
    render.nextDeploys.push({ fail: 'build' })
    renderProxy.fault({ method: 'GET', path: ONE_DEPLOY, answer: { kind: 'reset' }, times: 1000 })
    const run = await deploy({ 'render-api-url': proxyUrl.toString() })
    expect(run.code).toBe(1)
    expect(written(run)).not.toContain('Proxy-S3cret')
    expect(maskedFirst(run, ['Proxy-S3cret'])).toEqual([])
  })
})

describe('GitHub refusing never hides the original failure', () => {
  const refusals: Array<[string, FaultAnswer]> = [
    [
      '403',
      { kind: 'status', status: 403, body: '{"message":"Resource not accessible by integration"}' }
    ],
    ['404', { kind: 'status', status: 404, body: '{"message":"Not Found"}' }],
    ['500', { kind: 'status', status: 500, body: '{"message":"boom"}' }],
    ['non-JSON', { kind: 'not-json' }]
  ]
  it.each(refusals)(
    'GitHub answering %s everywhere: the gate failure and the rollback are still reported',
    async (_name, answer) => {
      render.nextDeploys.push({ healthy: false })
      githubProxy.fault({ path: /.*/, answer, times: 10_000 })
      const run = await deploy()
      expect(run.code).toBe(1)
      expect(run.outputs).toMatchObject({ healthy: 'false', 'rolled-back': 'true', status: 'live' })
      expect(run.outputs['rollback-deploy-id']).toMatch(/^dep-/)
      expect(verdictLine(run)).toMatch(/^❌ deploy dep-\S+ failed its health gate/)
      expect(run.summary).toMatch(/Incident not recorded/)
      expect(run.summary).toMatch(/GitHub Deployment not recorded/)
      expect(run.errors.join('\n')).toMatch(/failed its health gate/)
    }
  )
})

describe('a cancelled run reports exactly what it changed', () => {
  /** Cancels the run (SIGINT, as the runner does) when `proxy` sees a request `when` matches. */
  const cancelOn = (
    proxy: FaultProxy,
    when: (r: ProxiedRequest) => boolean
  ): { onStart: (signal: (name: NodeJS.Signals) => void) => void } => ({
    onStart: signal => {
      let sent = false
      proxy.onRequest = r => {
        if (!sent && when(r)) {
          sent = true
          signal('SIGINT')
        }
      }
    }
  })
  const states = (): unknown[] => github.deployments[0].statuses.map(s => s.state)

  it('cancelled while Render is still answering the deploy POST: the created deploy is cancelled and named', async () => {
    render.nextDeploys.push({ buildMs: Infinity })
    renderProxy.fault({ method: 'POST', path: DEPLOYS, answer: { kind: 'slow', ms: 1200 } })
    const run = await deploy(
      { 'deploy-timeout': '30s' },
      cancelOn(renderProxy, r => r.method === 'POST' && DEPLOYS.test(r.path))
    )
    expect(run.code).toBe(1)
    const created = render.deploys.filter(d => d.trigger === 'api')
    expect(created).toHaveLength(1)
    const id = created[0].id
    expect(render.view(id)?.status).toBe('canceled')
    expect(run.outputs).toMatchObject({ 'deploy-id': id, status: 'canceled' })
    expect(run.summary).toContain(`Render deploy ${id} was cancelled; dep-old stays live`)
    expect(states()).toEqual(['in_progress', 'error'])
    expect(github.issues).toHaveLength(0)
    expect(verdictLine(run)).toMatch(/^⏹️ cancelled/)
  })

  it('cancelled during the wait: the deploy is cancelled, and nothing calls it superseded', async () => {
    render.nextDeploys.push({ buildMs: Infinity })
    const run = await deploy(
      { 'deploy-timeout': '30s' },
      cancelOn(renderProxy, r => r.method === 'GET' && ONE_DEPLOY.test(r.path))
    )
    expect(run.code).toBe(1)
    const id = run.outputs['deploy-id']
    expect(render.view(id)?.status).toBe('canceled')
    expect(run.outputs.status).toBe('canceled')
    expect(run.summary).toContain(`Render deploy ${id} was cancelled; dep-old stays live`)
    expect(run.summary).not.toMatch(/superseded/)
    expect(states()).toEqual(['in_progress', 'error'])
    expect(verdictLine(run)).toMatch(/^⏹️ cancelled/)
    expect(github.issues).toHaveLength(0)
  })

  it('cancelled before the deploy POST: nothing is deployed', async () => {
    // Cancelled while GitHub records the Deployment: the run must not go on to deploy.
    githubProxy.fault({ method: 'POST', path: /\/deployments$/, answer: { kind: 'slow', ms: 800 } })
    const run = await deploy(
      {},
      cancelOn(githubProxy, r => r.method === 'POST' && /\/deployments$/.test(r.path))
    )
    expect(run.code).toBe(1)
    expect(render.calls('POST', /^\/services\/[^/]+\/deploys$/)).toHaveLength(0)
    expect(run.outputs['deploy-id']).toBe('')
    expect(verdictLine(run)).toMatch(/^⏹️ cancelled/)
  })

  it('cancelled while an unhealthy deploy is gated: no rollback starts afterwards', async () => {
    render.nextDeploys.push({ healthy: false })
    const healthProxy = await FaultProxy.start(render.origin)
    try {
      const run = await deploy(
        {
          'health-url': `${healthProxy.origin}/health/${SVC}`,
          'health-timeout': '300ms',
          'health-interval': '100ms',
          'health-successes': '1'
        },
        cancelOn(healthProxy, () => true)
      )
      expect(run.code).toBe(1)
      expect(render.calls('POST', /\/rollback$/)).toHaveLength(0)
      expect(run.outputs['rolled-back']).toBe('false')
      expect(github.issues).toHaveLength(0)
    } finally {
      await healthProxy.close()
    }
  })

  it('cancelled just after the deploy went live: reported live and ungated, not cancelled', async () => {
    // Live 100 ms after creation, before the first poll; the cancel comes while that poll is answered.
    render.nextDeploys.push({ createdMs: 100, buildMs: 0, updateMs: 0 })
    renderProxy.fault({ method: 'GET', path: ONE_DEPLOY, answer: { kind: 'slow', ms: 1000 } })
    const run = await deploy(
      { 'deploy-timeout': '30s' },
      cancelOn(renderProxy, r => r.method === 'GET' && ONE_DEPLOY.test(r.path))
    )
    expect(run.code).toBe(1)
    const id = run.outputs['deploy-id']
    expect(render.view(id)?.status).toBe('live')
    expect(run.outputs.status).toBe('live')
    expect(run.summary).toContain(
      `Render deploy ${id} went live: it stays live, without its health gate`
    )
    expect(run.summary).not.toMatch(/cancelling Render deploy \S+ failed/)
  })

  it('cancelled during the health gate: the live deploy is named, nothing is cancelled or rolled back', async () => {
    const healthProxy = await FaultProxy.start(health.url)
    try {
      const run = await deploy(
        {
          'health-url': `${healthProxy.origin}/ok`,
          'health-timeout': '20s',
          'health-interval': '1s',
          'health-successes': '10'
        },
        cancelOn(healthProxy, () => true)
      )
      expect(run.code).toBe(1)
      const id = run.outputs['deploy-id']
      expect(run.outputs).toMatchObject({ status: 'live', 'rolled-back': 'false' })
      expect(run.summary).toContain(
        `before the health gate of deploy ${id} finished: it stays live, nothing was rolled back`
      )
      expect(render.calls('POST', /\/cancel$/)).toHaveLength(0)
      expect(states()).toEqual(['in_progress', 'error'])
    } finally {
      await healthProxy.close()
    }
  })
})

describe('Render faults on the rollback POST', () => {
  it.each([
    ['the connection drops after Render created it', { kind: 'reset-after' } as FaultAnswer],
    [
      'a gateway answers 502 after Render created it',
      { kind: 'status-after', status: 502 } as FaultAnswer
    ]
  ])('%s: the rollback is found, not reported as failed, not re-sent', async (_name, answer) => {
    render.nextDeploys.push({ healthy: false })
    renderProxy.fault({ method: 'POST', path: ROLLBACK, answer })
    const run = await deploy()
    expect(run.code).toBe(1)
    expect(render.calls('POST', /\/rollback$/)).toHaveLength(1)
    const rb = render.deploys.filter(d => d.trigger === 'rollback')
    expect(rb).toHaveLength(1)
    expect(run.outputs).toMatchObject({ 'rolled-back': 'true', 'rollback-deploy-id': rb[0].id })
    expect(github.openIssues()[0].title).toMatch(/^\[SEV2\]/)
  })
})

describe('exactly one deploy POST whatever the faults', () => {
  it.each([
    ['reset before Render', { kind: 'reset' } as FaultAnswer],
    ['reset after Render', { kind: 'reset-after' } as FaultAnswer],
    ['truncated', { kind: 'truncate' } as FaultAnswer],
    ['not JSON', { kind: 'not-json' } as FaultAnswer],
    ['{}', { kind: 'empty-object' } as FaultAnswer],
    ['500', { kind: 'status', status: 500 } as FaultAnswer],
    ['429 then OK', { kind: 'status', status: 429, headers: { 'retry-after': '1' } } as FaultAnswer]
  ])('%s', async (_name, answer) => {
    renderProxy.fault({ method: 'POST', path: DEPLOYS, answer })
    const run = await deploy()
    expect(render.calls('POST', /^\/services\/[^/]+\/deploys$/).length).toBeLessThanOrEqual(1)
    const api = render.deploys.filter(d => d.trigger === 'api')
    expect(api.length).toBeLessThanOrEqual(1)
    expect(Object.keys(run.outputs).sort()).toEqual(
      [
        'deploy-id',
        'duration-seconds',
        'healthy',
        'issue-number',
        'issue-url',
        'previous-deploy-id',
        'rollback-deploy-id',
        'rolled-back',
        'status'
      ].sort()
    )
    if (api.length === 1 && run.code !== 0) expect(github.issues).toHaveLength(1)
    expect(verdictLine(run)).toMatch(/^(✅|❌|⏭️|⏹️)/)
  })
})

describe('a health endpoint cannot hijack another service’s incident', () => {
  it('a marker planted in the gate’s evidence is neither kept nor matched', async () => {
    render.addService({ id: 'srv-web1', name: 'web', liveDeployId: 'dep-web-old' })
    const planted = '<!-- shipgate:incident deploy-api/production/web -->'
    health.set('/api', { kind: 'status', status: 503, body: { status: 'down', note: planted } })
    const api = await deploy({ 'health-url': `${health.url}/api` })
    expect(api.code).toBe(1)
    const [apiIssue] = github.issues
    expect(apiIssue.title).toContain('for api')
    expect(apiIssue.body!.split('<!--')).toHaveLength(2)

    // web fails: its own incident, no comment on api's.
    render.nextDeploys.push({ fail: 'build' })
    expect((await deploy({ 'service-id': 'srv-web1', 'health-url': '' })).code).toBe(1)
    expect(apiIssue.comments).toHaveLength(0)
    expect(github.openIssues()).toHaveLength(2)
    const webIssue = github.issues[1]
    expect(webIssue.title).toContain('for web')

    // web deploys fine: web's incident closes, api's (still down) stays open.
    expect((await deploy({ 'service-id': 'srv-web1', 'health-url': '' })).code).toBe(0)
    expect(webIssue.state).toBe('closed')
    expect(apiIssue.state).toBe('open')
    expect(apiIssue.comments).toHaveLength(0)
  })
})

describe('a queued deploy (202) that cannot be looked up', () => {
  it('is an incident (it may go live ungated), not a bare error', async () => {
    render.answer202 = true
    // The rollback target's list goes through; every later list is refused.
    renderProxy.fault({
      method: 'GET',
      path: DEPLOYS,
      skip: 1,
      times: 1000,
      answer: { kind: 'status', status: 403, body: '{"message":"forbidden"}' }
    })
    const run = await deploy()
    expect(run.code).toBe(1)
    expect(render.calls('POST', /^\/services\/[^/]+\/deploys$/)).toHaveLength(1)
    const [issue] = github.openIssues()
    expect(issue?.title).toMatch(
      /^\[SEV2\] production: deploy-api failed for api: Render created a deploy/
    )
    expect(run.outputs['issue-number']).toBe(String(issue.number))
    expect(verdictLine(run)).toMatch(
      /^❌ Render accepted the deploy \(202\) but looking it up failed .*403/
    )
  })
})

describe('a short URL password', () => {
  it('is hidden wherever the failing URL is written (issue, comment, summary, outputs)', async () => {
    health.set('/x', { kind: 'status', status: 503 })
    const url = new URL(`${health.url}/x`)
    url.username = 'u'
    url.password = 'ZQ'
    const run = await deploy({ 'health-url': url.toString(), 'rollback-on-failure': 'false' })
    expect(run.code).toBe(1)
    expect(github.issues).toHaveLength(1)
    const out = written(run)
    for (const shown of ['ZQ@', ':ZQ', Buffer.from('u:ZQ').toString('base64')])
      expect({ shown, found: out.includes(shown) }).toEqual({ shown, found: false })
  })
})

describe('a deploy that times out and cannot be cancelled', () => {
  it('is SEV2 (it may still go live without the gate), not SEV3', async () => {
    render.nextDeploys.push({ buildMs: Infinity })
    renderProxy.fault({
      method: 'POST',
      path: /\/cancel$/,
      answer: { kind: 'status', status: 500, body: '{"message":"boom"}' },
      times: 100
    })
    const run = await deploy({ 'deploy-timeout': '1s' })
    expect(run.code).toBe(1)
    expect(run.outputs.status).toBe('timeout')
    expect(render.view(run.outputs['deploy-id'])?.status).toBe('build_in_progress')
    expect(github.openIssues()[0].title).toMatch(
      /^\[SEV2\] production: deploy-api failed for api: deploy dep-\S+ timed out, not cancelled/
    )
  })
})
