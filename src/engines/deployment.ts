import { explainGitHubError, type GitHub } from '../providers/github/client.js'
import type { Logger } from '../runtime/logger.js'

type FinalState = 'success' | 'failure' | 'error' | 'inactive'

/**
 * The GitHub Deployment record of one run: created `in_progress`, finished once.
 * GitHub refusing (no `deployments: write`) is a note, never a failed deploy.
 */
export class DeploymentRecord {
  private id?: number
  private finished = false
  private scope?: { environment: string; task?: string }
  /** Why GitHub refused, for the summary. */
  error?: string

  constructor(
    private readonly github: GitHub | undefined,
    private readonly log: Logger,
    private readonly logUrl: string
  ) {}

  async start(input: {
    ref: string
    environment: string
    description: string
    task?: string
  }): Promise<void> {
    if (!this.github) return
    this.scope = { environment: input.environment, task: input.task }
    try {
      const d = await this.github.createDeployment({
        ...input,
        production_environment: input.environment === 'production'
      })
      this.id = d.id
      await this.github.createDeploymentStatus(d.id, {
        state: 'in_progress',
        log_url: this.logUrl || undefined,
        description: input.description
      })
    } catch (error) {
      this.refused(error)
    }
  }

  /** Posts the final status; later calls do nothing. */
  async finish(state: FinalState, description: string, environmentUrl?: string): Promise<void> {
    if (this.id === undefined || this.finished) return
    this.finished = true
    try {
      await this.github!.createDeploymentStatus(this.id, {
        state,
        description,
        log_url: this.logUrl || undefined,
        environment_url: environmentUrl || undefined,
        auto_inactive: state === 'success' ? true : undefined
      })
    } catch (error) {
      this.refused(error)
    }
  }

  /**
   * After a success: marks the earlier records of the same environment (and task)
   * that still say `success` inactive. GitHub does this itself (`auto_inactive`)
   * only for non-production environments. Looks at the newest ten.
   */
  async inactivatePrevious(description: string): Promise<void> {
    if (this.id === undefined || !this.scope) return
    try {
      const earlier = (await this.github!.listDeployments(this.scope)).filter(d => d.id !== this.id)
      for (const d of earlier) {
        if ((await this.github!.latestDeploymentState(d.id)) !== 'success') continue
        await this.github!.createDeploymentStatus(d.id, {
          state: 'inactive',
          description,
          log_url: this.logUrl || undefined
        })
      }
    } catch (error) {
      this.refused(error)
    }
  }

  private refused(error: unknown): void {
    this.error = `GitHub Deployment not recorded: ${explainGitHubError(error, 'deployments: write')}`
    this.log.warning(this.error)
  }
}
