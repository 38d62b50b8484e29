import { getContext } from './context.js'
import { GitHub } from './github.js'

/** The one place GitHub clients are built; tests point GITHUB_API_URL at a fake. */
export function createGitHub(token: string): GitHub | undefined {
  if (!token) return undefined
  const ctx = getContext()
  return new GitHub({ token, apiUrl: ctx.apiUrl, owner: ctx.owner, repo: ctx.repo })
}
