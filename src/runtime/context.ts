/** The run's context, read from the runner's environment when asked (no import-time state). */
export interface RunContext {
  owner: string
  repo: string
  sha: string
  ref: string
  refName: string
  serverUrl: string
  apiUrl: string
  runId: string
  runAttempt: string
  workflow: string
  job: string
  actor: string
  eventName: string
  runUrl: string
  commitUrl: string
}

export function getContext(env: NodeJS.ProcessEnv = process.env): RunContext {
  const [owner = '', repo = ''] = (env.GITHUB_REPOSITORY ?? '').split('/')
  const serverUrl = (env.GITHUB_SERVER_URL ?? 'https://github.com').replace(/\/+$/, '')
  const sha = env.GITHUB_SHA ?? ''
  const runId = env.GITHUB_RUN_ID ?? ''
  return {
    owner,
    repo,
    sha,
    ref: env.GITHUB_REF ?? '',
    refName: env.GITHUB_REF_NAME ?? '',
    serverUrl,
    apiUrl: (env.GITHUB_API_URL ?? 'https://api.github.com').replace(/\/+$/, ''),
    runId,
    runAttempt: env.GITHUB_RUN_ATTEMPT ?? '1',
    workflow: env.GITHUB_WORKFLOW ?? '',
    job: env.GITHUB_JOB ?? '',
    actor: env.GITHUB_ACTOR ?? '',
    eventName: env.GITHUB_EVENT_NAME ?? '',
    runUrl: runId ? `${serverUrl}/${owner}/${repo}/actions/runs/${runId}` : '',
    commitUrl: sha ? `${serverUrl}/${owner}/${repo}/commit/${sha}` : ''
  }
}
