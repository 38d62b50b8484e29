import { readFileSync, statSync } from 'node:fs'
import path from 'node:path'

/**
 * Whether the repository is public, from the event payload the runner writes
 * (`repository.private` / `repository.visibility`); `unknown` when it does not say.
 */
export function repositoryVisibility(
  eventPath: string | undefined
): 'public' | 'private' | 'unknown' {
  if (!eventPath) return 'unknown'
  try {
    const event = JSON.parse(readFileSync(eventPath, 'utf8')) as {
      repository?: { private?: boolean; visibility?: string }
    }
    const repo = event.repository
    if (!repo) return 'unknown'
    if (repo.visibility === 'public' || repo.private === false) return 'public'
    if (repo.private === true || repo.visibility) return 'private'
    return 'unknown'
  } catch {
    return 'unknown'
  }
}

export interface Uploaded {
  id: number
  name: string
  size: number
}

/**
 * Uploads the file as it is (no zip around it) with @actions/artifact, which
 * talks to the runner's results service (ACTIONS_RESULTS_URL, ACTIONS_RUNTIME_TOKEN).
 * The library retries with backoff and fails a stalled upload; the whole upload
 * also has a deadline that grows with the file (at least 10 minutes, 1 MB/s).
 */
export async function uploadArtifact(file: string, retentionDays: number): Promise<Uploaded> {
  const size = statSync(file).size
  const deadlineMs = Math.max(10 * 60_000, (size / 1_000_000) * 1000)
  const { DefaultArtifactClient } = await import('@actions/artifact')
  const client = new DefaultArtifactClient()
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(
            `the artifact upload did not finish within ${Math.round(deadlineMs / 60_000)} minutes`
          )
        ),
      deadlineMs
    )
  })
  try {
    const r = await Promise.race([
      client.uploadArtifact(path.basename(file), [file], path.dirname(file), {
        retentionDays,
        skipArchive: true
      }),
      deadline
    ])
    if (r.id === undefined) throw new Error('the results service returned no artifact id')
    return { id: r.id, name: path.basename(file), size: r.size ?? size }
  } finally {
    clearTimeout(timer)
  }
}
