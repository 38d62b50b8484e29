// The action flows run in-process through the recording host: inputs from a map,
// everything written recorded, a virtual clock shared with the Render fake.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { FakeGitHub } from '../src/fakes/github.js'
import { FakeHealth } from '../src/fakes/health.js'
import { recordingHost, VirtualClock, type RecordingHost } from '../src/fakes/host.js'
import { FakeRender } from '../src/fakes/render.js'
import { run as deployApi } from '../src/actions/deploy-api/run.js'
import { run as smokeHealth } from '../src/actions/smoke-health/run.js'
import { clearSecrets } from '../src/runtime/redact.js'

const SVC = 'srv-api1'
const ROLLBACK = /\/rollback$/

let github: FakeGitHub
beforeEach(async () => {
  clearSecrets()
  github = await new FakeGitHub().start()
})
afterEach(async () => {
  await github.stop()
})

const host = (inputs: Record<string, string>, clock = new VirtualClock()): RecordingHost =>
  recordingHost({
    inputs: { 'github-token': github.token, ...inputs },
    clock,
    context: { apiUrl: github.url, owner: github.owner, repo: github.repo }
  })

describe('smoke-health run(host)', () => {
  let health: FakeHealth
  beforeEach(async () => {
    health = await new FakeHealth().start()
  })
  afterEach(async () => {
    await health.stop()
  })

  it('passes a healthy endpoint, sets every output and ends the summary with the verdict', async () => {
    const h = host({ url: `${health.url}/health`, name: 'api' })
    const outcome = await smokeHealth(h)
    expect(outcome.status).toBe('ok')
    expect(h.record.failed).toBeUndefined()
    expect(h.record.outputs).toEqual({
      healthy: 'true',
      severity: '',
      failed: '',
      report: expect.stringContaining('"ok":true'),
      'issue-number': '',
      'issue-url': ''
    })
    expect(h.record.summary.trim().split('\n').at(-1)).toBe(outcome.verdict)
    expect(outcome.verdict).toMatch(/^✅ healthy: 1 check\(s\) passed/)
  })

  it('opens an incident for a 503 and waits the whole window on the virtual clock', async () => {
    health.set('/health', { kind: 'status', status: 503 })
    const clock = new VirtualClock()
    const start = clock.now()
    const h = host(
      { url: `${health.url}/health`, name: 'api', timeout: '5m', interval: '10s' },
      clock
    )
    const outcome = await smokeHealth(h)
    expect(outcome.status).toBe('failed')
    expect(h.record.failed).toMatch(/^smoke-health: unhealthy \(SEV1\)/)
    // Thirty rounds of ten virtual seconds, run in real milliseconds.
    expect(health.hitsOf('/health')).toBe(30)
    expect(clock.now() - start).toBeGreaterThanOrEqual(290_000)
    expect(github.openIssues()).toHaveLength(1)
    expect(h.record.outputs['issue-number']).toBe(String(github.openIssues()[0].number))
  })

  it('reports a bad input as a configuration error without touching the network', async () => {
    const h = host({ url: 'not a url' })
    const outcome = await smokeHealth(h)
    expect(outcome.status).toBe('configuration')
    expect(outcome.message).toMatch(/^Input 'url'/)
    expect(h.record.outputs.healthy).toBe('false')
    expect(github.requests).toHaveLength(0)
  })
})

describe('deploy-api run(host)', () => {
  let render: FakeRender
  let clock: VirtualClock
  beforeEach(async () => {
    clock = new VirtualClock()
    render = await FakeRender.start({ now: () => clock.now() })
    render.addService({ id: SVC, name: 'api', liveDeployId: 'dep-old' })
  })
  afterEach(async () => {
    await render.close()
  })

  const inputs = (extra: Record<string, string> = {}): Record<string, string> => ({
    'render-api-key': render.apiKey,
    'service-id': SVC,
    'render-api-url': render.url,
    'deploy-timeout': '20m',
    'health-url': render.healthUrl(SVC),
    ...extra
  })

  it('waits a ten-minute build on the virtual clock, gates and succeeds', async () => {
    render.nextDeploys.push({ createdMs: 15_000, buildMs: 450_000, updateMs: 135_000 })
    const h = host(inputs(), clock)
    const outcome = await deployApi(h)
    expect(outcome.status).toBe('ok')
    const created = render.deploys.find(d => d.trigger === 'api')!
    expect(h.record.outputs).toMatchObject({
      'deploy-id': created.id,
      status: 'live',
      'previous-deploy-id': 'dep-old',
      healthy: 'true',
      'rolled-back': 'false'
    })
    // 600 s of deploy plus the gate's rounds, in virtual time.
    expect(Number(h.record.outputs['duration-seconds'])).toBeGreaterThanOrEqual(600)
    expect(github.deployments[0].statuses.map(s => s.state)).toEqual(['in_progress', 'success'])
  })

  it('rolls an unhealthy deploy back through the shared rollback engine and opens SEV2', async () => {
    render.nextDeploys.push({ buildMs: 60_000, healthy: false })
    const h = host(inputs(), clock)
    const outcome = await deployApi(h)
    expect(outcome.status).toBe('failed')
    expect(render.calls('POST', ROLLBACK).map(r => r.body)).toEqual([{ deployId: 'dep-old' }])
    const rb = render.deploys.find(d => d.trigger === 'rollback')!
    expect(h.record.outputs).toMatchObject({
      'rolled-back': 'true',
      'rollback-deploy-id': rb.id,
      healthy: 'false'
    })
    const [issue] = github.openIssues()
    expect(issue.title).toMatch(
      /^\[SEV2\] production: deploy-api failed for api: .*rolled back to dep-old/
    )
    expect(h.text('warning')).toContain("Render's API rollback leaves auto-deploy on")
  })

  it('a cancelled run cancels the deploy it started, writes its outputs and opens nothing', async () => {
    render.nextDeploys.push({ buildMs: 3_600_000 })
    const h = host(inputs(), clock)
    const running = deployApi(h)
    // Cancel once the deploy exists (the Render fake records the POST).
    while (!render.deploys.some(d => d.trigger === 'api')) await new Promise(r => setTimeout(r, 5))
    await new Promise(r => setTimeout(r, 20))
    await h.cancel('SIGINT')
    const outcome = await running
    expect(outcome.status).toBe('cancelled')
    const id = h.record.outputs['deploy-id']
    expect(id).toMatch(/^dep-/)
    expect(render.view(id)?.status).toBe('canceled')
    expect(github.issues).toHaveLength(0)
    expect(h.record.summary).toContain('cancelled')
  })
})
