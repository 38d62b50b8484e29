import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { FakeGitHub } from '../src/fakes/github.js'
import { FakeRender } from '../src/fakes/render.js'
import { runAction, type ActionRun } from './support/harness.js'

const SVC = 'srv-api1'
const SHA = '0123456789abcdef0123456789abcdef01234567' // the harness's GITHUB_SHA
const DEPLOYS = /^\/services\/[^/]+\/deploys$/
const ONE_DEPLOY = /^\/services\/[^/]+\/deploys\/[^/]+$/
const ROLLBACK = /\/rollback$/

describe('deploy-api (dist bundle through the runner harness)', () => {
  let render: FakeRender
  let github: FakeGitHub

  beforeEach(async () => {
    render = await FakeRender.start()
    render.addService({ id: SVC, name: 'api', liveDeployId: 'dep-old' })
    github = await new FakeGitHub().start()
  })
  afterEach(async () => {
    await render.close()
    await github.stop()
  })

  const deploy = (inputs: Record<string, string> = {}): Promise<ActionRun> =>
    runAction(
      'deploy-api',
      {
        'render-api-key': render.apiKey,
        'service-id': SVC,
        'render-api-url': render.url,
        'deploy-timeout': '3s',
        'health-url': render.healthUrl(SVC),
        'health-interval': '100ms',
        'health-timeout': '1s',
        'health-request-timeout': '500ms',
        ...inputs
      },
      { token: github.token, env: { GITHUB_API_URL: github.url } }
    )

  const posts = (): number => render.calls('POST', DEPLOYS).length
  const statesOf = (): unknown[] => github.deployments[0]?.statuses.map(s => s.state) ?? []

  it('deploys the workflow commit, passes the gate and records a successful Deployment', async () => {
    const incident = github.seed({
      title: '[SEV2] production: deploy-api failed for api: old',
      body: '<!-- shipgate:incident deploy-api/production/api -->',
      labels: [{ id: 1, name: 'incident' }]
    })
    render.nextDeploys.push({ createdMs: 50, buildMs: 700, updateMs: 300 })
    const run = await deploy()
    expect(run.errors).toEqual([])
    expect(run.code).toBe(0)
    const created = render.deploys.find(d => d.trigger === 'api')!
    expect(run.outputs).toMatchObject({
      'deploy-id': created.id,
      status: 'live',
      'previous-deploy-id': 'dep-old',
      healthy: 'true',
      'rolled-back': 'false',
      'rollback-deploy-id': '',
      'issue-number': String(incident.number)
    })
    // A whole number of seconds, never empty, and no more than the process itself lasted.
    expect(run.outputs['duration-seconds']).toMatch(/^\d+$/)
    expect(Number(run.outputs['duration-seconds'])).toBeLessThanOrEqual(
      Math.ceil(run.durationMs / 1000)
    )
    expect(render.calls('POST', DEPLOYS).map(r => r.body)).toEqual([
      { clearCache: 'do_not_clear', commitId: SHA }
    ])
    expect(render.view('dep-old')?.status).toBe('deactivated')
    expect(incident.state).toBe('closed')
    expect(github.deployments).toHaveLength(1)
    expect(github.deployments[0]).toMatchObject({ ref: SHA, environment: 'production' })
    expect(statesOf()).toEqual(['in_progress', 'success'])
    expect(github.deployments[0].statuses[1]).toMatchObject({
      environment_url: 'https://api.onrender.com',
      log_url: 'https://github.com/acme/shop/actions/runs/4242'
    })
    expect(run.stdout).toContain(`::add-mask::${render.apiKey}`)
    expect(run.stdout.split(`::add-mask::${render.apiKey}`).join('')).not.toContain(render.apiKey)
    expect(run.stdout).toMatch(/: build_in_progress after/)
    expect(run.summary).toContain('✅ deploy')
  })

  it('a build failure fails the step, says the old deploy stays live, and rolls nothing back', async () => {
    render.nextDeploys.push({ fail: 'build' })
    const run = await deploy()
    expect(run.code).toBe(1)
    expect(run.outputs).toMatchObject({
      status: 'build_failed',
      healthy: 'false',
      'rolled-back': 'false'
    })
    expect(run.errors.join('\n')).toContain(
      'ended build_failed: Render keeps the previous deploy (dep-old) live, so production is unchanged'
    )
    expect(render.view('dep-old')?.status).toBe('live')
    expect(render.calls('POST', ROLLBACK)).toHaveLength(0)
    expect(statesOf()).toEqual(['in_progress', 'failure'])
    // Production is unchanged: a SEV3 incident, closed by the next good deploy.
    expect(github.issues).toHaveLength(1)
    const issue = github.issues[0]
    expect(issue.title).toMatch(
      /^\[SEV3\] production: deploy-api failed for .*: deploy dep-\S+ ended build_failed/
    )
    expect(issue.body).toContain('Deploy failed on Render')
    expect(run.outputs['issue-number']).toBe(String(issue.number))

    const next = await deploy()
    expect(next.code).toBe(0)
    expect(issue.state).toBe('closed')
    expect(issue.comments.at(-1)?.body).toMatch(/^Resolved: healthy again after/)
  })

  it('cancels a deploy that outlives deploy-timeout', async () => {
    render.nextDeploys.push({ buildMs: Infinity })
    const run = await deploy({ 'deploy-timeout': '1s' })
    expect(run.code).toBe(1)
    const id = run.outputs['deploy-id']
    expect(render.view(id)?.status).toBe('canceled')
    expect(render.calls('POST', /\/cancel$/)).toHaveLength(1)
    expect(run.outputs.status).toBe('timeout')
    expect(run.errors.join('\n')).toMatch(
      /still build_in_progress after deploy-timeout \(1s\); it was cancelled/
    )
    expect(statesOf()).toEqual(['in_progress', 'failure'])
  })

  it('an unhealthy deploy is rolled back: SEV2 incident, failed Deployment, outputs', async () => {
    render.nextDeploys.push({ healthy: false })
    const run = await deploy()
    expect(run.code).toBe(1)
    const rb = render.deploys.find(d => d.trigger === 'rollback')!
    expect(render.calls('POST', ROLLBACK).map(r => r.body)).toEqual([{ deployId: 'dep-old' }])
    expect(render.view(rb.id)?.status).toBe('live')
    expect(run.outputs).toMatchObject({
      status: 'live',
      healthy: 'false',
      'rolled-back': 'true',
      'rollback-deploy-id': rb.id,
      'previous-deploy-id': 'dep-old'
    })
    const [issue] = github.openIssues()
    expect(issue.title).toMatch(/^\[SEV2\] production: deploy-api failed for api: /)
    expect(issue.labels.map(l => l.name).sort()).toEqual(['incident', 'sev2'])
    expect(run.outputs['issue-number']).toBe(String(issue.number))
    expect(issue.body).toContain(run.outputs['deploy-id'])
    expect(issue.body).toContain(`Rollback deploy: \`${rb.id}\``)
    expect(issue.body).toContain(`After rollback deploy \`${rb.id}\``)
    expect(issue.body).toContain('returned 503')
    expect(issue.body).toContain('Rolling back the API')
    expect(issue.body).toContain('API returns 503')
    expect(issue.body).toContain('auto-deploy on')
    expect(run.stdout).toMatch(/::warning::.*auto-deploy on/)
    expect(statesOf()).toEqual(['in_progress', 'failure'])
  })

  it('a rollback that is unhealthy too opens a SEV1 incident', async () => {
    render.nextDeploys.push({ healthy: false })
    render.nextRollbacks.push({ healthy: false })
    const run = await deploy()
    expect(run.code).toBe(1)
    expect(run.outputs['rolled-back']).toBe('true')
    const [issue] = github.openIssues()
    expect(issue.title).toMatch(
      /^\[SEV1\] production: deploy-api failed for api: .*still unhealthy after the rollback/
    )
    expect(run.errors.join('\n')).toContain('(SEV1)')
  })

  it('a rollback Render refuses, or one that fails to go live, is SEV1', async () => {
    render.nextDeploys.push({ healthy: false })
    render.fault({ method: 'POST', path: ROLLBACK, status: 503, times: 1 })
    const refused = await deploy()
    expect(refused.code).toBe(1)
    expect(render.calls('POST', ROLLBACK)).toHaveLength(1)
    expect(refused.outputs).toMatchObject({ 'rolled-back': 'false', 'rollback-deploy-id': '' })
    const [issue] = github.openIssues()
    expect(issue.title).toMatch(/^\[SEV1\] .*the rollback failed: the Render API failed \(503\)/)

    render.nextDeploys.push({ healthy: false })
    render.nextRollbacks.push({ fail: 'update' })
    const failed = await deploy()
    expect(failed.outputs['rolled-back']).toBe('false')
    expect(failed.outputs['rollback-deploy-id']).not.toBe('')
    expect(issue.comments.at(-1)?.body).toMatch(/Failed again \(SEV1\)[\s\S]*ended update_failed/)
    expect(github.issues).toHaveLength(1)
  })

  it('never cancels a rollback that outlives deploy-timeout: SEV1, left running', async () => {
    render.nextDeploys.push({ healthy: false })
    render.nextRollbacks.push({ buildMs: 8000 })
    const run = await deploy({ 'deploy-timeout': '2s' })
    expect(run.code).toBe(1)
    const rb = render.deploys.find(d => d.trigger === 'rollback')!
    expect(render.calls('POST', /\/cancel$/)).toHaveLength(0)
    expect(render.view(rb.id)?.status).toBe('build_in_progress')
    expect(run.outputs).toMatchObject({ 'rolled-back': 'false', 'rollback-deploy-id': rb.id })
    const [issue] = github.openIssues()
    expect(issue.title).toMatch(
      /^\[SEV1\] .*still build_in_progress at deploy-timeout; it was left running/
    )
  })

  it('a gateway error after Render created the deploy finds that deploy instead of deploying twice', async () => {
    render.fault({ method: 'POST', path: DEPLOYS, gatewayAfterProcessing: 502, times: 1 })
    const run = await deploy()
    expect(run.code).toBe(0)
    expect(posts()).toBe(1)
    const created = render.deploys.filter(d => d.trigger === 'api')
    expect(created).toHaveLength(1)
    expect(run.outputs['deploy-id']).toBe(created[0].id)
    expect(run.outputs.healthy).toBe('true')
  })

  it('a cancel that Render rate-limits does not hold the run past its budget', async () => {
    render.nextDeploys.push({ buildMs: Infinity })
    render.fault({ method: 'POST', path: /\/cancel$/, status: 429, retryAfter: 60, times: 5 })
    const run = await deploy({ 'deploy-timeout': '1s' })
    expect(run.code).toBe(1)
    expect(render.calls('POST', /\/cancel$/)).toHaveLength(1)
    expect(run.outputs.status).toBe('timeout')
    expect(run.errors.join('\n')).toMatch(
      /cancelling it failed .*429.*cancel it in the Render dashboard/
    )
  })

  it('a cancelled run cancels the deploy it started, and opens no incident', async () => {
    render.nextDeploys.push({ buildMs: Infinity })
    const run = await runAction(
      'deploy-api',
      {
        'render-api-key': render.apiKey,
        'service-id': SVC,
        'render-api-url': render.url,
        'deploy-timeout': '30s'
      },
      { token: github.token, env: { GITHUB_API_URL: github.url }, cancelAfterMs: 1500 }
    )
    expect(run.code).toBe(1)
    const id = run.outputs['deploy-id']
    expect(id).not.toBe('')
    expect(render.calls('POST', /\/cancel$/)).toHaveLength(1)
    expect(render.view(id)?.status).toBe('canceled')
    expect(github.issues).toHaveLength(0)
    expect(run.summary).toContain('⏹️ cancelled')
  })

  it('with rollback-on-failure off: no rollback, the gate decides the severity', async () => {
    render.nextDeploys.push({ healthy: false })
    const run = await deploy({ 'rollback-on-failure': 'false', environment: 'staging' })
    expect(run.code).toBe(1)
    expect(render.calls('POST', ROLLBACK)).toHaveLength(0)
    // An outage is SEV1; staging lowers it one level.
    expect(github.openIssues()[0].title).toMatch(
      /^\[SEV2\] staging: deploy-api failed for api: .*not rolled back/
    )
    expect(github.deployments[0].environment).toBe('staging')
  })

  it('without health inputs the gate is skipped; a GitHub that refuses deployments is only a note', async () => {
    github.denyWrites = true
    const run = await deploy({ 'health-url': '' })
    expect(run.code).toBe(0)
    expect(run.outputs.healthy).toBe('true')
    expect(render.requests.filter(r => r.path.startsWith('/health'))).toHaveLength(0)
    expect(run.stdout).toMatch(/::warning::GitHub Deployment not recorded: GitHub refused \(403\)/)
    expect(run.summary).toContain('GitHub Deployment not recorded')
  })

  it('survives a 429 storm while polling, with exactly one deploy POST', async () => {
    render.nextDeploys.push({ createdMs: 50, buildMs: 400, updateMs: 200 })
    render.fault({ method: 'GET', path: ONE_DEPLOY, status: 429, retryAfter: 0.05, times: 15 })
    const run = await deploy()
    expect(run.code).toBe(0)
    expect(render.calls('GET', ONE_DEPLOY).filter(r => r.status === 429)).toHaveLength(15)
    expect(posts()).toBe(1)
  })

  it('exactly one deploy is created under POST 429s, GET resets and 503s', async () => {
    render.fault({ method: 'POST', path: DEPLOYS, status: 429, retryAfter: 0.05, times: 2 })
    render.fault({ method: 'GET', path: ONE_DEPLOY, reset: true, times: 2 })
    render.fault({ method: 'GET', path: DEPLOYS, status: 503, times: 1 })
    const run = await deploy()
    expect(run.code).toBe(0)
    expect(render.calls('POST', DEPLOYS).map(r => r.status)).toEqual([429, 429, 201])
    expect(render.deploys.filter(d => d.trigger === 'api')).toHaveLength(1)
  })

  it('never re-sends a deploy POST that failed with 500', async () => {
    render.fault({ method: 'POST', path: DEPLOYS, status: 500, times: 3 })
    const run = await deploy()
    expect(run.code).toBe(1)
    expect(posts()).toBe(1)
    expect(run.errors.join('\n')).toContain('the Render API failed (500)')
    expect(statesOf()).toEqual(['in_progress', 'error'])
    expect(run.outputs['deploy-id']).toBe('')
    expect(run.outputs['previous-deploy-id']).toBe('dep-old')
  })

  it('handles 202 with no body', async () => {
    render.answer202 = true
    const run = await deploy({ 'image-url': 'docker.io/acme/api:v2' })
    expect(run.code).toBe(0)
    const created = render.deploys.find(d => d.trigger === 'api')!
    expect(run.outputs['deploy-id']).toBe(created.id)
    expect(render.calls('POST', DEPLOYS)[0].body).toEqual({
      clearCache: 'do_not_clear',
      imageUrl: 'docker.io/acme/api:v2'
    })
  })

  it.each([
    ['fail', 1],
    ['succeed', 0]
  ])('a superseded deploy with on-superseded %s exits %i', async (mode, code) => {
    render.nextDeploys.push({ buildMs: 2000, cancelAfterMs: 300 })
    const run = await deploy({ 'on-superseded': mode })
    expect(run.code).toBe(code)
    expect(run.outputs.status).toBe('canceled')
    expect(render.calls('GET', /health/)).toHaveLength(0)
  })

  it('refuses a suspended service, and explains 401 and 404', async () => {
    render.addService({ id: 'srv-off', name: 'off', suspended: true })
    const off = await deploy({ 'service-id': 'srv-off' })
    expect(off.code).toBe(1)
    expect(off.errors.join()).toContain('service off (srv-off) is suspended (by user): resume it')
    const missing = await deploy({ 'service-id': 'srv-nope' })
    expect(missing.errors.join()).toContain(
      "service srv-nope not found (404): check service-id and that the key's workspace owns it"
    )
    const badKey = await deploy({ 'render-api-key': 'rnd_wrong' })
    expect(badKey.errors.join()).toContain(
      'the Render API key was rejected (401): check the secret'
    )
    expect(posts()).toBe(0)
    for (const r of [off, missing, badKey]) {
      expect(Object.keys(r.outputs).sort()).toEqual(
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
    }
  })

  it('deploys image-url and ignores commit when both are given', async () => {
    const run = await deploy({ commit: 'abcdef1', 'image-url': 'docker.io/acme/api:v2' })
    expect(run.code).toBe(0)
    expect(render.calls('POST', DEPLOYS)[0].body).toEqual({
      clearCache: 'do_not_clear',
      imageUrl: 'docker.io/acme/api:v2'
    })
  })

  it('rejects a malformed service-id before calling Render', async () => {
    const run = await deploy({ 'service-id': 'srv api/../x' })
    expect(run.code).toBe(1)
    expect(run.errors.join()).toContain("Input 'service-id' has an invalid value")
    expect(render.requests).toHaveLength(0)
  })
})
