import type { Deployment, PromoteResult } from '../../providers/vercel/client.js'
import type { AliasResult, ReadyResult } from '../../providers/vercel/wait.js'
import { formatDuration } from '../../runtime/inputs.js'
import { table } from '../../runtime/summary.js'

/** The deployment's id with a link to Vercel's inspector when there is one. */
export function deploymentLink(d: Deployment): string {
  return d.inspectorUrl ? `[${d.id}](${d.inspectorUrl})` : d.id
}

export function deploymentTable(
  project: string,
  waited: ReadyResult,
  created: boolean,
  timeoutMs: number
): string {
  const d = waited.deployment
  const state =
    waited.outcome === 'timeout'
      ? `${waited.stateAtDeadline} at deploy-timeout (${formatDuration(timeoutMs)})${waited.canceled ? ', cancelled' : ''}`
      : d.readyState + (d.errorCode ? `: ${d.errorCode}` : '')
  return table(
    ['Project', 'Deployment', 'URL', 'Made by', 'State', 'Waited', 'Polls'],
    [
      [
        project,
        deploymentLink(d),
        `https://${d.url}`,
        created ? 'this run' : 'an earlier step',
        state,
        formatDuration(waited.elapsedMs),
        waited.polls
      ]
    ]
  )
}

const HOW: Record<PromoteResult, string> = {
  started: 'started (201)',
  queued: 'queued behind a rolling release (202)',
  current: 'already current (409)'
}

export function promotionTable(
  d: Deployment,
  from: string | undefined,
  how: PromoteResult,
  alias: AliasResult
): string {
  return table(
    ['Promoted', 'Replacing', 'Request', 'Job', 'Promotion time', 'Polls'],
    [
      [
        deploymentLink(d),
        from ?? 'nothing (first production deployment)',
        HOW[how],
        alias.request?.jobStatus ?? (alias.done ? 'current' : 'not seen'),
        formatDuration(alias.elapsedMs),
        alias.polls
      ]
    ]
  )
}

/** Why a deployment never became READY, in one line. */
export function notReadyLine(waited: ReadyResult, timeoutMs: number): string {
  const d = waited.deployment
  if (waited.outcome === 'error') {
    const why = [d.errorCode, d.errorMessage].filter(Boolean).join(': ')
    return `deployment ${d.id} failed to build${why ? ` (${why})` : ''}`
  }
  if (waited.outcome === 'canceled') return `deployment ${d.id} was canceled`
  const cancel = waited.canceled
    ? 'it was cancelled'
    : waited.cancelError
      ? `cancelling it failed (${waited.cancelError}): cancel it in the Vercel dashboard`
      : 'it was left running (made by an earlier step)'
  return `deployment ${d.id} was still ${waited.stateAtDeadline} after deploy-timeout (${formatDuration(timeoutMs)}); ${cancel}`
}
