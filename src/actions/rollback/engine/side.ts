import type { RunbookKey } from '../../../engines/incident/runbook.js'
import type { RollbackPlatform } from '../../../engines/rollback.js'
import type { Candidate, Resolution } from '../report.js'

/** What the rollback action needs from one platform. */
export interface Side {
  /** 'Render service `api` (srv-abc)', for the summary. */
  label: string
  /** The service or project name: the default incident target. */
  name: string
  /** Its public URL, for the GitHub Deployment. */
  url?: string
  /** The deploy action whose incidents a rollback reports to. */
  deployAction: 'deploy-api' | 'deploy-web'
  /** The runbook sections for a failed rollback. */
  runbook: RunbookKey[]
  /** Finds what serves now and the target (`to`, or the newest that served before it). */
  resolve(to: string): Promise<Resolution>
  /** The shared engine's view of this platform, for the chosen target. */
  platform(resolution: Resolution): RollbackPlatform
  /** Markdown: the trap the platform leaves after a rollback, and what was done about it. */
  trap(dryRun: boolean): string
  /** One line: the API calls made, for the summary. */
  calls(): string
}

/** No rollback is possible; the candidates looked at still go into the outputs and summary. */
export class RollbackRefused extends Error {
  override name = 'RollbackRefused'
  constructor(
    message: string,
    readonly candidates: Candidate[]
  ) {
    super(message)
  }
}
