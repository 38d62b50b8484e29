import {
  apiMessage,
  HttpClient,
  HttpError,
  isRecord,
  jsonProblem,
  MalformedAnswerError,
  parseAnswer,
  sleep,
  type HttpResponse
} from '../http/client.js'
import { redact } from '../../runtime/redact.js'

export interface Issue {
  number: number
  html_url: string
  title: string
  body: string | null
  state: string
  labels: Array<string | { name?: string }>
  created_at: string
  pull_request?: unknown
}

/** What a caller needs from an answer: the check, and its name for the error. */
export interface Shape<T> {
  valid: (value: unknown) => value is T
  what: string
}

const ISSUE_LIST: Shape<Issue[]> = {
  valid: (v): v is Issue[] => Array.isArray(v) && v.every(isIssue),
  what: 'a list of issues'
}
const ISSUE: Shape<Issue> = { valid: isIssue, what: 'an issue with a number' }
const DEPLOYMENT: Shape<{ id: number }> = {
  valid: (v): v is { id: number } => isRecord(v) && typeof v.id === 'number',
  what: 'a deployment with an id'
}
const DEPLOYMENT_LIST: Shape<Array<{ id: number }>> = {
  valid: (v): v is Array<{ id: number }> => Array.isArray(v) && v.every(DEPLOYMENT.valid),
  what: 'a list of deployments'
}
const STATUS_LIST: Shape<Array<{ state: string }>> = {
  valid: (v): v is Array<{ state: string }> =>
    Array.isArray(v) && v.every(s => isRecord(s) && typeof s.state === 'string'),
  what: 'a list of deployment statuses'
}

function isIssue(v: unknown): v is Issue {
  return isRecord(v) && typeof v.number === 'number' && typeof v.html_url === 'string'
}

/** GitHub's secondary rate limit is a 403 with Retry-After (or no requests left); 429 too. */
export function isGitHubRateLimit(res: HttpResponse): boolean {
  if (res.status === 429) return true
  return (
    res.status === 403 &&
    (res.headers['retry-after'] !== undefined || res.headers['x-ratelimit-remaining'] === '0')
  )
}

/** Every string inside a request body, redacted: nothing sent to GitHub carries a secret. */
export function redactDeep(value: unknown): unknown {
  if (typeof value === 'string') return redact(value)
  if (Array.isArray(value)) return value.map(redactDeep)
  if (isRecord(value))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v)]))
  return value
}

const firstLine = (text: string | null): string => (text ?? '').split(/\r?\n/, 1)[0].trim()

export interface GitHubOptions {
  token: string
  apiUrl: string
  owner: string
  repo: string
  http?: HttpClient
  /** Pause between the looks for an issue whose create answer was lost (default 1 s). */
  findIntervalMs?: number
}

/**
 * The GitHub REST calls the suite needs, on the suite's own HTTP client (one
 * stack: timeouts, backoff and Retry-After everywhere). Creating calls (POST) are
 * never retried blindly; a 403/429 rate limit with Retry-After is.
 */
export class GitHub {
  private readonly http: HttpClient
  constructor(private readonly o: GitHubOptions) {
    this.http =
      o.http ??
      new HttpClient({
        timeoutMs: 15_000,
        attempts: 3,
        maxRetryAfterMs: 60_000,
        rateLimited: isGitHubRateLimit
      })
  }

  private get repoPath(): string {
    return `/repos/${encodeURIComponent(this.o.owner)}/${encodeURIComponent(this.o.repo)}`
  }

  /**
   * One call. The body is redacted. With `shape`, a 2xx answer that does not have
   * it (not JSON, an object for a list) fails the call: retried like a 502 for a
   * GET, then MalformedAnswerError. Without it, the answer is not read.
   */
  async call<T = undefined>(
    method: string,
    path: string,
    body?: unknown,
    shape?: Shape<T>
  ): Promise<{ data: T; res: HttpResponse }> {
    const url = path.startsWith('http') ? path : `${this.o.apiUrl}${path}`
    let res: HttpResponse
    try {
      res = await this.http.request(url, {
        method,
        headers: {
          accept: 'application/vnd.github+json',
          'x-github-api-version': '2022-11-28',
          ...(this.o.token ? { authorization: `Bearer ${this.o.token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {})
        },
        body: body !== undefined ? JSON.stringify(redactDeep(body)) : undefined,
        retryRateLimited: true,
        check: shape ? r => jsonProblem(r.body, shape.valid, shape.what) : undefined
      })
    } catch (error) {
      if (error instanceof MalformedAnswerError)
        throw new MalformedAnswerError(
          redact(`GitHub API ${method} ${pathOf(path)} ${error.message}`),
          error.status,
          error.body
        )
      throw error
    }
    if (res.status >= 300) {
      const message = apiMessage(res.body)
      throw new HttpError(
        redact(`GitHub API ${method} ${path} answered ${res.status}: ${message}`),
        res.status,
        res.body
      )
    }
    return { data: (shape ? parseAnswer(res, shape.valid, shape.what) : undefined) as T, res }
  }

  /** Open issues carrying `label`, every page, pull requests left out. */
  async listOpenIssues(label: string): Promise<Issue[]> {
    const issues: Issue[] = []
    let next: string | undefined =
      `${this.repoPath}/issues?state=open&labels=${encodeURIComponent(label)}&per_page=100`
    for (let page = 0; next && page < 50; page++) {
      const { data, res }: { data: Issue[]; res: HttpResponse } = await this.call(
        'GET',
        next,
        undefined,
        ISSUE_LIST
      )
      issues.push(...data.filter(i => !i.pull_request))
      next = nextLink(res.headers['link'])
      // Follow pagination only on the API's own origin: the token goes with it.
      if (next && new URL(next, this.o.apiUrl).origin !== new URL(this.o.apiUrl).origin)
        next = undefined
    }
    return issues
  }

  async createIssue(input: {
    title: string
    body: string
    labels: string[]
    assignees: string[]
  }): Promise<Issue> {
    try {
      return (await this.call('POST', `${this.repoPath}/issues`, input, ISSUE)).data
    } catch (error) {
      // GitHub answered 2xx, so the issue exists: find it by listing, never post twice.
      if (!(error instanceof MalformedAnswerError)) throw error
      const found = await this.findCreatedIssue(input)
      if (!found) throw error
      return found
    }
  }

  /** The newest open issue with this title and first body line (a create whose answer was lost). */
  private async findCreatedIssue(input: {
    title: string
    body: string
    labels: string[]
  }): Promise<Issue | undefined> {
    const head = firstLine(redact(input.body))
    const title = redact(input.title)
    for (let look = 0; look < 3; look++) {
      if (look > 0) await sleep(this.o.findIntervalMs ?? 1000)
      const open = await this.listOpenIssues(input.labels[0] ?? '')
      const found = open
        .filter(i => i.title === title && firstLine(i.body) === head)
        .sort((a, b) => b.number - a.number)[0]
      if (found) return found
    }
    return undefined
  }

  /** Nothing is read from the answer: a lost or unreadable one is not a failure. */
  async updateIssue(number: number, patch: Record<string, unknown>): Promise<void> {
    await this.call('PATCH', `${this.repoPath}/issues/${number}`, patch)
  }

  async comment(number: number, body: string): Promise<void> {
    await this.call('POST', `${this.repoPath}/issues/${number}/comments`, { body })
  }

  async createDeployment(input: {
    ref: string
    environment: string
    description: string
    production_environment?: boolean
    transient_environment?: boolean
    /** GitHub's default is `deploy`; `deploy:<app>` tells apps sharing an environment apart. */
    task?: string
  }): Promise<{ id: number }> {
    const body = { auto_merge: false, required_contexts: [], ...input }
    try {
      return (await this.call('POST', `${this.repoPath}/deployments`, body, DEPLOYMENT)).data
    } catch (error) {
      // GitHub answered 2xx, so the deployment exists: find it, never create a second.
      if (!(error instanceof MalformedAnswerError)) throw error
      const q = new URLSearchParams({ environment: input.environment, ref: input.ref })
      if (input.task) q.set('task', input.task)
      q.set('per_page', '10')
      const path = `${this.repoPath}/deployments?${q}`
      const { data } = await this.call('GET', path, undefined, DEPLOYMENT_LIST)
      const description = redact(input.description)
      const found = (data as Array<{ id: number; description?: unknown }>).find(
        d => d.description === description
      )
      if (!found) throw error
      return { id: found.id }
    }
  }

  /** The newest deployments of an environment (and task), newest first. */
  async listDeployments(q: {
    environment: string
    task?: string
    perPage?: number
  }): Promise<Array<{ id: number }>> {
    const params = new URLSearchParams({
      environment: q.environment,
      per_page: String(q.perPage ?? 10)
    })
    if (q.task) params.set('task', q.task)
    const path = `${this.repoPath}/deployments?${params}`
    return (await this.call('GET', path, undefined, DEPLOYMENT_LIST)).data
  }

  /** The state of a deployment's newest status, if it has one. */
  async latestDeploymentState(id: number): Promise<string | undefined> {
    const path = `${this.repoPath}/deployments/${id}/statuses?per_page=1`
    return (await this.call('GET', path, undefined, STATUS_LIST)).data[0]?.state
  }

  async createDeploymentStatus(
    id: number,
    input: {
      state: 'in_progress' | 'queued' | 'success' | 'failure' | 'error' | 'inactive'
      log_url?: string
      environment_url?: string
      description?: string
      auto_inactive?: boolean
    }
  ): Promise<void> {
    const description = input.description ? redact(input.description).slice(0, 140) : undefined
    await this.call('POST', `${this.repoPath}/deployments/${id}/statuses`, {
      ...input,
      description
    })
  }
}

/** A path without its query, for messages. */
function pathOf(path: string): string {
  return path.replace(/^https?:\/\/[^/]+/, '').split('?')[0]
}

/** The `rel="next"` target of a `Link` header. */
export function nextLink(link: string | undefined): string | undefined {
  if (!link) return undefined
  for (const part of link.split(',')) {
    const m = part.match(/<([^>]+)>\s*;\s*rel="?next"?/)
    if (m) return m[1]
  }
  return undefined
}

/** What a refused GitHub call means for the user, in words. */
export function explainGitHubError(error: unknown, permission: string): string {
  if (error instanceof HttpError) {
    if (error.status === 401) return 'the GitHub token was rejected (401): check github-token'
    if ((error.status === 403 || error.status === 429) && /rate limit/i.test(error.body))
      return `GitHub rate limit reached (${error.status}); try again later`
    if (error.status === 403 || error.status === 404) {
      const issues = permission.startsWith('issues')
        ? ', and the repository must have issues enabled'
        : ''
      return `GitHub refused (${error.status}): the token needs \`permissions: ${permission}\` in the workflow${issues}`
    }
    if (error.status === 410)
      return 'GitHub answered 410: this feature is disabled in the repository'
    return error.message
  }
  return error instanceof Error ? redact(error.message) : String(error)
}
