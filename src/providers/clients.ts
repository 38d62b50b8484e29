import type { RunContext } from '../runtime/context.js'
import { GitHub } from './github/client.js'
import { RenderClient, type RenderClientOptions } from './render/client.js'
import { VercelClient, type VercelClientOptions } from './vercel/client.js'

/**
 * The one factory for platform clients. The Actions host and the CLI build it
 * from the run context; tests and the sandbox point the URLs at local fakes.
 */
export interface Clients {
  /** The repository's GitHub client, or undefined without a token. */
  github(token: string): GitHub | undefined
  render(options: RenderClientOptions): RenderClient
  vercel(options: VercelClientOptions): VercelClient
}

export function createClients(context: RunContext): Clients {
  return {
    github: token =>
      token
        ? new GitHub({
            token,
            apiUrl: context.apiUrl,
            owner: context.owner,
            repo: context.repo
          })
        : undefined,
    render: options => new RenderClient(options),
    vercel: options => new VercelClient(options)
  }
}
