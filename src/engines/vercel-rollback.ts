import type { VercelClient } from '../providers/vercel/client.js'
import { waitForAlias, type AliasResult, type Pace } from '../providers/vercel/wait.js'
import { formatDuration } from '../runtime/inputs.js'
import { table } from '../runtime/summary.js'
import type { RollbackPlatform } from './rollback.js'

/** Instant Rollback's trap (ops-apis.md 1.6), said in the log, the summary and the incident. */
export const AUTO_ASSIGN_OFF =
  'Vercel turned automatic production domain assignment off with this rollback: new production ' +
  'deployments (git pushes included) are built but no longer go live. Turn it back on by promoting ' +
  'a good deployment: `vercel promote <deployment-url>`, Promote in the dashboard, or the next ' +
  'deploy-web run (it promotes).'

export interface VercelRollbackOptions extends Pace {
  client: Pick<VercelClient, 'rollback' | 'aliasStatus'>
  projectId: string
  /** Bound on following the rollback job (the CLI's default is 3 min). */
  timeoutMs: number
  /** Sent as the rollback's `description`. */
  description?: string
  /** Called once production serves the target again. */
  onLive?: (result: AliasResult) => void
}

/**
 * Vercel's Instant Rollback as a `RollbackPlatform`: no new deployment is made
 * (the rollback id is the target's id); it is followed through `lastAliasRequest`.
 */
export function vercelRollback(o: VercelRollbackOptions): RollbackPlatform {
  return {
    noun: 'Vercel deployment',
    start: async targetId => {
      await o.client.rollback(o.projectId, targetId, o.description)
      return targetId
    },
    wait: async targetId => {
      const r = await waitForAlias({ ...o, deploymentId: targetId, type: 'rollback' })
      const evidence = table(
        ['Project', 'Rolled back to', 'Job', 'Waited', 'Polls'],
        [
          [
            o.projectId,
            targetId,
            r.request?.jobStatus ?? (r.done ? 'current' : 'not seen'),
            formatDuration(r.elapsedMs),
            r.polls
          ]
        ]
      )
      if (!r.done) return { problem: r.problem ?? 'the rollback did not complete', evidence }
      o.onLive?.(r)
      return { evidence }
    }
  }
}
