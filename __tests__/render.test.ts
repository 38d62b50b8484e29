import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { HttpClient, NetworkError } from '../src/providers/http/client.js'
import { addSecret, clearSecrets } from '../src/runtime/redact.js'
import { RenderApiError, RenderClient } from '../src/providers/render/client.js'
import { FakeRender } from '../src/fakes/render.js'
import { FaultProxy } from '../src/fakes/fault-proxy.js'

const SVC = 'srv-api'
const SHA = '0123456789abcdef0123456789abcdef01234567'
const DEPLOYS = /^\/services\/[^/]+\/deploys$/
const ONE_DEPLOY = /^\/services\/[^/]+\/deploys\/[^/]+$/

let fake: FakeRender
let client: RenderClient

function makeClient(o: Partial<ConstructorParameters<typeof RenderClient>[0]> = {}): RenderClient {
  return new RenderClient({
    apiKey: fake.apiKey,
    baseUrl: fake.url,
    // Instant backoff, no jitter: the fake's Retry-After still applies.
    http: new HttpClient({ attempts: 5, baseDelayMs: 5, maxDelayMs: 20, random: () => 0 }),
    findIntervalMs: 20,
    findTimeoutMs: 2000,
    ...o
  })
}

/** A fake whose clock moves only when told: deploy phases never race the test. */
async function clockedFake(): Promise<{
  fake: FakeRender
  client: RenderClient
  advance(ms: number): void
}> {
  let t = Date.now()
  const clocked = await FakeRender.start({ now: () => t })
  clocked.addService({ id: SVC, liveDeployId: 'dep-old' })
  const c = new RenderClient({
    apiKey: clocked.apiKey,
    baseUrl: clocked.url,
    http: new HttpClient({ attempts: 5, baseDelayMs: 5, maxDelayMs: 20, random: () => 0 }),
    findIntervalMs: 20,
    findTimeoutMs: 2000
  })
  return { fake: clocked, client: c, advance: ms => void (t += ms) }
}

beforeEach(async () => {
  fake = await FakeRender.start()
  fake.addService({ id: SVC, liveDeployId: 'dep-old' })
  client = makeClient()
})
afterEach(async () => {
  clearSecrets()
  await fake.close()
})

describe('reads', () => {
  it('gets the service with Bearer auth and Accept: application/json', async () => {
    const service = await client.getService(SVC)
    expect(service).toMatchObject({ id: SVC, suspended: 'not_suspended' })
    const [req] = fake.calls('GET', /^\/services\/srv-api$/)
    expect(req.headers.authorization).toBe(`Bearer ${fake.apiKey}`)
    expect(req.headers.accept).toBe('application/json')
  })

  it('sees a suspended service', async () => {
    fake.addService({ id: 'srv-off', suspended: true })
    expect((await client.getService('srv-off')).suspended).toBe('suspended')
  })

  it('finds the live deploy with status=live&limit=1', async () => {
    expect((await client.liveDeploy(SVC))?.id).toBe('dep-old')
    const [req] = fake.calls('GET', DEPLOYS)
    expect(req.query).toEqual({ status: ['live'], limit: ['1'] })
  })

  it('sends statuses form-exploded and pages newest-first with cursors', async () => {
    fake.defaultScript = { createdMs: 0, buildMs: Infinity }
    const a = (await client.createDeploy(SVC, { commitId: 'a' })).deploy
    const b = (await client.createDeploy(SVC, { commitId: 'b' })).deploy
    const page1 = await client.listDeploys(SVC, { status: ['build_in_progress', 'live'], limit: 2 })
    expect(page1.map(x => x.deploy.id)).toEqual([b.id, a.id])
    const page2 = await client.listDeploys(SVC, {
      status: ['build_in_progress', 'live'],
      limit: 2,
      cursor: page1[1].cursor
    })
    expect(page2.map(x => x.deploy.id)).toEqual(['dep-old'])
    expect(fake.calls('GET', DEPLOYS)[0].query.status).toEqual(['build_in_progress', 'live'])
  })

  it('retries a GET after connection resets and 503s', async () => {
    fake.fault({ method: 'GET', path: ONE_DEPLOY, reset: true, times: 2 })
    fake.fault({ method: 'GET', path: ONE_DEPLOY, status: 503, times: 1 })
    expect((await client.getDeploy(SVC, 'dep-old')).status).toBe('live')
    expect(fake.calls('GET', ONE_DEPLOY)).toHaveLength(4)
    expect(client.calls).toEqual({ get: 4, post: 0, retries: 3 })
  })

  it('survives a 429 storm, waiting as Retry-After says', async () => {
    fake.fault({ method: 'GET', path: ONE_DEPLOY, status: 429, retryAfter: 0.1, times: 3 })
    // The waits are recorded, not timed: each is Retry-After (no jitter with random 0).
    const waits: number[] = []
    const c = makeClient({
      http: new HttpClient({
        attempts: 5,
        random: () => 0,
        sleep: async ms => void waits.push(ms)
      })
    })
    expect((await c.getDeploy(SVC, 'dep-old')).id).toBe('dep-old')
    expect(waits).toEqual([100, 100, 100])
    expect(fake.calls('GET', ONE_DEPLOY)).toHaveLength(4)
  })
})

describe('errors in words', () => {
  it('401 names the secret', async () => {
    const bad = new RenderClient({ apiKey: 'rnd_wrong_key', baseUrl: fake.url })
    await expect(bad.getService(SVC)).rejects.toThrow(
      'the Render API key was rejected (401): check the secret'
    )
  })

  it('404 names the service and the workspace', async () => {
    await expect(client.getService('srv-nope')).rejects.toThrow(
      "service srv-nope not found (404): check service-id and that the key's workspace owns it"
    )
  })

  it('quotes Render and redacts secrets from its message', async () => {
    addSecret(fake.apiKey)
    fake.fault({
      path: /^\/services\/srv-api$/,
      status: 403,
      message: `key ${fake.apiKey} lacks access`,
      times: 1
    })
    const error = await client.getService(SVC).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RenderApiError)
    expect((error as Error).message).toContain('(403)')
    expect((error as Error).message).toContain('Render says "key *** lacks access"')
    expect((error as Error).message).not.toContain(fake.apiKey)
  })
})

describe('createDeploy', () => {
  it('201: sends commitId and clearCache, returns the deploy', async () => {
    const { deploy, queued } = await client.createDeploy(SVC, { commitId: SHA, clearCache: true })
    expect(queued).toBe(false)
    expect(deploy).toMatchObject({ trigger: 'api', commit: { id: SHA } })
    const posts = fake.calls('POST', DEPLOYS)
    expect(posts.map(p => p.body)).toEqual([{ clearCache: 'clear', commitId: SHA }])
    expect(posts[0].headers['content-type']).toBe('application/json')
  })

  it('always sends clearCache, do_not_clear by default, and imageUrl', async () => {
    await client.createDeploy(SVC, { imageUrl: 'docker.io/acme/api:1.2' })
    expect(fake.calls('POST', DEPLOYS)[0].body).toEqual({
      clearCache: 'do_not_clear',
      imageUrl: 'docker.io/acme/api:1.2'
    })
  })

  it('202 with no body: finds the queued deploy, even when it shows up late', async () => {
    fake.answer202 = true
    fake.nextDeploys.push({ queuedMs: 150, hiddenMs: 100 })
    const { deploy, queued } = await client.createDeploy(SVC, { commitId: SHA })
    expect(queued).toBe(true)
    expect(deploy.commit?.id).toBe(SHA)
    expect(deploy.id).toBe(fake.deploys[fake.deploys.length - 1].id)
    expect(fake.calls('GET', DEPLOYS).length).toBeGreaterThan(1)
    expect(fake.calls('POST', DEPLOYS)).toHaveLength(1)
  })

  it('202: takes our deploy even after it left `queued`, not an older one', async () => {
    // On a clock that stands still the deploy stays `created` however slow the machine.
    const { fake, client } = await clockedFake()
    try {
      fake.defaultScript = { buildMs: Infinity }
      await client.createDeploy(SVC, { commitId: 'older' })
      fake.answer202 = true
      fake.nextDeploys.push({ queuedMs: 0, buildMs: Infinity })
      const { deploy } = await client.createDeploy(SVC, { commitId: SHA })
      expect(deploy).toMatchObject({ commit: { id: SHA }, status: 'created' })
    } finally {
      await fake.close()
    }
  })

  it('202: never takes an older queued deploy of the same commit', async () => {
    // The fake's clock runs a minute behind while the stale deploy is created.
    let offset = -60_000
    const clocked = await FakeRender.start({ now: () => Date.now() + offset })
    try {
      clocked.addService({ id: SVC, liveDeployId: 'dep-old' })
      const c = new RenderClient({
        apiKey: clocked.apiKey,
        baseUrl: clocked.url,
        findIntervalMs: 20,
        findTimeoutMs: 300
      })
      clocked.nextDeploys.push({ queuedMs: Infinity })
      const stale = (await c.createDeploy(SVC, { commitId: SHA })).deploy
      expect(stale.status).toBe('queued')
      offset = 0
      clocked.answer202 = true
      clocked.nextDeploys.push({ hiddenMs: 60_000 })
      const error = await c.createDeploy(SVC, { commitId: SHA }).catch((e: unknown) => e)
      expect((error as Error).message).toMatch(/no matching new deploy appeared/)
    } finally {
      await clocked.close()
    }
  })

  it('202 and nothing appears: fails without re-posting', async () => {
    fake.answer202 = true
    fake.nextDeploys.push({ hiddenMs: 60_000 })
    const c = makeClient({ findTimeoutMs: 200 })
    await expect(c.createDeploy(SVC, { commitId: SHA })).rejects.toThrow(
      /no matching new deploy appeared/
    )
    expect(fake.calls('POST', DEPLOYS)).toHaveLength(1)
  })

  it('retries a 429 after Retry-After: one deploy created', async () => {
    fake.fault({ method: 'POST', path: DEPLOYS, status: 429, retryAfter: 0.05, times: 2 })
    const { deploy } = await client.createDeploy(SVC, { commitId: SHA })
    expect(fake.calls('POST', DEPLOYS)).toHaveLength(3)
    expect(fake.deploys.filter(d => d.trigger === 'api').map(d => d.id)).toEqual([deploy.id])
  })

  it.each([500, 503, 409, 400])('never retries a %i', async status => {
    fake.fault({ method: 'POST', path: DEPLOYS, status, times: 5 })
    await expect(client.createDeploy(SVC, { commitId: SHA })).rejects.toThrow(`(${status})`)
    expect(fake.calls('POST', DEPLOYS)).toHaveLength(1)
  })

  it('a reset before Render acted: one POST, then a clear failure', async () => {
    fake.fault({ method: 'POST', path: DEPLOYS, reset: true, times: 5 })
    const c = makeClient({ findTimeoutMs: 200 })
    await expect(c.createDeploy(SVC, { commitId: SHA })).rejects.toThrow(
      /not retried.*no new deploy appeared/
    )
    expect(fake.calls('POST', DEPLOYS)).toHaveLength(1)
  })

  it('a reset after Render acted: one POST, the deploy is found', async () => {
    fake.fault({ method: 'POST', path: DEPLOYS, resetAfterProcessing: true, times: 1 })
    const { deploy } = await client.createDeploy(SVC, { commitId: SHA })
    expect(deploy.id).toBe(fake.deploys[fake.deploys.length - 1].id)
    expect(fake.calls('POST', DEPLOYS)).toHaveLength(1)
  })

  it('a refused connection is not retried', async () => {
    const url = fake.url
    await fake.close()
    const c = new RenderClient({ apiKey: 'k', baseUrl: url })
    const error = await c.createDeploy(SVC, { commitId: SHA }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NetworkError)
    expect((error as NetworkError).kind).toBe('refused')
    expect(c.calls.post).toBe(1)
  })
})

describe('rollback and cancel', () => {
  it('rolls back with {deployId}: a new deploy triggered by rollback', async () => {
    const deploy = await client.rollback(SVC, 'dep-old')
    expect(deploy).toMatchObject({ trigger: 'rollback', status: 'created' })
    expect(fake.calls('POST', /\/rollback$/)[0].body).toEqual({ deployId: 'dep-old' })
  })

  it('retries a rollback on 429 only', async () => {
    fake.fault({ method: 'POST', path: /\/rollback$/, status: 429, retryAfter: 0.05, times: 1 })
    await client.rollback(SVC, 'dep-old')
    expect(fake.calls('POST', /\/rollback$/)).toHaveLength(2)
    fake.fault({ method: 'POST', path: /\/rollback$/, status: 503, times: 1 })
    await expect(client.rollback(SVC, 'dep-old')).rejects.toThrow('(503)')
    expect(fake.calls('POST', /\/rollback$/)).toHaveLength(3)
  })

  it('cancels an in-progress deploy', async () => {
    fake.defaultScript = { buildMs: Infinity }
    const { deploy } = await client.createDeploy(SVC, { commitId: SHA })
    expect((await client.cancelDeploy(SVC, deploy.id)).status).toBe('canceled')
    expect(fake.view(deploy.id)?.status).toBe('canceled')
    await expect(client.cancelDeploy(SVC, 'dep-old')).rejects.toThrow('(400)')
  })
})

describe('pauseAutoDeploy', () => {
  it('an unreadable 200 is retried (the PATCH sets absolute values), and the service is returned', async () => {
    const proxy = await FaultProxy.start(fake.origin)
    try {
      proxy.fault({
        method: 'PATCH',
        path: /^\/v1\/services\/[^/]+$/,
        answer: { kind: 'not-json' }
      })
      const c = makeClient({ baseUrl: `${proxy.origin}/v1` })
      const service = await c.pauseAutoDeploy(SVC)
      expect(service.id).toBe(SVC)
      expect(proxy.faulted('not-json')).toHaveLength(1)
      expect(fake.calls('PATCH', /^\/services\/[^/]+$/)).toHaveLength(1)
      expect(fake.services.get(SVC)?.autoDeploy).toBe(false)
    } finally {
      await proxy.close()
    }
  })
})

describe('the fake itself', () => {
  it('moves a deploy through its phases and deactivates the old one', async () => {
    const { fake, client, advance } = await clockedFake()
    try {
      fake.nextDeploys.push({ createdMs: 20, buildMs: 40, updateMs: 40 })
      const { deploy } = await client.createDeploy(SVC, { commitId: SHA })
      const seen = new Set<string>()
      for (let i = 0; i < 100 && fake.view(deploy.id)?.status !== 'live'; i++) {
        seen.add((await client.getDeploy(SVC, deploy.id)).status ?? '')
        advance(5)
      }
      expect([...seen]).toEqual(
        expect.arrayContaining(['created', 'build_in_progress', 'update_in_progress'])
      )
      expect((await client.getDeploy(SVC, deploy.id)).status).toBe('live')
      expect((await client.getDeploy(SVC, 'dep-old')).status).toBe('deactivated')
      expect((await client.liveDeploy(SVC))?.id).toBe(deploy.id)
    } finally {
      await fake.close()
    }
  })

  it('fails at the scripted phase and keeps the old deploy live', async () => {
    const { fake, client, advance } = await clockedFake()
    try {
      fake.nextDeploys.push({ createdMs: 0, buildMs: 0, fail: 'pre_deploy', preDeployMs: 10 })
      const { deploy } = await client.createDeploy(SVC, { commitId: SHA })
      advance(30)
      expect(fake.view(deploy.id)?.status).toBe('pre_deploy_failed')
      expect(fake.view('dep-old')?.status).toBe('live')
    } finally {
      await fake.close()
    }
  })
})
