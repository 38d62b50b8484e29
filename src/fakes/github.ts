// A GitHub REST fake with the real shapes: issues (pull requests included in the
// list, `Link` pagination), comments, labels, deployments and their statuses.
import type http from 'node:http'
import { sendJson, TestServer } from './http-server.js'

export interface FakeIssue {
  id: number
  number: number
  title: string
  body: string | null
  state: 'open' | 'closed'
  state_reason: string | null
  labels: Array<{ id: number; name: string }>
  assignees: Array<{ login: string }>
  created_at: string
  updated_at: string
  closed_at: string | null
  html_url: string
  pull_request?: { url: string }
  comments: Array<{ id: number; body: string; html_url: string }>
}

export interface FakeDeployment {
  id: number
  ref: string
  environment: string
  description: string
  statuses: Array<Record<string, unknown>>
  payload: Record<string, unknown>
}

export class FakeGitHub extends TestServer {
  issues: FakeIssue[] = []
  deployments: FakeDeployment[] = []
  labels = new Set<string>()
  /** When set, every write answers 403 as a token without `issues: write` does. */
  denyWrites = false
  token = 'ghs_faketoken1234567890'
  private seq = 1

  constructor(
    readonly owner = 'acme',
    readonly repo = 'shop'
  ) {
    super((req, res, body, url) => this.route(req, res, body, url))
  }

  private html(n: number): string {
    return `https://github.com/${this.owner}/${this.repo}/issues/${n}`
  }

  /** Seeds an issue (or a pull request) directly. */
  seed(partial: Partial<FakeIssue> & { title: string }): FakeIssue {
    const number = this.issues.length + 1
    const now = new Date().toISOString()
    const issue: FakeIssue = {
      id: this.seq++,
      number,
      body: null,
      state: 'open',
      state_reason: null,
      labels: [],
      assignees: [],
      created_at: now,
      updated_at: now,
      closed_at: null,
      html_url: this.html(number),
      comments: [],
      ...partial
    }
    this.issues.push(issue)
    return issue
  }

  private labelObjects(names: string[]): Array<{ id: number; name: string }> {
    return names.map(name => {
      this.labels.add(name)
      return { id: [...this.labels].indexOf(name) + 1, name }
    })
  }

  private view(i: FakeIssue): Record<string, unknown> {
    const { comments, ...rest } = i
    return { ...rest, comments: comments.length }
  }

  private route(req: http.IncomingMessage, res: http.ServerResponse, raw: string, url: URL): void {
    if (req.headers.authorization !== `Bearer ${this.token}`)
      return sendJson(res, 401, {
        message: 'Bad credentials',
        documentation_url: 'https://docs.github.com/rest'
      })
    const prefix = `/repos/${this.owner}/${this.repo}`
    if (!url.pathname.startsWith(prefix)) return sendJson(res, 404, { message: 'Not Found' })
    const p = url.pathname.slice(prefix.length)
    const method = req.method ?? 'GET'
    const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {}
    if (method !== 'GET' && this.denyWrites)
      return sendJson(res, 403, {
        message: 'Resource not accessible by integration',
        status: '403'
      })
    let m: RegExpMatchArray | null

    if (p === '/issues' && method === 'GET') return this.list(res, url)
    if (p === '/issues' && method === 'POST') {
      if (typeof body.title !== 'string' || !body.title)
        return sendJson(res, 422, { message: 'Validation Failed' })
      const issue = this.seed({
        title: body.title,
        body: (body.body as string) ?? null,
        labels: this.labelObjects((body.labels as string[]) ?? []),
        assignees: ((body.assignees as string[]) ?? []).map(login => ({ login }))
      })
      return sendJson(res, 201, this.view(issue))
    }
    if ((m = p.match(/^\/issues\/(\d+)$/))) {
      const issue = this.issues[Number(m[1]) - 1]
      if (!issue) return sendJson(res, 404, { message: 'Not Found' })
      if (method === 'GET') return sendJson(res, 200, this.view(issue))
      if (method === 'PATCH') {
        if (typeof body.title === 'string') issue.title = body.title
        if (typeof body.body === 'string') issue.body = body.body
        if (Array.isArray(body.labels)) issue.labels = this.labelObjects(body.labels as string[])
        if (body.state === 'closed' || body.state === 'open') {
          issue.state = body.state
          issue.closed_at = body.state === 'closed' ? new Date().toISOString() : null
          issue.state_reason =
            body.state === 'closed' ? ((body.state_reason as string) ?? 'completed') : 'reopened'
        }
        issue.updated_at = new Date().toISOString()
        return sendJson(res, 200, this.view(issue))
      }
    }
    if ((m = p.match(/^\/issues\/(\d+)\/comments$/))) {
      const issue = this.issues[Number(m[1]) - 1]
      if (!issue) return sendJson(res, 404, { message: 'Not Found' })
      if (method === 'POST') {
        const comment = {
          id: this.seq++,
          body: String(body.body ?? ''),
          html_url: `${issue.html_url}#issuecomment-${this.seq}`
        }
        issue.comments.push(comment)
        return sendJson(res, 201, comment)
      }
      return sendJson(res, 200, issue.comments)
    }
    if (p === '/labels' && method === 'GET')
      return sendJson(
        res,
        200,
        [...this.labels].map((name, i) => ({ id: i + 1, name, color: 'ededed' }))
      )
    if (p === '/labels' && method === 'POST') {
      const name = String(body.name ?? '')
      if (!name || this.labels.has(name))
        return sendJson(res, 422, {
          message: 'Validation Failed',
          errors: [
            { resource: 'Label', code: name ? 'already_exists' : 'missing_field', field: 'name' }
          ]
        })
      this.labels.add(name)
      return sendJson(res, 201, {
        id: this.labels.size,
        name,
        color: String(body.color ?? 'ededed')
      })
    }
    if (p === '/deployments' && method === 'POST') {
      const d: FakeDeployment = {
        id: this.seq++,
        ref: String(body.ref),
        environment: String(body.environment ?? 'production'),
        description: String(body.description ?? ''),
        statuses: [],
        payload: body
      }
      this.deployments.push(d)
      return sendJson(res, 201, { id: d.id, ref: d.ref, environment: d.environment, sha: d.ref })
    }
    if (p === '/deployments' && method === 'GET') {
      // Newest first, filtered by environment and task, as GitHub lists them.
      const q = url.searchParams
      const perPage = Math.min(100, Number(q.get('per_page') ?? 30))
      return sendJson(
        res,
        200,
        [...this.deployments]
          .reverse()
          .filter(d => !q.get('environment') || d.environment === q.get('environment'))
          .filter(d => !q.get('task') || (d.payload.task ?? 'deploy') === q.get('task'))
          .filter(d => !q.get('ref') || d.ref === q.get('ref'))
          .slice(0, perPage)
          .map(d => ({
            id: d.id,
            ref: d.ref,
            environment: d.environment,
            description: d.description,
            task: d.payload.task ?? 'deploy'
          }))
      )
    }
    if ((m = p.match(/^\/deployments\/(\d+)\/statuses$/))) {
      const d = this.deployments.find(x => x.id === Number(m![1]))
      if (!d) return sendJson(res, 404, { message: 'Not Found' })
      if (method === 'POST') {
        const status = { id: this.seq++, ...body }
        d.statuses.push(status)
        return sendJson(res, 201, status)
      }
      return sendJson(res, 200, [...d.statuses].reverse())
    }
    return sendJson(res, 404, { message: 'Not Found' })
  }

  /** GET /issues: open/closed filter, all-of labels, newest first, `Link` pagination; PRs included like GitHub. */
  private list(res: http.ServerResponse, url: URL): void {
    const state = url.searchParams.get('state') ?? 'open'
    const labels = (url.searchParams.get('labels') ?? '').split(',').filter(Boolean)
    const perPage = Math.min(100, Number(url.searchParams.get('per_page') ?? 30))
    const page = Math.max(1, Number(url.searchParams.get('page') ?? 1))
    const matching = this.issues
      .filter(i => state === 'all' || i.state === state)
      .filter(i => labels.every(l => i.labels.some(x => x.name === l)))
      .sort((a, b) => b.number - a.number)
    const items = matching.slice((page - 1) * perPage, page * perPage)
    const last = Math.max(1, Math.ceil(matching.length / perPage))
    const link = (n: number, rel: string): string => {
      const u = new URL(url.toString())
      u.searchParams.set('page', String(n))
      return `<${this.url}${u.pathname}${u.search}>; rel="${rel}"`
    }
    const links: string[] = []
    if (page < last) links.push(link(page + 1, 'next'), link(last, 'last'))
    if (page > 1) links.push(link(1, 'first'), link(page - 1, 'prev'))
    sendJson(
      res,
      200,
      items.map(i => this.view(i)),
      links.length ? { link: links.join(', ') } : {}
    )
  }

  /** Writes (not GETs) made to the API, for "touched nothing" assertions. */
  writes(): number {
    return this.requests.filter(r => r.method !== 'GET').length
  }

  openIssues(): FakeIssue[] {
    return this.issues.filter(i => i.state === 'open' && !i.pull_request)
  }
}
