import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { FakeGitHub } from '../src/fakes/github.js'
import { FakeRender } from '../src/fakes/render.js'
import { FakeVercel } from '../src/fakes/vercel.js'
import { runAction, type ActionRun } from './support/harness.js'

const SVC = 'srv-api1'
const HOUR = 3_600_000
const ROLLBACK = /^\/services\/[^/]+\/rollback$/

interface Candidate {
  id: string
  verdict: string
  reason: string
}
const candidatesOf = (run: ActionRun): Candidate[] =>
  JSON.parse(run.outputs.candidates) as Candidate[]

describe('rollback on Render (dist bundle through the runner harness)', () => {
  let render: FakeRender
  let github: FakeGitHub

  beforeEach(async () => {
    render = await FakeRender.start()
    github = await new FakeGitHub().start()
  })
  afterEach(async () => {
    await render.close()
    await github.stop()
  })

  /** good (served, replaced) < never-live < canceled < failed < bad (live now). */
  function history(o: { healthyNow?: boolean; legacy?: boolean } = {}): void {
    render.addService({ id: SVC, name: 'api', liveDeployId: null, legacy: o.legacy })
    const t = Date.now()
    render.addDeploy(SVC, { id: 'dep-good', at: t - 5 * HOUR })
    render.addDeploy(SVC, {
      id: 'dep-never',
      at: t - 4 * HOUR,
      script: { buildMs: 60_000, deactivateAfterMs: 1000 }
    })
    render.addDeploy(SVC, {
      id: 'dep-canceled',
      at: t - 3 * HOUR,
      script: { buildMs: 60_000, cancelAfterMs: 1000 }
    })
    render.addDeploy(SVC, { id: 'dep-failed', at: t - 2 * HOUR, script: { fail: 'build' } })
    render.addDeploy(SVC, {
      id: 'dep-bad',
      at: t - HOUR,
      script: { healthy: o.healthyNow ?? false }
    })
  }

  const rollback = (inputs: Record<string, string> = {}): Promise<ActionRun> =>
    runAction(
      'rollback',
      {
        platform: 'render',
        'render-api-key': render.apiKey,
        'service-id': SVC,
        'render-api-url': render.url,
        'rollback-timeout': '5s',
        'health-url': render.healthUrl(SVC),
        'health-interval': '100ms',
        'health-timeout': '1s',
        'health-request-timeout': '500ms',
        ...inputs
      },
      { token: github.token, env: { GITHUB_API_URL: github.url } }
    )

  const writes = (): string[] =>
    render.requests.filter(r => r.method !== 'GET').map(r => `${r.method} ${r.path}`)
  const githubWrites = (): string[] =>
    github.requests.filter(r => r.method !== 'GET').map(r => `${r.method} ${r.path}`)

  it('skips failed, canceled and never-live deploys, pauses auto-deploy, and comments on the open incidents', async () => {
    history()
    const smoke = github.seed({
      title: '[SEV1] production: smoke-health failed for the API host',
      body: `<!-- shipgate:incident smoke-health/production/${new URL(render.url).host} -->`,
      labels: [{ id: 1, name: 'incident' }]
    })
    const other = github.seed({
      title: '[SEV1] production: deploy-api failed for billing',
      body: '<!-- shipgate:incident deploy-api/production/billing -->',
      labels: [{ id: 1, name: 'incident' }]
    })
    const run = await rollback({ reason: 'checkout 500s after the deploy' })
    expect(run.errors).toEqual([])
    expect(run.code).toBe(0)
    expect(candidatesOf(run).map(c => [c.id, c.verdict])).toEqual([
      ['dep-bad', 'current'],
      ['dep-failed', 'skipped'],
      ['dep-canceled', 'skipped'],
      ['dep-never', 'skipped'],
      ['dep-good', 'chosen']
    ])
    expect(candidatesOf(run)[3].reason).toBe('deactivated before it ever went live')
    expect(render.calls('POST', ROLLBACK).map(r => r.body)).toEqual([{ deployId: 'dep-good' }])
    expect(render.calls('PATCH', /^\/services\/[^/]+$/).map(r => r.body)).toEqual([
      { autoDeployTrigger: 'off', autoDeploy: 'no' }
    ])
    expect(render.services.get(SVC)).toMatchObject({ autoDeploy: false, autoDeployTrigger: 'off' })
    const rb = render.deploys.find(d => d.trigger === 'rollback')!
    expect(render.view(rb.id)?.status).toBe('live')
    expect(run.outputs).toMatchObject({
      'rolled-back-from': 'dep-bad',
      'rolled-back-to': 'dep-good',
      healthy: 'true',
      'issue-number': String(smoke.number)
    })
    expect(run.outputs['duration-seconds']).toMatch(/^\d+$/)
    expect(Number(run.outputs['duration-seconds'])).toBeLessThanOrEqual(
      Math.ceil(run.durationMs / 1000)
    )
    expect(smoke.state).toBe('open')
    expect(smoke.comments.map(c => c.body).join('\n')).toMatch(
      /^Rolled back from `dep-bad` to `dep-good`, healthy after \S+\.\n\nReason: checkout 500s after the deploy/
    )
    expect(other.comments).toEqual([])
    expect(run.summary).toContain('deactivated before it ever went live')
    expect(run.summary).toContain('build_failed: it never went live')
    expect(run.summary).toContain('Reason: checkout 500s after the deploy')
    expect(run.summary).toContain('**Auto-deploy is now off**')
    expect(run.summary).toContain('{"autoDeployTrigger":"commit"}')
    expect(run.summary.trimEnd().split('\n').at(-1)).toMatch(
      /^✅ rolled back api from dep-bad to dep-good: healthy after/
    )
    expect(github.deployments).toHaveLength(1)
    expect(github.deployments[0].description).toBe(
      'Rollback of api from dep-bad to dep-good: checkout 500s after the deploy'
    )
    expect(github.deployments[0].statuses.map(s => s.state)).toEqual(['in_progress', 'success'])
  })

  it('comments on the incident a failed deploy-api run opened, and leaves it open', async () => {
    render.addService({ id: SVC, name: 'api', liveDeployId: 'dep-old' })
    render.nextDeploys.push({ healthy: false })
    const deploy = await runAction(
      'deploy-api',
      {
        'render-api-key': render.apiKey,
        'service-id': SVC,
        'render-api-url': render.url,
        'deploy-timeout': '3s',
        'rollback-on-failure': 'false',
        'health-url': render.healthUrl(SVC),
        'health-interval': '100ms',
        'health-timeout': '500ms',
        'health-request-timeout': '300ms'
      },
      { token: github.token, env: { GITHUB_API_URL: github.url } }
    )
    expect(deploy.code).toBe(1)
    const [incident] = github.openIssues()
    expect(incident.title).toMatch(/^\[SEV1\] production: deploy-api failed for api/)
    const bad = deploy.outputs['deploy-id']

    const run = await rollback()
    expect(run.code).toBe(0)
    expect(run.outputs).toMatchObject({ 'rolled-back-from': bad, 'rolled-back-to': 'dep-old' })
    expect(incident.state).toBe('open')
    expect(incident.comments.at(-1)?.body).toMatch(
      new RegExp(`^Rolled back from \`${bad}\` to \`dep-old\`, healthy after \\S+\\.`)
    )
    expect(incident.comments.at(-1)?.body).toContain('Left open for the post-mortem.')
    expect(run.outputs['issue-number']).toBe(String(incident.number))
  })

  it('honours an explicit `to` over the newest served deploy', async () => {
    history()
    render.addDeploy(SVC, { id: 'dep-mid', at: Date.now() - 1.5 * HOUR })
    const run = await rollback({ to: 'dep-good' })
    expect(run.code).toBe(0)
    expect(render.calls('POST', ROLLBACK).map(r => r.body)).toEqual([{ deployId: 'dep-good' }])
    expect(candidatesOf(run).map(c => [c.id, c.verdict, c.reason])).toEqual([
      ['dep-bad', 'current', 'live now: rolling back from it'],
      ['dep-good', 'chosen', 'given as `to`']
    ])
  })

  it.each([
    [
      'dep-nope',
      'is not a deploy of service api (srv-api1): it does not exist or belongs to another service'
    ],
    [
      'dep-elsewhere',
      'is not a deploy of service api (srv-api1): it does not exist or belongs to another service'
    ],
    ['dep-bad', 'is the live deploy of api already'],
    ['dep-failed', 'never served (build_failed: it never went live), so it is no rollback target'],
    [
      'dep-never',
      'never served (deactivated before it ever went live), so it is no rollback target'
    ]
  ])('refuses to: %s before any change', async (to, message) => {
    history()
    render.addService({ id: 'srv-other', liveDeployId: 'dep-elsewhere' })
    const run = await rollback({ to })
    expect(run.code).toBe(1)
    expect(run.errors).toEqual([`rollback: to: ${to} ${message}; nothing was changed`])
    expect(writes()).toEqual([])
    expect(githubWrites()).toEqual([])
    expect(run.outputs['rolled-back-to']).toBe('')
    expect(candidatesOf(run)[0]).toMatchObject({ id: 'dep-bad', verdict: 'current' })
  })

  it('warns that a deploy still in progress will replace the rollback', async () => {
    history()
    render.addDeploy(SVC, { id: 'dep-building', at: Date.now(), script: { buildMs: Infinity } })
    const run = await rollback()
    expect(run.code).toBe(0)
    expect(run.outputs['rolled-back-to']).toBe('dep-good')
    expect(run.stdout).toContain('::warning::Deploy dep-building (commit ')
    expect(run.summary).toMatch(/dep-building .*is build_in_progress and will replace the rollback/)
  })

  it('a dry run reports the target and the candidates and writes nothing', async () => {
    history()
    const run = await rollback({ 'dry-run': 'true' })
    expect(run.code).toBe(0)
    expect(writes()).toEqual([])
    expect(githubWrites()).toEqual([])
    expect(candidatesOf(run).find(c => c.verdict === 'chosen')?.id).toBe('dep-good')
    expect(run.outputs).toMatchObject({ 'rolled-back-from': '', 'rolled-back-to': '' })
    expect(run.summary).toContain('Would roll back from `dep-bad` to `dep-good`')
    expect(run.summary.trimEnd().split('\n').at(-1)).toBe(
      '🔍 dry run: would roll back api from dep-bad to dep-good; nothing was changed'
    )
  })

  it('leaves auto-deploy on with pause-autodeploy: false, and says so', async () => {
    history()
    const run = await rollback({ 'pause-autodeploy': 'false' })
    expect(run.code).toBe(0)
    expect(render.calls('PATCH', /.*/)).toEqual([])
    expect(render.services.get(SVC)?.autoDeploy).toBe(true)
    expect(run.summary).toContain('**Auto-deploy is still on** (`pause-autodeploy: false`)')
  })

  it('an older server (no autoDeployTrigger) is paused through autoDeploy: no', async () => {
    history({ legacy: true })
    const run = await rollback()
    expect(run.code).toBe(0)
    expect(render.services.get(SVC)?.autoDeploy).toBe(false)
  })

  it('a refused auto-deploy pause is a warning, not a failed rollback', async () => {
    history()
    render.fault({ method: 'PATCH', path: /^\/services\/[^/]+$/, status: 403, times: 1 })
    const run = await rollback()
    expect(run.code).toBe(0)
    expect(run.outputs.healthy).toBe('true')
    expect(run.stdout).toMatch(/::warning::Could not pause auto-deploy on api: .*403/)
    expect(run.summary).toContain('⚠️ Could not pause auto-deploy on api')
  })

  it('an unhealthy rollback opens a SEV1 incident with both deploy ids and the evidence', async () => {
    history()
    render.nextRollbacks.push({ healthy: false })
    const run = await rollback({ reason: 'bad migration' })
    expect(run.code).toBe(1)
    expect(run.outputs).toMatchObject({
      'rolled-back-from': 'dep-bad',
      'rolled-back-to': 'dep-good',
      healthy: 'false'
    })
    const [issue] = github.openIssues()
    expect(issue.title).toMatch(
      /^\[SEV1\] production: rollback failed for api: rollback from dep-bad to dep-good did not restore health/
    )
    expect(issue.labels.map(l => l.name).sort()).toEqual(['incident', 'sev1'])
    expect(issue.body).toContain('`dep-bad`')
    expect(issue.body).toContain('`dep-good`')
    expect(issue.body).toContain('returned 503')
    expect(issue.body).toContain('Reason for the rollback: bad migration')
    expect(run.outputs['issue-number']).toBe(String(issue.number))
    expect(github.deployments[0].statuses.map(s => s.state)).toEqual(['in_progress', 'failure'])
  })

  it('a rollback deploy that fails opens SEV1; a later healthy rollback closes that incident', async () => {
    history()
    render.nextRollbacks.push({ fail: 'update' })
    const failed = await rollback()
    expect(failed.code).toBe(1)
    const [issue] = github.openIssues()
    expect(issue.title).toMatch(
      /^\[SEV1\] production: rollback failed for api: rollback from dep-bad to dep-good failed/
    )
    expect(issue.body).toMatch(/rollback deploy dep-\S+ ended update_failed/)
    expect(failed.outputs.healthy).toBe('false')

    const again = await rollback({ to: 'dep-good' })
    expect(again.code).toBe(0)
    expect(issue.state).toBe('closed')
    expect(issue.comments.at(-1)?.body).toMatch(/^Resolved: healthy again after/)
  })

  it('a run cancelled during the rollback never cancels the rollback deploy, and says so', async () => {
    history()
    render.nextRollbacks.push({ buildMs: 4000 })
    const run = await runAction(
      'rollback',
      {
        platform: 'render',
        'render-api-key': render.apiKey,
        'service-id': SVC,
        'render-api-url': render.url,
        'rollback-timeout': '30s',
        'health-url': render.healthUrl(SVC)
      },
      {
        token: github.token,
        env: { GITHUB_API_URL: github.url },
        onStart: signal => {
          const timer = setInterval(() => {
            if (render.calls('POST', ROLLBACK).length === 0) return
            clearInterval(timer)
            setTimeout(() => signal('SIGINT'), 300)
          }, 10)
        }
      }
    )
    expect(run.code).toBe(1)
    expect(writes()).toEqual([`PATCH /v1/services/${SVC}`, `POST /v1/services/${SVC}/rollback`])
    expect(run.outputs['rolled-back-to']).toBe('dep-good')
    expect(run.summary).toContain('⏹️ cancelled')
    expect(run.summary).toContain('never cancelled')
  })

  it('a service with one deploy has nothing to roll back to, and nothing changes', async () => {
    render.addService({ id: SVC, name: 'api', liveDeployId: 'dep-only' })
    const run = await rollback()
    expect(run.code).toBe(1)
    expect(run.errors[0]).toBe(
      'rollback: service api (srv-api1) has nothing to roll back to: no deploy older than the live one (dep-only) ever served; nothing was changed'
    )
    expect(writes()).toEqual([])
    expect(githubWrites()).toEqual([])
    expect(candidatesOf(run)).toEqual([
      expect.objectContaining({ id: 'dep-only', verdict: 'current' })
    ])
  })

  it("refuses the other platform's inputs, and wants its own", async () => {
    history()
    const mixed = await rollback({ 'vercel-token': 'vercel_tok_123' })
    expect(mixed.errors).toEqual([
      "rollback: Input 'vercel-token' is for platform: vercel; remove it (platform is render)"
    ])
    const missing = await rollback({ 'service-id': '' })
    expect(missing.errors).toEqual([
      "rollback: Input 'service-id' is required for platform: render"
    ])
    expect(render.requests).toEqual([])
  })

  it('no secret reaches an output, the summary, the log or a request sent to GitHub', async () => {
    history()
    const headerSecret = 'hdr-s3cret-value-42'
    const run = await rollback({
      reason: `pasted by mistake: ${render.apiKey}`,
      'health-headers': `X-Health-Key: ${headerSecret}`
    })
    expect(run.code).toBe(0)
    const secrets = [render.apiKey, github.token, headerSecret]
    const log = run.stdout
      .split('\n')
      .filter(l => !l.startsWith('::add-mask::'))
      .join('\n')
    const sentToGitHub = github.requests
      .map(r => `${r.path}?${r.query} ${r.body} ${String(r.headers['user-agent'])}`)
      .join('\n')
    for (const s of secrets) {
      expect(log).not.toContain(s)
      expect(run.stderr).not.toContain(s)
      expect(run.summary).not.toContain(s)
      expect(JSON.stringify(run.outputs)).not.toContain(s)
      expect(sentToGitHub).not.toContain(s)
    }
    expect(github.deployments[0].description).toContain('pasted by mistake: ***')
    expect(run.stdout).toContain(`::add-mask::${render.apiKey}`)
  })
})

describe('rollback on Vercel (dist bundle through the runner harness)', () => {
  let vercel: FakeVercel
  let github: FakeGitHub
  const PRJ = 'prj_web1'
  const TEAM = 'team_shipgate'

  beforeEach(async () => {
    vercel = await FakeVercel.start()
    github = await new FakeGitHub().start()
  })
  afterEach(async () => {
    await vercel.close()
    await github.stop()
  })

  /** served-old < staged (never promoted) < errored < served-prev < current (unhealthy). */
  function history(plan: 'hobby' | 'pro' = 'pro'): void {
    vercel.addProject({ id: PRJ, name: 'web', productionId: 'dpl_current', healthy: false, plan })
    const t = Date.now()
    vercel.addPast(PRJ, { id: 'dpl_old', at: t - 6 * HOUR, served: true })
    vercel.addPast(PRJ, { id: 'dpl_prev', at: t - 5 * HOUR, served: true })
    vercel.addPast(PRJ, {
      id: 'dpl_error',
      at: t - 4 * HOUR,
      script: { error: { code: 'BUILD_FAILED', message: 'build failed' } }
    })
    vercel.addPast(PRJ, { id: 'dpl_staged', at: t - 3 * HOUR })
  }

  const rollback = (inputs: Record<string, string> = {}): Promise<ActionRun> =>
    runAction(
      'rollback',
      {
        platform: 'vercel',
        'vercel-token': vercel.token,
        'project-id': PRJ,
        'team-id': TEAM,
        'vercel-api-url': vercel.url,
        'production-url': vercel.productionUrl(PRJ),
        'health-paths': '/, /api/health',
        'rollback-timeout': '5s',
        'health-interval': '100ms',
        'health-timeout': '1s',
        'health-request-timeout': '500ms',
        ...inputs
      },
      { token: github.token, env: { GITHUB_API_URL: github.url } }
    )

  it('chooses the previous promoted production deployment, verifies it, and explains auto-assign', async () => {
    history()
    const incident = github.seed({
      title: '[SEV1] production: deploy-web failed for web: production unhealthy',
      body: '<!-- shipgate:incident deploy-web/production/web -->',
      labels: [{ id: 1, name: 'incident' }]
    })
    const run = await rollback({ reason: 'blank page' })
    expect(run.errors).toEqual([])
    expect(run.code).toBe(0)
    expect(candidatesOf(run).map(c => [c.id, c.verdict])).toEqual([
      ['dpl_current', 'current'],
      ['dpl_staged', 'skipped'],
      ['dpl_error', 'skipped'],
      ['dpl_prev', 'chosen']
    ])
    expect(candidatesOf(run)[1].reason).toMatch(/^staged, never promoted/)
    const posts = vercel.calls('POST', /\/rollback\//)
    expect(posts.map(r => r.path)).toEqual([`/v1/projects/${PRJ}/rollback/dpl_prev`])
    expect(posts[0].query.get('description')).toBe('blank page')
    expect(posts[0].query.get('teamId')).toBe(TEAM)
    expect(vercel.production(PRJ)).toBe('dpl_prev')
    expect(run.outputs).toMatchObject({
      'rolled-back-from': 'dpl_current',
      'rolled-back-to': 'dpl_prev',
      healthy: 'true',
      'issue-number': String(incident.number)
    })
    expect(incident.state).toBe('open')
    expect(incident.comments.at(-1)?.body).toMatch(
      /^Rolled back from `dpl_current` to `dpl_prev`, healthy after \S+\.\n\nReason: blank page/
    )
    expect(run.summary).toContain('automatic production domain assignment off')
    expect(run.summary).toContain(`vercel promote <deployment-url> --scope ${TEAM}`)
    expect(run.summary).toContain('/_prod/web/api/health')
    expect(github.deployments[0].statuses.map(s => s.state)).toEqual(['in_progress', 'success'])
  })

  it('explains a 402 plan refusal, quoting Vercel', async () => {
    history('hobby')
    const run = await rollback({ to: 'dpl_old' })
    expect(run.code).toBe(1)
    expect(vercel.production(PRJ)).toBe('dpl_current')
    const error = run.errors.join('\n')
    expect(error).toContain(
      'Vercel says "To roll back further than the previous production deployment, upgrade to pro"'
    )
    expect(error).toContain(
      'Hobby rolls back only to the immediately previous production deployment'
    )
    const [issue] = github.openIssues()
    expect(issue.title).toMatch(/^\[SEV1\] production: rollback failed for web/)
    expect(issue.body).toContain('(402)')
  })

  it('refuses a `to` that never served production, before any change', async () => {
    history()
    const run = await rollback({ to: 'dpl_staged' })
    expect(run.code).toBe(1)
    expect(run.errors[0]).toMatch(
      /^rollback: to: dpl_staged is no rollback target \(staged, never promoted/
    )
    expect(vercel.requests.filter(r => r.method !== 'GET')).toEqual([])
    expect(github.requests.filter(r => r.method !== 'GET')).toEqual([])
  })

  it('falls back to the CLI rollback path on a 404, and no token leaks', async () => {
    history()
    vercel.v1RollbackMissing = true
    const run = await rollback()
    expect(run.code).toBe(0)
    expect(vercel.calls('POST', /\/rollback\//).map(r => `${r.path} ${r.status}`)).toEqual([
      `/v1/projects/${PRJ}/rollback/dpl_prev 404`,
      `/v9/projects/${PRJ}/rollback/dpl_prev 201`
    ])
    expect(vercel.production(PRJ)).toBe('dpl_prev')
    const log = run.stdout
      .split('\n')
      .filter(l => !l.startsWith('::add-mask::'))
      .join('\n')
    const sent = github.requests.map(r => `${r.path}?${r.query} ${r.body}`).join('\n')
    for (const secret of [vercel.token, github.token])
      for (const text of [log, run.stderr, run.summary, JSON.stringify(run.outputs), sent])
        expect(text).not.toContain(secret)
  })

  it('takes `to` as a deployment URL too, and refuses the current one named by its URL', async () => {
    history()
    const host = (id: string): string => vercel.deployments.find(d => d.id === id)!.url
    const current = await rollback({ to: `https://${host('dpl_current')}` })
    expect(current.code).toBe(1)
    expect(current.errors[0]).toMatch(/is the current production deployment of web already/)
    expect(vercel.requests.filter(r => r.method !== 'GET')).toEqual([])
    const run = await rollback({ to: host('dpl_old') })
    expect(run.errors).toEqual([])
    expect(run.code).toBe(0)
    expect(vercel.calls('POST', /\/rollback\//).map(r => r.path)).toEqual([
      `/v1/projects/${PRJ}/rollback/dpl_old`
    ])
    expect(run.outputs).toMatchObject({ 'rolled-back-to': 'dpl_old', healthy: 'true' })
  })

  it('takes team-id as a team slug too, sent as slug', async () => {
    history()
    const run = await rollback({ 'team-id': 'shipgate' })
    expect(run.errors).toEqual([])
    expect(run.code).toBe(0)
    expect(vercel.production(PRJ)).toBe('dpl_prev')
    const api = vercel.apiCalls()
    expect(api.every(r => r.query.get('slug') === 'shipgate' && !r.query.has('teamId'))).toBe(true)
  })

  it('takes health-max-connections as deploy-api does, validated', async () => {
    history()
    const run = await rollback({ 'health-max-connections': '0', 'dry-run': 'true' })
    expect(run.code).toBe(1)
    expect(run.errors[0]).toMatch(
      /^rollback: Input 'health-max-connections' has an invalid value "0"/
    )
    expect(vercel.requests).toEqual([])
  })

  it('refuses a `to` of another project, before any change', async () => {
    history()
    vercel.addProject({ id: 'prj_admin', name: 'admin', productionId: 'dpl_admin' })
    const run = await rollback({ to: 'dpl_admin' })
    expect(run.code).toBe(1)
    expect(run.errors[0]).toBe(
      `rollback: to: dpl_admin belongs to another project (prj_admin), not web (${PRJ}); nothing was changed`
    )
    expect(vercel.requests.filter(r => r.method !== 'GET')).toEqual([])
  })

  it('a project with one production deployment has nothing to roll back to', async () => {
    vercel.addProject({ id: PRJ, name: 'web', productionId: 'dpl_only' })
    vercel.addPast(PRJ, { id: 'dpl_staged', at: Date.now() - 2 * HOUR })
    const run = await rollback()
    expect(run.code).toBe(1)
    expect(run.errors[0]).toBe(
      `rollback: project web (${PRJ}) has nothing to roll back to: no READY production deployment older than the current one (dpl_only) was ever promoted; nothing was changed`
    )
    expect(candidatesOf(run).map(c => [c.id, c.verdict])).toEqual([
      ['dpl_only', 'current'],
      ['dpl_staged', 'skipped']
    ])
    expect(vercel.requests.filter(r => r.method !== 'GET')).toEqual([])
  })

  it('a run cancelled while it resolves the target starts no rollback', async () => {
    history()
    vercel.listAnswerDelayMs = 300
    let sent = false
    const run = await runAction(
      'rollback',
      {
        platform: 'vercel',
        'vercel-token': vercel.token,
        'project-id': PRJ,
        'team-id': TEAM,
        'vercel-api-url': vercel.url,
        'production-url': vercel.productionUrl(PRJ)
      },
      {
        token: github.token,
        env: { GITHUB_API_URL: github.url },
        // SIGINT at the list of deployments; resolving ends within the cancel's grace.
        onStart: signal => {
          const timer = setInterval(() => {
            if (vercel.calls('GET', /^\/v6\/deployments$/).length === 0) return
            clearInterval(timer)
            sent = true
            signal('SIGINT')
          }, 5)
        }
      }
    )
    expect(sent).toBe(true)
    expect(run.code).toBe(1)
    await new Promise(r => setTimeout(r, 500))
    expect(vercel.requests.filter(r => r.method !== 'GET')).toEqual([])
    expect(github.requests.filter(r => r.method !== 'GET')).toEqual([])
    expect(vercel.production(PRJ)).toBe('dpl_current')
    expect(run.outputs['rolled-back-to']).toBe('')
  })

  it('a dry run on Vercel changes nothing', async () => {
    history()
    const run = await rollback({ 'dry-run': 'true' })
    expect(run.code).toBe(0)
    expect(vercel.requests.filter(r => r.method !== 'GET')).toEqual([])
    expect(vercel.production(PRJ)).toBe('dpl_current')
    expect(candidatesOf(run).find(c => c.verdict === 'chosen')?.id).toBe('dpl_prev')
  })
})
