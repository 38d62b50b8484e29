import { afterEach, describe, expect, it } from '@jest/globals'
import { waitForDeploy, pollStartMs, type WaitOptions } from '../src/providers/render/wait.js'
import { HttpClient } from '../src/providers/http/client.js'
import {
  RenderApiError,
  RenderClient,
  type Deploy,
  type DeployStatus
} from '../src/providers/render/client.js'
import { FakeRender } from '../src/fakes/render.js'

/** A client whose deploy reports `statuses[i]` at poll i (the last one repeats), on a virtual clock. */
function scripted(
  statuses: Array<DeployStatus | Error>,
  o: { cancel?: DeployStatus | Error } = {}
) {
  let t = 0
  const sleeps: number[] = []
  const logs: string[] = []
  let polls = 0
  let cancels = 0
  const client = {
    async getDeploy(_s: string, id: string): Promise<Deploy> {
      const s = statuses[Math.min(polls++, statuses.length - 1)]
      if (s instanceof Error) throw s
      return { id, status: s }
    },
    async cancelDeploy(_s: string, id: string): Promise<Deploy> {
      cancels++
      if (o.cancel instanceof Error) throw o.cancel
      return { id, status: o.cancel ?? 'canceled' }
    }
  }
  const opts = (timeoutMs: number, extra: Partial<WaitOptions> = {}): WaitOptions => ({
    client,
    serviceId: 'srv-x',
    deploy: { id: 'dep-x', status: 'created' },
    timeoutMs,
    now: () => t,
    sleep: async ms => {
      sleeps.push(ms)
      t += ms
    },
    log: m => logs.push(m),
    ...extra
  })
  return { opts, sleeps, logs, cancelCount: () => cancels, clock: () => t }
}

describe('waitForDeploy (virtual clock)', () => {
  it('backs off x1.5 from 2 s to a 15 s cap, starting again at each change, holding 2 s in update', async () => {
    const s = scripted([
      ...Array(8).fill('build_in_progress'),
      'update_in_progress',
      'update_in_progress',
      'live'
    ])
    const r = await waitForDeploy(s.opts(3_600_000))
    expect(r.outcome).toBe('live')
    // created -> build_in_progress at the first poll restarts the interval too.
    expect(s.sleeps).toEqual([2000, 2000, 3000, 4500, 6750, 10125, 15000, 15000, 15000, 2000, 2000])
    expect(r.polls).toBe(11)
  })

  it('holds the first interval while the deploy switches over (update_in_progress)', async () => {
    const s = scripted([...Array(6).fill('update_in_progress'), 'live'])
    const update = { deploy: { id: 'dep-x', status: 'update_in_progress' as const } }
    await waitForDeploy(s.opts(3_600_000, update))
    expect(s.sleeps).toEqual(Array(7).fill(2000))
    const capped = scripted([...Array(4).fill('update_in_progress'), 'live'])
    await waitForDeploy(capped.opts(3_600_000, { ...update, switchIntervalMs: 4000 }))
    expect(capped.sleeps).toEqual([2000, 3000, 4000, 4000, 4000])
  })

  it('backs off during pre_deploy_in_progress like a build', async () => {
    const s = scripted([...Array(4).fill('pre_deploy_in_progress'), 'live'])
    await waitForDeploy(
      s.opts(3_600_000, { deploy: { id: 'dep-x', status: 'pre_deploy_in_progress' } })
    )
    expect(s.sleeps).toEqual([2000, 3000, 4500, 6750, 10125])
  })

  it('logs each status change once', async () => {
    const s = scripted([
      'created',
      'build_in_progress',
      'build_in_progress',
      'update_in_progress',
      'live'
    ])
    await waitForDeploy(s.opts(600_000))
    expect(s.logs.map(l => l.replace(/ after .*/, ''))).toEqual([
      'Deploy dep-x: created',
      'Deploy dep-x: build_in_progress',
      'Deploy dep-x: update_in_progress',
      'Deploy dep-x: live'
    ])
  })

  it.each<[DeployStatus, string]>([
    ['build_failed', 'failed'],
    ['update_failed', 'failed'],
    ['pre_deploy_failed', 'failed'],
    ['canceled', 'superseded'],
    ['deactivated', 'superseded'],
    ['live', 'live']
  ])('%s ends the wait as %s', async (status, outcome) => {
    const s = scripted(['build_in_progress', status])
    const r = await waitForDeploy(s.opts(600_000))
    expect(r).toMatchObject({ outcome, status })
  })

  it('derives the first interval from a short deploy-timeout', async () => {
    expect(pollStartMs(30 * 60_000)).toBe(2000)
    expect(pollStartMs(10_000)).toBe(1000)
    expect(pollStartMs(100)).toBe(50)
  })

  it('at the deadline: cancels the deploy and reports a timeout', async () => {
    const s = scripted(['build_in_progress'])
    const r = await waitForDeploy(s.opts(60_000))
    expect(r).toMatchObject({
      outcome: 'timeout',
      canceled: true,
      status: 'canceled',
      statusAtDeadline: 'build_in_progress'
    })
    expect(s.cancelCount()).toBe(1)
    expect(s.clock()).toBe(60_000)
    expect(s.logs.some(l => l.includes('still build_in_progress after 1m'))).toBe(true)
  })

  it('a cancel refused because it went live meanwhile is reported as live', async () => {
    const s = scripted(['build_in_progress'], {
      cancel: new RenderApiError('not in progress', 400, '')
    })
    const opts = s.opts(10_000)
    let calls = 0
    const inner = opts.client
    opts.client = {
      cancelDeploy: inner.cancelDeploy,
      getDeploy: async (sv, id) => (++calls > 3 ? { id, status: 'live' } : inner.getDeploy(sv, id))
    }
    const r = await waitForDeploy(opts)
    expect(r.outcome).toBe('live')
  })

  it('a failed cancel is reported with its reason', async () => {
    const s = scripted(['build_in_progress'], {
      cancel: new RenderApiError('Render said no (500)', 500, '')
    })
    const r = await waitForDeploy(s.opts(10_000))
    expect(r).toMatchObject({
      outcome: 'timeout',
      canceled: false,
      cancelError: 'Render said no (500)'
    })
  })

  it('shrugs off 429/5xx polls but stops on a 404', async () => {
    const busy = new RenderApiError('rate limited', 429, '')
    const s = scripted([
      'build_in_progress',
      busy,
      busy,
      new RenderApiError('down', 503, ''),
      'live'
    ])
    expect((await waitForDeploy(s.opts(600_000))).outcome).toBe('live')
    const gone = scripted([
      'build_in_progress',
      new RenderApiError('deploy not found (404)', 404, '')
    ])
    await expect(waitForDeploy(gone.opts(600_000))).rejects.toThrow('(404)')
  })
})

describe('waitForDeploy against the fake Render API', () => {
  let fake: FakeRender
  afterEach(async () => fake.close())

  async function setup(): Promise<RenderClient> {
    fake = await FakeRender.start()
    fake.addService({ id: 'srv-api' })
    return new RenderClient({
      apiKey: fake.apiKey,
      baseUrl: fake.url,
      http: new HttpClient({ attempts: 4, baseDelayMs: 5, maxDelayMs: 20, random: () => 0 })
    })
  }

  it('follows a deploy to live through a 429 storm', async () => {
    const client = await setup()
    fake.nextDeploys.push({ createdMs: 50, buildMs: 300, updateMs: 150 })
    const { deploy } = await client.createDeploy('srv-api', { commitId: 'abc' })
    // 12 rate-limited answers: more than one GET's retry budget (4 attempts).
    fake.fault({
      method: 'GET',
      path: /\/deploys\/[^/]+$/,
      status: 429,
      retryAfter: 0.02,
      times: 12
    })
    const logs: string[] = []
    const r = await waitForDeploy({
      client,
      serviceId: 'srv-api',
      deploy,
      timeoutMs: 5000,
      log: m => logs.push(m)
    })
    expect(r.outcome).toBe('live')
    expect(fake.calls('GET', /\/deploys\/[^/]+$/).filter(c => c.status === 429)).toHaveLength(12)
    expect(logs.some(l => l.includes('status check failed'))).toBe(true)
    expect(fake.calls('POST', /\/deploys$/)).toHaveLength(1)
  })

  it('cancels a deploy that outlives deploy-timeout', async () => {
    const client = await setup()
    fake.nextDeploys.push({ buildMs: Infinity })
    const { deploy } = await client.createDeploy('srv-api', { commitId: 'abc' })
    const started = Date.now()
    const r = await waitForDeploy({ client, serviceId: 'srv-api', deploy, timeoutMs: 400 })
    expect(Date.now() - started).toBeLessThan(1500)
    expect(r).toMatchObject({ outcome: 'timeout', canceled: true })
    expect(fake.view(deploy.id)?.status).toBe('canceled')
    expect(fake.calls('POST', /\/cancel$/)).toHaveLength(1)
  })
})
