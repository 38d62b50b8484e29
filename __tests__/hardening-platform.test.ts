// Issue 7, items 1, 2, 6 and 7 at the level of the shared mechanisms: the HTTP
// client's answer check, the GitHub client's redaction and rate limits, and the
// incident marker, against real servers on 127.0.0.1.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import type { ServerResponse } from 'node:http'
import {
  HttpClient,
  isTransient,
  jsonProblem,
  MalformedAnswerError
} from '../src/providers/http/client.js'
import { waitForDeploy } from '../src/providers/render/wait.js'
import { GitHub, isGitHubRateLimit } from '../src/providers/github/client.js'
import { DeploymentRecord } from '../src/engines/deployment.js'
import {
  commentOnIncidents,
  findIncident,
  hasMarker,
  incidentBody,
  marker,
  neutralizeMarkup,
  type IncidentSettings
} from '../src/engines/incident/incident.js'
import { FakeGitHub } from '../src/fakes/github.js'
import { sendJson, TestServer } from '../src/fakes/http-server.js'
import { FaultProxy } from '../src/fakes/fault-proxy.js'
import { addSecret, clearSecrets } from '../src/runtime/redact.js'
import { recordingHost, VirtualClock } from '../src/fakes/host.js'
import { FakeRender } from '../src/fakes/render.js'
import { run as deployApi } from '../src/actions/deploy-api/run.js'
import type { Logger } from '../src/runtime/logger.js'
import type { RunContext } from '../src/runtime/context.js'

const quiet: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warning: () => undefined,
  error: () => undefined,
  group: async (_name, fn) => fn()
}

describe('HttpClient: an answer the caller cannot use is a failed call', () => {
  const answers: Array<(res: ServerResponse) => void> = []
  const server = new TestServer((_req, res) =>
    (answers.shift() ?? (r => sendJson(r, 200, [])))(res)
  )
  const sleeps: number[] = []
  const client = new HttpClient({ sleep: async ms => void sleeps.push(ms), random: () => 0.5 })
  const list = (r: { body: string }): string | undefined =>
    jsonProblem(r.body, Array.isArray, 'a list')
  const html = (res: ServerResponse): void => {
    res.writeHead(200, { 'content-type': 'text/html' })
    res.end('<html>maintenance</html>')
  }

  beforeEach(async () => {
    answers.length = 0
    sleeps.length = 0
    server.requests.length = 0
    await server.start()
  })
  afterEach(async () => {
    await server.stop()
  })

  it('a GET whose 200 is not JSON, then {}, is retried with backoff until it is usable', async () => {
    answers.push(html, r => sendJson(r, 200, {}))
    const res = await client.request(`${server.url}/x`, { check: list })
    expect(res.body).toBe('[]')
    expect(server.requests).toHaveLength(3)
    expect(sleeps).toHaveLength(2)
  })

  it('after the last attempt it throws a transient MalformedAnswerError naming the problem', async () => {
    answers.push(html, html, html, html)
    const error = await client.request(`${server.url}/x`, { check: list }).catch(e => e)
    expect(error).toBeInstanceOf(MalformedAnswerError)
    expect((error as Error).message).toMatch(/^answered 200 with a body that is not JSON/)
    expect(isTransient(error)).toBe(true)
    expect((error as MalformedAnswerError).attempts).toBe(4)
  })

  it('a POST is never re-sent because its answer was unusable', async () => {
    answers.push(html)
    const error = await client
      .request(`${server.url}/x`, { method: 'POST', body: '{}', check: list })
      .catch(e => e)
    expect(error).toBeInstanceOf(MalformedAnswerError)
    expect(server.requests).toHaveLength(1)
  })

  it('without a check, answers are returned as before', async () => {
    answers.push(html)
    expect((await client.request(`${server.url}/x`)).status).toBe(200)
  })
})

describe('waitForDeploy: a cancel whose answer is unusable', () => {
  it('still counts as cancelled when the deploy shows canceled', async () => {
    let t = 0
    // The cancel goes through on Render, but its answer is unusable.
    let cancelled = false
    const client = {
      getDeploy: async (_s: string, id: string, _d?: number) =>
        ({ id, status: cancelled ? 'canceled' : 'build_in_progress' }) as const,
      cancelDeploy: async (): Promise<never> => {
        cancelled = true
        throw new MalformedAnswerError('Render API POST cancel answered 200 with {}', 200, '{}')
      }
    }
    const r = await waitForDeploy({
      client,
      serviceId: 'srv',
      deploy: { id: 'dep-1', status: 'created' },
      timeoutMs: 1000,
      now: () => t,
      sleep: async ms => void (t += ms)
    })
    expect(r).toMatchObject({ outcome: 'timeout', canceled: true, status: 'canceled' })
  })
})

describe('GitHub client', () => {
  let github: FakeGitHub
  let proxy: FaultProxy
  let client: GitHub
  beforeEach(async () => {
    github = await new FakeGitHub().start()
    proxy = await FaultProxy.start(github.url)
    client = new GitHub({
      token: github.token,
      apiUrl: proxy.origin,
      owner: 'acme',
      repo: 'shop',
      findIntervalMs: 10,
      http: new HttpClient({
        attempts: 3,
        sleep: async () => undefined,
        rateLimited: isGitHubRateLimit
      })
    })
  })
  afterEach(async () => {
    clearSecrets()
    await proxy.close()
    await github.stop()
  })

  it('item 6: every body sent to GitHub is redacted, the Deployment description included', async () => {
    addSecret('hunter2-s3cr3t')
    const record = new DeploymentRecord(client, quiet, 'https://github.com/acme/shop/runs/1')
    await record.start({
      ref: 'main',
      environment: 'production',
      description: 'Render deploy of image registry/app:hunter2-s3cr3t to api'
    })
    await record.finish('failure', 'failed: token hunter2-s3cr3t was refused')
    const [d] = github.deployments
    expect(d.description).toBe('Render deploy of image registry/app:*** to api')
    expect(d.statuses.map(s => s.description)).toEqual([
      'Render deploy of image registry/app:*** to api',
      'failed: token *** was refused'
    ])
    const issue = await client.createIssue({
      title: 'x hunter2-s3cr3t',
      body: 'y hunter2-s3cr3t',
      labels: ['incident', 'hunter2-s3cr3t'],
      assignees: []
    })
    await client.comment(issue.number, 'z hunter2-s3cr3t')
    expect(JSON.stringify(github.issues)).not.toContain('hunter2')
    expect(github.requests.map(r => r.body).join('\n')).not.toContain('hunter2')
  })

  it('item 2: a list answer that is an object or not JSON is an API failure, not an empty list', async () => {
    proxy.fault({ method: 'GET', path: /\/issues$/, answer: { kind: 'empty-object' }, times: 3 })
    await expect(client.listOpenIssues('incident')).rejects.toThrow(
      /GitHub API GET \/repos\/acme\/shop\/issues answered 200 with a JSON object, not a list of issues/
    )
    proxy.fault({ method: 'GET', path: /\/issues$/, answer: { kind: 'not-json' }, times: 2 })
    // Two unusable answers, then the real list: retried like a 502.
    expect(await client.listOpenIssues('incident')).toEqual([])
  })

  it('item 2: a 403 secondary rate limit with Retry-After is retried, a POST too', async () => {
    proxy.fault({
      method: 'POST',
      path: /\/issues$/,
      answer: { kind: 'status', status: 403, body: '{}', headers: { 'retry-after': '0' } }
    })
    const issue = await client.createIssue({ title: 't', body: 'b', labels: [], assignees: [] })
    expect(issue.number).toBe(1)
    expect(github.issues).toHaveLength(1)
    // A 403 without Retry-After is a refusal: not retried.
    proxy.fault({ method: 'POST', path: /\/issues$/, answer: { kind: 'status', status: 403 } })
    await expect(
      client.createIssue({ title: 't2', body: 'b', labels: [], assignees: [] })
    ).rejects.toThrow(/answered 403/)
    expect(github.issues).toHaveLength(1)
  })

  it('a created Deployment whose answer is truncated is found by listing and finished', async () => {
    proxy.fault({ method: 'POST', path: /\/deployments$/, answer: { kind: 'truncate' } })
    const notes: string[] = []
    const record = new DeploymentRecord(client, { ...quiet, warning: m => notes.push(m) }, '')
    await record.start({ ref: 'abc1234', environment: 'production', description: 'deploy' })
    await record.finish('success', 'live')
    expect(notes).toEqual([])
    expect(github.deployments).toHaveLength(1)
    expect(github.deployments[0].statuses.map(x => x.state)).toEqual(['in_progress', 'success'])
  })

  it('item 2: a created issue whose answer is truncated is found by listing, not posted twice', async () => {
    proxy.fault({ method: 'POST', path: /\/issues$/, answer: { kind: 'truncate' } })
    const issue = await client.createIssue({
      title: 'incident',
      body: '<!-- m -->\nbody',
      labels: ['incident'],
      assignees: []
    })
    expect(issue).toMatchObject({ number: 1, html_url: github.issues[0].html_url })
    expect(github.issues).toHaveLength(1)
  })
})

describe('item 7: the incident marker', () => {
  const s: IncidentSettings = {
    action: 'smoke-health',
    environment: 'production',
    target: 'a',
    labels: ['incident'],
    assignees: [],
    open: true,
    close: true
  }
  const ctx = { runUrl: '', sha: '0123456', commitUrl: '' } as RunContext
  const other = marker('smoke-health/production/b')

  it('counts only on the first line', () => {
    expect(hasMarker(`${other}\nrest`, 'smoke-health/production/b')).toBe(true)
    expect(hasMarker(`${other}\r\nrest`, 'smoke-health/production/b')).toBe(true)
    expect(hasMarker(`intro\n${other}`, 'smoke-health/production/b')).toBe(false)
    expect(hasMarker(`x ${other}`, 'smoke-health/production/b')).toBe(false)
  })

  it('quoted excerpts cannot carry a marker, a comment, a tag or a mention', () => {
    const body = incidentBody(
      s,
      {
        severity: 'sev1',
        cause: 'down',
        details: 'The endpoint said <img src=https://evil/t.png> to @acme/oncall',
        evidence: `| a | ${other} |\n\n\`\`\`\n{"note":"${other}"}\n\`\`\``,
        actions: ['Probed `a`.'],
        runbook: []
      },
      ctx
    )
    expect(body.split('\n')[0]).toBe(marker('smoke-health/production/a'))
    expect(body.split('<!--')).toHaveLength(2)
    expect(body).not.toContain('<img')
    expect(body).not.toMatch(/(^|\s)@acme/)
    expect(body).toContain('Probed `a`.')
  })

  it('neutralizeMarkup keeps code spans and prose readable', () => {
    expect(neutralizeMarkup('a < b, `x<y`, mail a@b.c')).toBe('a &lt; b, `x<y`, mail a@b.c')
    expect(neutralizeMarkup('```\n<!-- x -->\n```')).toBe('```\n<!-\u200b- x -->\n```')
  })

  it('a rollback comment quoting a gate is neutralised too', async () => {
    const github = await new FakeGitHub().start()
    try {
      github.seed({
        title: 'a',
        body: `${marker('smoke-health/production/a')}\nearlier`,
        labels: [{ id: 1, name: 'incident' }]
      })
      const client = new GitHub({
        token: github.token,
        apiUrl: github.url,
        owner: 'acme',
        repo: 'shop'
      })
      const { commented } = await commentOnIncidents(
        client,
        s,
        [{ action: 'smoke-health', target: 'a' }],
        `Rolled back. The endpoint said ${other} <b>hi</b>`,
        quiet
      )
      expect(commented.map(i => i.number)).toEqual([1])
      const [c] = github.issues[0].comments
      expect(c.body).not.toContain('<!--')
      expect(c.body).not.toContain('<b>')
    } finally {
      await github.stop()
    }
  })

  it('a planted marker in another issue body is not matched', async () => {
    const github = await new FakeGitHub().start()
    try {
      github.seed({
        title: 'a',
        body: `${marker('smoke-health/production/a')}\n\n${other}`,
        labels: [{ id: 1, name: 'incident' }]
      })
      const client = new GitHub({
        token: github.token,
        apiUrl: github.url,
        owner: 'acme',
        repo: 'shop'
      })
      expect(await findIncident(client, { ...s, target: 'b' })).toBeUndefined()
      expect((await findIncident(client, s))?.number).toBe(1)
    } finally {
      await github.stop()
    }
  })
})

describe('item 1: a deploy Render created but nobody can find', () => {
  it('is an incident (SEV2: it may go live ungated), not a bare error', async () => {
    const clock = new VirtualClock()
    const render = await FakeRender.start({ now: () => clock.now() })
    const github = await new FakeGitHub().start()
    try {
      render.addService({ id: 'srv-api1', name: 'api', liveDeployId: 'dep-old' })
      render.answer202 = true
      render.nextDeploys.push({ hiddenMs: 600_000 })
      const h = recordingHost({
        inputs: {
          'github-token': github.token,
          'render-api-key': render.apiKey,
          'service-id': 'srv-api1',
          'render-api-url': render.url
        },
        clock,
        context: { apiUrl: github.url, owner: github.owner, repo: github.repo }
      })
      const outcome = await deployApi(h)
      expect(outcome.status).toBe('failed')
      expect(outcome.verdict).toMatch(
        /no matching new deploy appeared.*it may go live without a health gate/
      )
      expect(render.calls('POST', /\/deploys$/)).toHaveLength(1)
      const [issue] = github.openIssues()
      expect(issue?.title).toMatch(
        /^\[SEV2\] production: deploy-api failed for api: Render created a deploy/
      )
      expect(h.record.outputs['issue-number']).toBe(String(issue.number))
    } finally {
      await render.close()
      await github.stop()
    }
  })
})
