import { apiMessage, HttpClient, HttpError, parseJson, type HttpResponse } from '../http/client.js'
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

export interface GitHubOptions {
  token: string
  apiUrl: string
  owner: string
  repo: string
  http?: HttpClient
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
      o.http ?? new HttpClient({ timeoutMs: 15_000, attempts: 3, maxRetryAfterMs: 60_000 })
  }

  private get repoPath(): string {
    return `/repos/${encodeURIComponent(this.o.owner)}/${encodeURIComponent(this.o.repo)}`
  }

  async call<T>(
    method: string,
    path: string,
    body?: unknown
  ): Promise<{ data: T; res: HttpResponse }> {
    const url = path.startsWith('http') ? path : `${this.o.apiUrl}${path}`
    const res = await this.http.request(url, {
      method,
      headers: {
        accept: 'application/vnd.github+json',
        'x-github-api-version': '2022-11-28',
        ...(this.o.token ? { authorization: `Bearer ${this.o.token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {})
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
      retryRateLimited: true
    })
    if (res.status >= 300) {
      const message = apiMessage(res.body)
      throw new HttpError(
        redact(`GitHub API ${method} ${path} answered ${res.status}: ${message}`),
        res.status,
        res.body
      )
    }
    return { data: (res.body ? parseJson<T>(res.body) : undefined) as T, res }
  }

  /** Open issues carrying `label`, every page, pull requests left out. */
  async listOpenIssues(label: string): Promise<Issue[]> {
    const issues: Issue[] = []
    let next: string | undefined =
      `${this.repoPath}/issues?state=open&labels=${encodeURIComponent(label)}&per_page=100`
    for (let page = 0; next && page < 50; page++) {
      const { data, res }: { data: Issue[]; res: HttpResponse } = await this.call<Issue[]>(
        'GET',
        next
      )
      issues.push(...(data ?? []).filter(i => !i.pull_request))
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
    return (await this.call<Issue>('POST', `${this.repoPath}/issues`, input)).data
  }

  async updateIssue(number: number, patch: Record<string, unknown>): Promise<Issue> {
    return (await this.call<Issue>('PATCH', `${this.repoPath}/issues/${number}`, patch)).data
  }

  async comment(number: number, body: string): Promise<{ html_url: string }> {
    return (
      await this.call<{ html_url: string }>('POST', `${this.repoPath}/issues/${number}/comments`, {
        body
      })
    ).data
  }

  async createDeployment(input: {
    ref: string
    environment: string
    description: string
    production_environment?: boolean
    transient_environment?: boolean
  }): Promise<{ id: number }> {
    return (
      await this.call<{ id: number }>('POST', `${this.repoPath}/deployments`, {
        auto_merge: false,
        required_contexts: [],
        ...input
      })
    ).data
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
