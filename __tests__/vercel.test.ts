import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { FakeVercel } from '../src/fakes/vercel.js'
import {
  UnusableAnswer,
  VercelApiError,
  VercelClient,
  type CreateDeploymentBody
} from '../src/providers/vercel/client.js'
import { waitForAlias, waitForReady } from '../src/providers/vercel/wait.js'

const PRJ = 'prj_web1'
const TEAM = 'team_shipgate'

describe('VercelClient against the Vercel fake', () => {
  let fake: FakeVercel
  let delays: number[]
  let now: number
  const client = (o: Partial<ConstructorParameters<typeof VercelClient>[0]> = {}): VercelClient =>
    new VercelClient({
      token: fake.token,
      teamId: TEAM,
      baseUrl: fake.url,
      // A virtual clock: waits are recorded, not slept.
      now: () => now,
      sleep: async ms => {
        delays.push(ms)
        now += ms
      },
      findIntervalMs: 10,
      findTimeoutMs: 50,
      ...o
    })
  const body = (run: string): CreateDeploymentBody => ({
    name: 'web',
    project: PRJ,
    target: 'production',
    gitSource: { type: 'github', repoId: fake.projects.get(PRJ)!.repoId, ref: 'main', sha: 'abc' },
    autoAssignCustomDomains: false,
    meta: { shipgateRun: run }
  })

  beforeEach(async () => {
    fake = await FakeVercel.start()
    fake.addProject({ id: PRJ, name: 'web', productionId: 'dpl_old' })
    delays = []
    now = Date.now()
  })
  afterEach(() => fake.close())

  it('sends the token and teamId on every call', async () => {
    const c = client()
    await c.getProject(PRJ)
    await c.listDeployments({ projectId: PRJ, limit: 5 })
    await c.getDeployment('dpl_old')
    expect(fake.requests.map(r => r.query.get('teamId'))).toEqual([TEAM, TEAM, TEAM])
    expect(fake.requests.every(r => r.headers.authorization === `Bearer ${fake.token}`)).toBe(true)
    expect(c.calls).toMatchObject({ get: 3, write: 0, retries: 0 })
  })

  it('waits for Retry-After, else for error.limit.reset', async () => {
    fake.fault({ method: 'GET', path: /^\/v9\//, status: 429, retryAfter: 7, times: 1 })
    fake.fault({
      method: 'GET',
      path: /^\/v9\//,
      status: 429,
      retryAfter: 30,
      noRetryAfter: true,
      times: 1
    })
    const project = await client().getProject(PRJ)
    expect(project.targets?.production?.id).toBe('dpl_old')
    expect(delays).toHaveLength(2)
    expect(delays[0]).toBeGreaterThanOrEqual(7000)
    expect(delays[0]).toBeLessThan(7300)
    // error.limit.resetMs is 30 s after the fake's (real) clock; the client's clock had moved on by the first wait.
    expect(delays[0] + delays[1]).toBeGreaterThan(29_500)
    expect(delays[0] + delays[1]).toBeLessThan(30_800)
  })

  it('gives up on a 429 that asks for longer than allowed, with Vercel words', async () => {
    fake.fault({ method: 'GET', path: /^\/v9\//, status: 429, retryAfter: 600, times: 1 })
    await expect(client().getProject(PRJ)).rejects.toThrow(
      /rate limit was exceeded \(429\) for project prj_web1 .*Rate limit exceeded/
    )
    expect(delays).toEqual([])
  })

  it('retries a read that answers unparseable, or without the fields it needs', async () => {
    fake.fault({ method: 'GET', path: /^\/v13\//, body: 'not json', times: 1 })
    fake.fault({ method: 'GET', path: /^\/v13\//, body: '{"id":"dpl_old"}', times: 1 })
    const d = await client().getDeployment('dpl_old')
    expect(d).toMatchObject({ id: 'dpl_old', readyState: 'READY' })
    expect(fake.calls('GET', /^\/v13\//)).toHaveLength(3)
  })

  it('an answer that stays unusable fails the call; it is never a default', async () => {
    fake.fault({ method: 'GET', path: /^\/v9\//, body: '{"id":"prj_web1"}', times: 10 })
    await expect(client().getProject(PRJ)).rejects.toBeInstanceOf(UnusableAnswer)
    expect(fake.calls('GET', /^\/v9\//)).toHaveLength(4)
  })

  it('never re-sends a create: a 500 without a deployment fails after looking by meta', async () => {
    fake.fault({ method: 'POST', path: /^\/v13\/deployments$/, status: 500, times: 5 })
    await expect(client().createDeployment(body('run-1'))).rejects.toThrow(
      /the Vercel API failed \(500\).*no deployment with this run's meta appeared/
    )
    expect(fake.calls('POST', /^\/v13\/deployments$/)).toHaveLength(1)
    expect(fake.created()).toHaveLength(0)
  })

  it('finds the deployment an unparseable create answer hid, by meta, among others', async () => {
    const c = client()
    await c.createDeployment(body('run-other'))
    fake.fault({
      method: 'POST',
      path: /^\/v13\/deployments$/,
      body: '<html>',
      afterProcessing: true,
      times: 1
    })
    const d = await c.createDeployment(body('run-2'))
    expect(d.meta?.shipgateRun).toBe('run-2')
    expect(fake.calls('POST', /^\/v13\/deployments$/)).toHaveLength(2)
  })

  it('a refused create (400) is reported, not looked for', async () => {
    const bad = { ...body('run-3'), gitSource: { ...body('run-3').gitSource, repoId: 1 } }
    await expect(client().createDeployment(bad)).rejects.toThrow(
      /Vercel rejected the request .*\(400\): Vercel says "The repository is not linked/
    )
    expect(fake.calls('GET', /^\/v6\//)).toHaveLength(0)
  })

  it('promote: 201 started, 409 current; a 409 for another job is an error', async () => {
    const c = client({ now: Date.now, sleep: ms => new Promise(r => setTimeout(r, ms)) })
    fake.nextDeployments.push({ queuedMs: 0, buildMs: 0 }, { queuedMs: 0, buildMs: 0 })
    const a = await c.createDeployment(body('a'))
    const b = await c.createDeployment(body('b'))
    expect(await c.promote(PRJ, a.id)).toBe('started')
    // While a's job runs, promoting b conflicts; b is not current: an error, not "done".
    fake.nextPromotes.push({ status: 409 })
    expect(await c.promote(PRJ, b.id)).toBe('current')
    const job = await waitForAlias({
      client: c,
      projectId: PRJ,
      deploymentId: b.id,
      type: 'promote',
      timeoutMs: 2000
    })
    expect(job.done).toBe(true)
    const p = fake.projects.get(PRJ)!
    p.lastAliasRequest = {
      ...p.lastAliasRequest!,
      jobStatus: 'pending',
      doneAt: Date.now() + 60_000
    }
    fake.fault({ method: 'POST', path: /promote/, status: 409, times: 1 })
    await expect(c.promote(PRJ, a.id)).rejects.toThrow(/not the current production deployment/)
  })

  it('a promote or rollback that Vercel ran but answered 502 or reset is found, not re-sent', async () => {
    const c = client({ now: Date.now, sleep: ms => new Promise(r => setTimeout(r, ms)) })
    fake.nextDeployments.push({ queuedMs: 0, buildMs: 0 })
    const d = await c.createDeployment(body('p'))
    fake.fault({ method: 'POST', path: /promote/, status: 502, afterProcessing: true, times: 1 })
    expect(await c.promote(PRJ, d.id)).toBe('started')
    expect(fake.calls('POST', /promote/)).toHaveLength(1)
    await waitForAlias({
      client: c,
      projectId: PRJ,
      deploymentId: d.id,
      type: 'promote',
      timeoutMs: 2000
    })
    fake.fault({ method: 'POST', path: /rollback/, reset: true, afterProcessing: true, times: 1 })
    await c.rollback(PRJ, 'dpl_old')
    expect(fake.calls('POST', /rollback/)).toHaveLength(1)
    // Not processed at all: the failure stands.
    fake.nextDeployments.push({ queuedMs: 0, buildMs: 0 })
    const e = await c.createDeployment(body('e'))
    fake.fault({ method: 'POST', path: /promote/, status: 500, times: 1 })
    await expect(c.promote(PRJ, e.id)).rejects.toThrow(/the Vercel API failed \(500\)/)
    expect(fake.calls('POST', /promote/)).toHaveLength(2)
  })

  it('a promote or rollback answered 2xx with a page that is not JSON is checked, never taken as started', async () => {
    const c = client({ now: Date.now, sleep: ms => new Promise(r => setTimeout(r, ms)) })
    fake.nextDeployments.push({ queuedMs: 0, buildMs: 0 }, { queuedMs: 0, buildMs: 0 })
    const d = await c.createDeployment(body('h1'))
    const page = '<html><body>Down for maintenance</body></html>'
    // A proxy's page: Vercel never saw the promote, so it did not start.
    fake.fault({ method: 'POST', path: /promote/, body: page, times: 1 })
    const e = await c.promote(PRJ, d.id).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(UnusableAnswer)
    expect(fake.production(PRJ)).toBe('dpl_old')
    expect(fake.projects.get(PRJ)!.lastAliasRequest).toBeNull()
    // Vercel ran it, then the answer was replaced: found through the project, not re-sent.
    fake.fault({ method: 'POST', path: /promote/, body: page, afterProcessing: true, times: 1 })
    expect(await c.promote(PRJ, d.id)).toBe('started')
    expect(fake.calls('POST', /promote/)).toHaveLength(2)
    await waitForAlias({
      client: c,
      projectId: PRJ,
      deploymentId: d.id,
      type: 'promote',
      timeoutMs: 2000
    })
    fake.fault({ method: 'POST', path: /rollback/, body: page, times: 1 })
    await expect(c.rollback(PRJ, 'dpl_old')).rejects.toBeInstanceOf(UnusableAnswer)
    expect(fake.production(PRJ)).toBe(d.id)
    expect(fake.calls('POST', /rollback/)).toHaveLength(1)
  })

  it('waitForAlias does not take an old promote to the same deployment for the rollback', async () => {
    fake.nextDeployments.push({ queuedMs: 0, buildMs: 0 })
    const c = client()
    const d = await c.createDeployment(body('w'))
    const p = fake.projects.get(PRJ)!
    // dpl_old was promoted once; production later moved to d without an alias job.
    p.productionId = d.id
    p.lastAliasRequest = {
      fromDeploymentId: 'dpl_x',
      toDeploymentId: 'dpl_old',
      jobStatus: 'succeeded',
      requestedAt: now - 60_000,
      type: 'promote',
      doneAt: now - 59_000
    }
    const r = await waitForAlias({
      client: c,
      projectId: PRJ,
      deploymentId: 'dpl_old',
      type: 'rollback',
      timeoutMs: 2000,
      now: () => now,
      sleep: async ms => {
        now += ms
      }
    })
    expect(r.done).toBe(false)
    expect(r.problem).toMatch(/still not started/)
  })

  it('rollback: the v1 path, or the CLI v9 path with {} when v1 answers 404', async () => {
    const c = client()
    fake.nextDeployments.push({ queuedMs: 0, buildMs: 0 })
    const d = await c.createDeployment({ ...body('r'), autoAssignCustomDomains: false })
    fake.projects.get(PRJ)!.productionId = d.id
    fake.v1RollbackMissing = true
    await c.rollback(PRJ, 'dpl_old', 'why')
    expect(fake.calls('POST', /rollback/).map(r => [r.path, r.status])).toEqual([
      [`/v1/projects/${PRJ}/rollback/dpl_old`, 404],
      [`/v9/projects/${PRJ}/rollback/dpl_old`, 201]
    ])
    expect(fake.calls('POST', /rollback/)[0].query.get('description')).toBe('why')
    // A deployment that never served production is refused with Vercel's words.
    const e = await c.rollback(PRJ, d.id).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(VercelApiError)
  })

  it('waitForReady follows QUEUED -> BUILDING -> ERROR and keeps the error code', async () => {
    fake.nextDeployments.push({
      queuedMs: 50,
      buildMs: 100,
      error: { code: 'BUILD_FAILED', message: 'exit 1' }
    })
    const c = client({ now: Date.now, sleep: ms => new Promise(r => setTimeout(r, ms)) })
    const d = await c.createDeployment(body('w'))
    const r = await waitForReady({ client: c, deployment: d, timeoutMs: 5000, intervalMs: 20 })
    expect(r.outcome).toBe('error')
    expect(r.deployment).toMatchObject({ errorCode: 'BUILD_FAILED', errorMessage: 'exit 1' })
    expect(fake.projects.get(PRJ)!.productionId).toBe('dpl_old')
  })
})
