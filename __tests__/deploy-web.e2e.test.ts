import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { FakeGitHub } from '../src/fakes/github.js'
import { FakeVercel } from '../src/fakes/vercel.js'
import { runAction, type ActionRun } from './support/harness.js'

const PRJ = 'prj_web1'
const TEAM = 'team_shipgate'
const OLD = 'dpl_oldweb'
const SHA = '0123456789abcdef0123456789abcdef01234567' // the harness's GITHUB_SHA
const CREATE = /^\/v13\/deployments$/
const ONE = /^\/v13\/deployments\/[^/]+$/
const PROMOTE = /^\/v10\/projects\/[^/]+\/promote\//
const ROLLBACK = /^\/v(1|9)\/projects\/[^/]+\/rollback\//

describe('deploy-web (dist bundle through the runner harness)', () => {
  let vercel: FakeVercel
  let github: FakeGitHub

  beforeEach(async () => {
    vercel = await FakeVercel.start()
    vercel.addProject({ id: PRJ, name: 'web', productionId: OLD })
    github = await new FakeGitHub().start()
  })
  afterEach(async () => {
    await vercel.close()
    await github.stop()
  })

  const deploy = (
    inputs: Record<string, string> = {},
    cancelAfterMs?: number
  ): Promise<ActionRun> =>
    runAction(
      'deploy-web',
      {
        'vercel-token': vercel.token,
        'project-id': PRJ,
        'team-id': TEAM,
        'vercel-api-url': vercel.url,
        'deployment-url-template': vercel.deploymentUrlTemplate,
        'production-url': vercel.productionUrl(PRJ),
        'health-paths': '/, /api/health',
        'deploy-timeout': '5s',
        'health-interval': '100ms',
        'health-timeout': '1s',
        'health-request-timeout': '500ms',
        ...inputs
      },
      { token: github.token, env: { GITHUB_API_URL: github.url }, cancelAfterMs }
    )

  const creates = (): number => vercel.calls('POST', CREATE).length
  const statesOf = (): unknown[] => github.deployments[0]?.statuses.map(s => s.state) ?? []
  const appHits = (prefix: string): number =>
    vercel.requests.filter(r => r.path.startsWith(prefix)).length

  it('creates a staged deployment, gates its own URL, promotes it, verifies production', async () => {
    const incident = github.seed({
      title: '[SEV3] production: deploy-web failed for web: old',
      body: '<!-- shipgate:incident deploy-web/production/web -->',
      labels: [{ id: 1, name: 'incident' }]
    })
    // Earlier records in the same environment: this app's last success, another app's.
    const record = (id: number, task: string, state: string) => ({
      id,
      ref: 'c0ffee',
      environment: 'production',
      description: 'earlier',
      statuses: [{ id: id + 1, state }],
      payload: { task }
    })
    github.deployments.push(
      record(9001, 'deploy:web', 'success'),
      record(9003, 'deploy:admin', 'success'),
      record(9005, 'deploy:web', 'failure')
    )
    vercel.nextDeployments.push({ queuedMs: 100, buildMs: 600 })
    const run = await deploy()
    expect(run.errors).toEqual([])
    expect(run.code).toBe(0)
    const [d] = vercel.created()
    expect(run.outputs).toMatchObject({
      'deployment-id': d.id,
      'deployment-url': `https://${d.url}`,
      'inspector-url': `https://vercel.com/shipgate/web/${d.id.slice(4)}`,
      'previous-deployment-id': OLD,
      healthy: 'true',
      promoted: 'true',
      'rolled-back': 'false',
      'issue-number': String(incident.number)
    })
    expect(run.outputs['duration-seconds']).toMatch(/^\d+$/)
    expect(Number(run.outputs['duration-seconds'])).toBeLessThanOrEqual(
      Math.ceil(run.durationMs / 1000)
    )
    const [post] = vercel.calls('POST', CREATE)
    expect(post.query.get('teamId')).toBe(TEAM)
    expect(post.body).toMatchObject({
      name: 'web',
      project: PRJ,
      target: 'production',
      autoAssignCustomDomains: false,
      gitSource: {
        type: 'github',
        repoId: vercel.projects.get(PRJ)!.repoId,
        ref: 'main',
        sha: SHA
      },
      meta: {
        shipgateCommit: SHA,
        shipgateRunUrl: 'https://github.com/acme/shop/actions/runs/4242',
        shipgateApp: 'web'
      }
    })
    // Every API call carries the team.
    expect(vercel.apiCalls().every(r => r.query.get('teamId') === TEAM)).toBe(true)
    // The staged gate ran on the deployment's own URL before the promote; production after it.
    const promoteAt = vercel.requests.findIndex(r => PROMOTE.test(r.path))
    const own = vercel.requests.map((r, i) => [r.path, i] as const)
    expect(own.filter(([p]) => p.startsWith(`/${d.id}/api/health`)).length).toBe(3)
    expect(own.filter(([p]) => p.startsWith(`/${d.id}/`)).every(([, i]) => i < promoteAt)).toBe(
      true
    )
    expect(own.filter(([p]) => p.startsWith('/_prod/web/')).every(([, i]) => i > promoteAt)).toBe(
      true
    )
    expect(appHits('/_prod/web/api/health')).toBe(3)
    expect(vercel.production(PRJ)).toBe(d.id)
    expect(incident.state).toBe('closed')
    const ours = github.deployments.filter(x => x.ref === SHA)
    expect(ours).toHaveLength(1)
    expect(ours[0]).toMatchObject({ environment: 'production', payload: { task: 'deploy:web' } })
    expect(ours[0].statuses.map(x => x.state)).toEqual(['in_progress', 'success'])
    expect(ours[0].statuses[1]).toMatchObject({ environment_url: vercel.productionUrl(PRJ) })
    // GitHub does not retire production records: the superseded one of this app is marked inactive.
    const states = (id: number) =>
      github.deployments.find(x => x.id === id)!.statuses.map(x => x.state)
    expect(states(9001)).toEqual(['success', 'inactive'])
    expect(states(9003)).toEqual(['success'])
    expect(states(9005)).toEqual(['failure'])
    expect(run.stdout).toContain(`::add-mask::${vercel.token}`)
    expect(run.stdout.split(`::add-mask::${vercel.token}`).join('')).not.toContain(vercel.token)
    expect(run.stdout).toMatch(/: BUILDING after/)
    expect(run.summary).toContain(`[${d.id}](https://vercel.com/shipgate/web/`)
    expect(run.summary).toContain('Health gate on deployment')
    expect(run.summary).toContain('Health gate on production')
    expect(run.summary).toMatch(/### Promotion[\s\S]*Promotion time[\s\S]*started \(201\)/)
    expect(run.summary.trim().split('\n').at(-1)).toMatch(/^✅ deployment dpl_\S+ of web promoted/)
  })

  it('a build error fails with Vercel errorCode and message; production is unchanged (SEV3)', async () => {
    vercel.nextDeployments.push({
      buildMs: 300,
      error: { code: 'BUILD_FAILED', message: 'Command "npm run build" exited with 1' }
    })
    const run = await deploy()
    expect(run.code).toBe(1)
    expect(run.errors.join('\n')).toContain(
      'failed to build (BUILD_FAILED: Command "npm run build" exited with 1); production is unchanged (still dpl_oldweb)'
    )
    expect(run.outputs).toMatchObject({
      healthy: 'false',
      promoted: 'false',
      'rolled-back': 'false'
    })
    expect(run.outputs['deployment-id']).toBe(vercel.created()[0].id)
    expect(vercel.calls('POST', PROMOTE)).toHaveLength(0)
    expect(vercel.production(PRJ)).toBe(OLD)
    expect(statesOf()).toEqual(['in_progress', 'failure'])
    const [issue] = github.openIssues()
    expect(issue.title).toMatch(
      /^\[SEV3\] production: deploy-web failed for web: deployment dpl_\S+ failed to build/
    )
    expect(issue.body).toContain('<!-- shipgate:incident deploy-web/production/web -->')
    expect(issue.body).toContain('Web deployment failed before promotion')
    expect(run.outputs['issue-number']).toBe(String(issue.number))
  })

  it('a staged deployment that fails its gate is never promoted; production untouched (SEV3)', async () => {
    vercel.nextDeployments.push({ healthy: false })
    const run = await deploy({ app: 'customer-web', environment: 'production' })
    expect(run.code).toBe(1)
    const [d] = vercel.created()
    expect(vercel.stateOf(d.id)).toBe('READY')
    expect(vercel.calls('POST', PROMOTE)).toHaveLength(0)
    expect(vercel.production(PRJ)).toBe(OLD)
    expect(appHits('/_prod/')).toBe(0)
    expect(run.outputs).toMatchObject({ healthy: 'false', promoted: 'false' })
    expect(run.errors.join('\n')).toMatch(
      /failed its health gate before promotion .*returned 503.*never promoted and production is unchanged \(still dpl_oldweb\)/
    )
    const [issue] = github.openIssues()
    expect(issue.title).toMatch(
      /^\[SEV3\] production: deploy-web failed for customer-web: staged deployment/
    )
    expect(issue.body).toContain('deploy-web/production/customer-web')
    expect(statesOf()).toEqual(['in_progress', 'failure'])
  })

  it('production unhealthy after the promote: rolled back (v1), SEV2, auto-assignment warning', async () => {
    vercel.nextDeployments.push({ healthyInProduction: false })
    const run = await deploy()
    expect(run.code).toBe(1)
    const [d] = vercel.created()
    expect(vercel.calls('POST', PROMOTE)).toHaveLength(1)
    const rollbacks = vercel.calls('POST', ROLLBACK)
    expect(rollbacks.map(r => r.path)).toEqual([`/v1/projects/${PRJ}/rollback/${OLD}`])
    expect(vercel.production(PRJ)).toBe(OLD)
    expect(vercel.projects.get(PRJ)!.autoAssignCustomDomains).toBe(false)
    expect(run.outputs).toMatchObject({
      'deployment-id': d.id,
      'previous-deployment-id': OLD,
      healthy: 'false',
      promoted: 'true',
      'rolled-back': 'true'
    })
    const [issue] = github.openIssues()
    expect(issue.title).toMatch(
      /^\[SEV2\] production: deploy-web failed for web: deployment dpl_\S+ unhealthy in production, rolled back to dpl_oldweb, healthy again/
    )
    expect(issue.body).toContain(d.id)
    expect(issue.body).toContain(OLD)
    expect(issue.body).toContain(`Staged deployment \`${d.id}\` (passed)`)
    expect(issue.body).toContain(`Production after rolling back to \`${OLD}\``)
    expect(issue.body).toContain('returned 503')
    expect(issue.body).toContain('automatic production domain assignment off')
    expect(run.summary).toContain('Automatic production domain assignment is off')
    expect(run.summary).toContain('vercel promote')
    expect(run.stdout).toMatch(
      /::warning::Vercel turned automatic production domain assignment off/
    )
    expect(statesOf()).toEqual(['in_progress', 'failure'])
  })

  it('falls back to the CLI rollback path (v9) when v1 answers 404', async () => {
    vercel.v1RollbackMissing = true
    vercel.nextDeployments.push({ healthyInProduction: false })
    const run = await deploy()
    expect(run.code).toBe(1)
    expect(vercel.calls('POST', ROLLBACK).map(r => [r.path, r.status])).toEqual([
      [`/v1/projects/${PRJ}/rollback/${OLD}`, 404],
      [`/v9/projects/${PRJ}/rollback/${OLD}`, 201]
    ])
    expect(vercel.calls('POST', /\/v9\/.*rollback/)[0].body).toEqual({})
    expect(run.outputs['rolled-back']).toBe('true')
  })

  it('with rollback-on-failure off, production stays on the bad deployment (the gate decides: SEV1)', async () => {
    vercel.nextDeployments.push({ healthyInProduction: false })
    const run = await deploy({ 'rollback-on-failure': 'false' })
    expect(run.code).toBe(1)
    expect(vercel.calls('POST', ROLLBACK)).toHaveLength(0)
    expect(vercel.production(PRJ)).toBe(vercel.created()[0].id)
    expect(github.openIssues()[0].title).toMatch(/^\[SEV1\] .*not rolled back/)
  })

  it.each([
    [409, 'already current (409)'],
    [202, 'queued behind a rolling release (202)']
  ] as const)(
    'a promote answered %i counts as started and is followed to the end',
    async (status, how) => {
      vercel.nextPromotes.push({ status, aliasMs: 400 })
      const run = await deploy()
      expect(run.errors).toEqual([])
      expect(run.code).toBe(0)
      expect(vercel.calls('POST', PROMOTE).map(r => r.status)).toEqual([status])
      expect(vercel.production(PRJ)).toBe(vercel.created()[0].id)
      expect(run.outputs.promoted).toBe('true')
      expect(run.summary).toContain(how)
    }
  )

  it('a promote Vercel refuses (409 for another job) opens SEV3: production unchanged', async () => {
    vercel.fault({ method: 'POST', path: PROMOTE, status: 409, times: 1 })
    const run = await deploy()
    expect(run.code).toBe(1)
    const [d] = vercel.created()
    expect(vercel.production(PRJ)).toBe(OLD)
    expect(run.errors.at(-1)).toMatch(
      new RegExp(
        `^deploy-web: deployment ${d.id} passed its gate but was not promoted: Vercel refused to promote .*production is unchanged \\(still ${OLD}\\)$`
      )
    )
    const [issue] = github.openIssues()
    expect(issue.title).toMatch(
      /^\[SEV3\] production: deploy-web failed for web: the promote of dpl_/
    )
    expect(statesOf()).toEqual(['in_progress', 'failure'])
    expect(run.outputs).toMatchObject({
      promoted: 'false',
      healthy: 'false',
      'issue-number': String(issue.number)
    })
  })

  it('sends x-vercel-protection-bypass to the deployment only, and never shows it', async () => {
    const secret = 'bypass-Secret-0123456789abcdef'
    vercel.addProject({
      id: 'prj_prot',
      name: 'admin',
      productionId: 'dpl_oldadmin',
      protectionBypass: secret
    })
    const run = await deploy({
      'project-id': 'prj_prot',
      'production-url': vercel.productionUrl('prj_prot'),
      'protection-bypass': secret
    })
    expect(run.errors).toEqual([])
    expect(run.code).toBe(0)
    const [d] = vercel.created()
    const staged = vercel.requests.filter(r => r.path.startsWith(`/${d.id}/`))
    expect(staged.length).toBeGreaterThan(0)
    expect(staged.every(r => r.headers['x-vercel-protection-bypass'] === secret)).toBe(true)
    const prod = vercel.requests.filter(r => r.path.startsWith('/_prod/'))
    expect(prod.length).toBeGreaterThan(0)
    expect(prod.some(r => r.headers['x-vercel-protection-bypass'] !== undefined)).toBe(false)
    expect(run.stdout).toContain(`::add-mask::${secret}`)
    const shown = [
      run.stdout.split(`::add-mask::${secret}`).join(''),
      run.stderr,
      run.summary,
      JSON.stringify(run.outputs),
      JSON.stringify(github.requests.map(r => r.body))
    ].join('\n')
    expect(shown).not.toContain(secret)

    // Without the secret the protected deployment answers 401: the gate fails, nothing is promoted.
    const without = await deploy({
      'project-id': 'prj_prot',
      'production-url': vercel.productionUrl('prj_prot')
    })
    expect(without.code).toBe(1)
    expect(without.errors.join('\n')).toContain('returned 401')
    expect(vercel.calls('POST', PROMOTE)).toHaveLength(1)
  })

  it('survives a 429 storm (Retry-After, and error.limit.reset alone) with exactly one create', async () => {
    vercel.nextDeployments.push({ queuedMs: 100, buildMs: 500 })
    vercel.fault({
      method: 'GET',
      path: /^\/v9\/projects\//,
      status: 429,
      retryAfter: 0.05,
      times: 2
    })
    vercel.fault({ method: 'POST', path: CREATE, status: 429, retryAfter: 0.1, times: 1 })
    vercel.fault({
      method: 'POST',
      path: CREATE,
      status: 429,
      retryAfter: 1,
      noRetryAfter: true,
      times: 1
    })
    vercel.fault({ method: 'GET', path: ONE, status: 429, retryAfter: 0.05, times: 10 })
    vercel.fault({ method: 'POST', path: PROMOTE, status: 429, retryAfter: 0.05, times: 1 })
    const run = await deploy()
    expect(run.errors).toEqual([])
    expect(run.code).toBe(0)
    expect(vercel.calls('POST', CREATE).map(r => r.status)).toEqual([429, 429, 200])
    expect(vercel.created()).toHaveLength(1)
    expect(vercel.calls('GET', ONE).filter(r => r.status === 429)).toHaveLength(10)
    expect(vercel.calls('POST', PROMOTE).map(r => r.status)).toEqual([429, 201])
    expect(run.summary).toMatch(/answered 429/)
  })

  it('5xx and resets on reads are retried; the create is never re-sent', async () => {
    vercel.fault({ method: 'GET', path: ONE, reset: true, times: 2 })
    vercel.fault({ method: 'GET', path: ONE, status: 502, times: 2 })
    const ok = await deploy()
    expect(ok.code).toBe(0)

    vercel.fault({ method: 'POST', path: CREATE, status: 500, times: 3 })
    const failed = await runAction(
      'deploy-web',
      {
        'vercel-token': vercel.token,
        'project-id': PRJ,
        'team-id': TEAM,
        'vercel-api-url': vercel.url,
        'production-url': vercel.productionUrl(PRJ)
      },
      { token: github.token, env: { GITHUB_API_URL: github.url } }
    )
    expect(failed.code).toBe(1)
    expect(vercel.calls('POST', CREATE).map(r => r.status)).toEqual([200, 500])
    expect(failed.errors.join('\n')).toMatch(
      /the Vercel API failed \(500\).*no deployment with this run's meta appeared/
    )
    expect(failed.outputs['deployment-id']).toBe('')
  }, 90_000)

  it.each([
    ['an unparseable answer', { body: '<html>upstream</html>' }],
    ['an answer without an id', { body: '{"url":"x.vercel.app","readyState":"QUEUED"}' }],
    ['a gateway 502', { status: 502 }],
    ['a reset', { reset: true }]
  ])(
    'after %s to the create, the deployment is found by its meta: one create',
    async (_, fault) => {
      vercel.fault({ method: 'POST', path: CREATE, afterProcessing: true, times: 1, ...fault })
      const run = await deploy()
      expect(run.errors).toEqual([])
      expect(run.code).toBe(0)
      expect(creates()).toBe(1)
      const [d] = vercel.created()
      expect(run.outputs['deployment-id']).toBe(d.id)
      const lookup = vercel.calls('GET', /^\/v6\/deployments$/)[0]
      expect(lookup.query.get('meta-shipgateRun')).toBe(d.meta.shipgateRun)
      expect(run.stdout).toContain('Looking for the deployment it may have created')
    }
  )

  it('a wrong token, a project outside the team, or a team the token lacks fail before any create', async () => {
    vercel.addProject({ id: 'prj_other', name: 'other', teamId: 'team_other' })
    const badToken = await deploy({ 'vercel-token': 'vercel_wrong_token_xyz' })
    expect(badToken.code).toBe(1)
    expect(badToken.errors.join()).toContain(
      'the Vercel token was refused for project prj_web1 in team team_shipgate (403): Vercel says "Not authorized": check vercel-token and team-id'
    )
    const outside = await deploy({ 'project-id': 'prj_other' })
    expect(outside.errors.join()).toContain(
      'project prj_other was not found in team team_shipgate (404): Vercel says "Project not found"'
    )
    const noTeam = await deploy({ 'team-id': 'team_nope' })
    expect(noTeam.errors.join()).toContain(
      '(403): Vercel says "You do not have access to this team"'
    )
    expect(creates()).toBe(0)
    expect(github.deployments).toHaveLength(0)
    for (const r of [badToken, outside, noTeam])
      expect(Object.keys(r.outputs).sort()).toEqual(
        [
          'deployment-id',
          'deployment-url',
          'duration-seconds',
          'healthy',
          'inspector-url',
          'issue-number',
          'issue-url',
          'previous-deployment-id',
          'promoted',
          'rolled-back'
        ].sort()
      )
  })

  it('cancels a deployment it created that outlives deploy-timeout', async () => {
    vercel.nextDeployments.push({ buildMs: Infinity })
    const run = await deploy({ 'deploy-timeout': '1s' })
    expect(run.code).toBe(1)
    const [d] = vercel.created()
    expect(vercel.calls('PATCH', /\/v12\/deployments\/[^/]+\/cancel$/)).toHaveLength(1)
    expect(vercel.stateOf(d.id)).toBe('CANCELED')
    expect(run.errors.join('\n')).toMatch(
      /still BUILDING after deploy-timeout \(1s\); it was cancelled/
    )
  })

  it('a cancelled run cancels the deployment it created that still builds, and opens no incident', async () => {
    vercel.nextDeployments.push({ buildMs: Infinity })
    const run = await deploy({ 'deploy-timeout': '30s' }, 3000)
    expect(run.code).toBe(1)
    const [d] = vercel.created()
    expect(run.outputs['deployment-id']).toBe(d.id)
    expect(vercel.stateOf(d.id)).toBe('CANCELED')
    expect(github.issues).toHaveLength(0)
    expect(run.summary).toContain('⏹️ cancelled')
  })

  it('a run cancelled while Vercel still answers the create cancels the deployment once it is known', async () => {
    vercel.nextDeployments.push({ buildMs: Infinity })
    vercel.createAnswerDelayMs = 1500
    let created = false
    const run = await runAction(
      'deploy-web',
      {
        'vercel-token': vercel.token,
        'project-id': PRJ,
        'team-id': TEAM,
        'vercel-api-url': vercel.url,
        'deployment-url-template': vercel.deploymentUrlTemplate,
        'deploy-timeout': '30s'
      },
      {
        token: github.token,
        env: { GITHUB_API_URL: github.url },
        // SIGINT once the deployment exists and its answer is still on the way.
        onStart: signal => {
          const timer = setInterval(() => {
            if (created || vercel.created().length === 0) return
            created = true
            clearInterval(timer)
            signal('SIGINT')
          }, 10)
        }
      }
    )
    expect(created).toBe(true)
    expect(run.code).toBe(1)
    const [d] = vercel.created()
    expect(vercel.stateOf(d.id)).toBe('CANCELED')
    expect(vercel.calls('PATCH', /\/cancel$/)).toHaveLength(1)
    expect(run.outputs['deployment-id']).toBe(d.id)
    expect(github.issues).toHaveLength(0)
    expect(run.summary).toContain('⏹️ cancelled')
  })

  it('a run cancelled while the staged gate runs promotes nothing, even when the gate passes just after', async () => {
    let sent = false
    const run = await runAction(
      'deploy-web',
      {
        'vercel-token': vercel.token,
        'project-id': PRJ,
        'team-id': TEAM,
        'vercel-api-url': vercel.url,
        'deployment-url-template': vercel.deploymentUrlTemplate,
        'production-url': vercel.productionUrl(PRJ),
        'health-interval': '100ms',
        'health-timeout': '5s'
      },
      {
        token: github.token,
        env: { GITHUB_API_URL: github.url },
        // SIGINT at the staged gate's first request; the gate passes within the cancel's grace.
        onStart: signal => {
          const timer = setInterval(() => {
            if (!vercel.requests.some(r => /^\/dpl_/.test(r.path))) return
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
    expect(vercel.calls('POST', PROMOTE)).toEqual([])
    expect(vercel.production(PRJ)).toBe(OLD)
    expect(run.outputs.promoted).toBe('false')
  })

  it('gates and promotes a deployment made by an earlier step, creating nothing', async () => {
    const d = vercel.addDeployment(PRJ, { buildMs: 300 })
    const run = await deploy({ deployment: `https://${d.url}` })
    expect(run.errors).toEqual([])
    expect(run.code).toBe(0)
    expect(creates()).toBe(0)
    expect(run.outputs['deployment-id']).toBe(d.id)
    expect(vercel.production(PRJ)).toBe(d.id)
  })

  it('health-checks add JSON rules to both gates; health-url is checked with production only', async () => {
    const checks = (status: string): string =>
      `- url: /api/health\n  name: api\n  json:\n    status: ${status}\n    deployment: { match: '^dpl_' }\n`
    const run = await deploy({
      'health-paths': '/',
      'health-checks': checks('ok'),
      'health-url': `${vercel.url}/_prod/web/extra`
    })
    expect(run.errors).toEqual([])
    expect(run.code).toBe(0)
    const [d] = vercel.created()
    const paths = new Set(vercel.requests.map(r => r.path))
    for (const p of [
      `/${d.id}/`,
      `/${d.id}/api/health`,
      '/_prod/web/',
      '/_prod/web/api/health',
      '/_prod/web/extra'
    ])
      expect(paths.has(p)).toBe(true)
    expect(paths.has(`/${d.id}/extra`)).toBe(false)

    const failing = await deploy({ 'health-paths': '/', 'health-checks': checks('degraded') })
    expect(failing.code).toBe(1)
    expect(failing.errors.join('\n')).toMatch(
      /failed its health gate before promotion \(api: status is "ok"/
    )
    expect(vercel.calls('POST', PROMOTE)).toHaveLength(1)
  })

  it('rejects bad inputs before calling Vercel', async () => {
    const run = await deploy({ 'deployment-url-template': 'http://proxy.internal/app' })
    expect(run.code).toBe(1)
    expect(run.errors.join()).toContain("Input 'deployment-url-template' has an invalid value")
    const paths = await deploy({ 'health-paths': 'health' })
    expect(paths.errors.join()).toContain("Input 'health-paths'")
    expect(vercel.requests).toHaveLength(0)
  })

  it('a token or bypass secret with a line break is an input error before any call, never shown', async () => {
    for (const [name, value] of [
      ['protection-bypass', 'bypass-first-half\nbypass-second-half'],
      ['vercel-token', `${vercel.token}\nsecond-line`]
    ]) {
      const run = await deploy({ [name]: value })
      expect(run.code).toBe(1)
      expect(run.errors).toEqual([
        `deploy-web: Input '${name}' has an invalid value (secret, not shown): expected one line without control characters (it is sent in an HTTP header)`
      ])
      const log = run.stdout
        .split('\n')
        .filter(l => !l.startsWith('::add-mask::'))
        .join('\n')
      for (const part of value.split('\n')) expect(log + run.summary).not.toContain(part)
    }
    expect(vercel.requests).toHaveLength(0)
    expect(github.requests).toHaveLength(0)
  })

  it('a password or token in production-url or deployment-url-template is never shown', async () => {
    vercel.nextDeployments.push({ queuedMs: 50, buildMs: 200, healthyInProduction: false })
    const run = await deploy({
      'production-url': `${vercel.productionUrl(PRJ).replace('http://', 'http://ops:pr0d-passw0rd@')}?token=qu3ry-t0ken`,
      'deployment-url-template': vercel.deploymentUrlTemplate.replace(
        'http://',
        'http://ops:tmpl-passw0rd@'
      )
    })
    expect(run.outputs['rolled-back']).toBe('true')
    expect(github.issues).toHaveLength(1)
    const log = run.stdout
      .split('\n')
      .filter(l => !l.startsWith('::add-mask::'))
      .join('\n')
    const sent = github.requests.map(r => `${r.path}?${r.query} ${r.body}`).join('\n')
    for (const secret of ['pr0d-passw0rd', 'qu3ry-t0ken', 'tmpl-passw0rd'])
      for (const text of [log, run.stderr, run.summary, JSON.stringify(run.outputs), sent])
        expect(text).not.toContain(secret)
  })

  it('a `deployment` of another project, or a preview, is refused before any write', async () => {
    vercel.addProject({ id: 'prj_admin', name: 'admin', productionId: 'dpl_adminlive' })
    const other = await deploy({ deployment: 'dpl_adminlive' })
    expect(other.code).toBe(1)
    expect(other.errors).toEqual([
      `deploy-web: deployment dpl_adminlive belongs to project prj_admin, not to web (${PRJ})`
    ])
    const preview = vercel.addDeployment(PRJ, { buildMs: 0 })
    preview.target = null
    const previewRun = await deploy({ deployment: preview.id })
    expect(previewRun.errors[0]).toMatch(/is a preview deployment: promoting it would rebuild it/)
    expect(vercel.requests.filter(r => r.method !== 'GET')).toEqual([])
    expect(github.requests.filter(r => r.method !== 'GET')).toEqual([])
    expect(other.outputs).toMatchObject({ promoted: 'false', 'previous-deployment-id': OLD })
  })
})
