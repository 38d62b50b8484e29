import { errorMessage } from '../../runtime/errors.js'
import { sleep as realSleep } from '../http/client.js'
import { formatDuration } from '../../runtime/inputs.js'
import {
  TERMINAL_STATUSES,
  isTransient,
  type Deploy,
  type DeployStatus,
  type RenderClient
} from './client.js'

/** How a deploy ended, in the contract's words. */
export type WaitOutcome =
  /** The deploy is live. */
  | 'live'
  /** build_failed, update_failed, pre_deploy_failed: Render keeps the previous deploy live. */
  | 'failed'
  /** canceled or deactivated: a newer deploy (or a person) took over. */
  | 'superseded'
  /** The deadline passed; the deploy was cancelled (or cancelling was tried). */
  | 'timeout'

export interface WaitResult {
  outcome: WaitOutcome
  /** The last status seen (`canceled` after a timeout's cancel). */
  status: DeployStatus | 'unknown'
  deploy: Deploy
  polls: number
  elapsedMs: number
  /** On timeout: the status at the deadline, whether the cancel call succeeded, and why not. */
  statusAtDeadline?: DeployStatus | 'unknown'
  canceled?: boolean
  cancelError?: string
}

export interface WaitOptions {
  client: Pick<RenderClient, 'getDeploy' | 'cancelDeploy'>
  serviceId: string
  deploy: Deploy
  timeoutMs: number
  /** First wait between polls; default `pollStartMs(timeoutMs)`. */
  intervalMs?: number
  maxIntervalMs?: number
  factor?: number
  /** Cap during `update_in_progress`, when going live is near; default `intervalMs` (no backoff). */
  switchIntervalMs?: number
  /** Cancel the deploy when the deadline passes (default true). */
  cancelOnTimeout?: boolean
  sleep?: (ms: number) => Promise<void>
  now?: () => number
  log?: (message: string) => void
}

/** How long cancelling (and the check after a failed cancel) may take past the deadline. */
const CANCEL_BUDGET_MS = 15_000

/** The last phase before `live`: Render swaps instances, usually within a minute or two. */
const SWITCHING = new Set<DeployStatus | 'unknown'>(['update_in_progress'])

/**
 * The first poll interval: 2 s, or a tenth of the deadline when that is shorter
 * (so a 10 s `deploy-timeout` polls every second), never under 50 ms.
 */
export function pollStartMs(timeoutMs: number): number {
  return Math.max(50, Math.min(2000, Math.round(timeoutMs / 10)))
}

export function outcomeOf(status: DeployStatus | undefined): WaitOutcome | undefined {
  if (!status || !TERMINAL_STATUSES.has(status)) return undefined
  if (status === 'live') return 'live'
  if (status === 'canceled' || status === 'deactivated') return 'superseded'
  return 'failed'
}

/**
 * Polls a deploy until it reaches a terminal status or the deadline passes.
 * The interval starts at `intervalMs` (2 s) and grows x1.5 to a 15 s cap; it
 * starts again at every status change (changes come in bursts), and does not grow
 * during `update_in_progress`, so `live` is seen within one interval. A failed
 * poll (429, 5xx, network, after the client's own retries) is logged and tried
 * again at the same interval; 401/403/404 end the wait.
 */
export async function waitForDeploy(o: WaitOptions): Promise<WaitResult> {
  const now = o.now ?? Date.now
  const sleep = o.sleep ?? realSleep
  const log = o.log ?? (() => undefined)
  const start = now()
  const deadline = start + o.timeoutMs
  const first = o.intervalMs ?? pollStartMs(o.timeoutMs)
  const cap = o.maxIntervalMs ?? 15_000
  const switchCap = Math.max(first, o.switchIntervalMs ?? first)
  const factor = o.factor ?? 1.5

  // Always the deploy we were given: an answer never changes which deploy is followed.
  const id = o.deploy.id
  let deploy = o.deploy
  let status: DeployStatus | 'unknown' = deploy.status ?? 'unknown'
  let interval = first
  let polls = 0
  const result = (outcome: WaitOutcome, extra: Partial<WaitResult> = {}): WaitResult => ({
    outcome,
    status,
    deploy,
    polls,
    elapsedMs: now() - start,
    ...extra
  })

  log(`Deploy ${deploy.id}: ${status}`)
  for (;;) {
    const done = outcomeOf(deploy.status)
    if (done) return result(done)
    const left = deadline - now()
    if (left <= 0) break
    await sleep(Math.min(interval, left))
    polls++
    try {
      // The HTTP client runs on the wall clock: give it the deadline in wall time.
      deploy = await o.client.getDeploy(o.serviceId, id, Date.now() + Math.max(1, deadline - now()))
    } catch (error) {
      // The client already waited out Retry-After: keep the interval, try again.
      if (!isTransient(error)) throw error
      log(`Deploy ${deploy.id}: status check failed (${errorMessage(error)}); trying again`)
      continue
    }
    const next = deploy.status ?? 'unknown'
    if (next !== status) {
      status = next
      interval = first
      log(`Deploy ${deploy.id}: ${status} after ${formatDuration(now() - start)}`)
    } else {
      interval = Math.min(interval * factor, SWITCHING.has(status) ? switchCap : cap)
    }
  }

  log(
    `Deploy ${deploy.id} is still ${status} after ${formatDuration(o.timeoutMs)} (deploy-timeout)`
  )
  const statusAtDeadline = status
  if (o.cancelOnTimeout === false) return result('timeout', { statusAtDeadline, canceled: false })
  try {
    // The cancel gets a short budget of its own: the deadline has already passed.
    deploy = await o.client.cancelDeploy(o.serviceId, id, Date.now() + CANCEL_BUDGET_MS)
    status = deploy.status ?? 'canceled'
    log(`Deploy ${deploy.id} cancelled`)
    return result('timeout', { statusAtDeadline, canceled: true })
  } catch (error) {
    const reason = errorMessage(error)
    log(`Cancelling deploy ${deploy.id} failed: ${reason}`)
    // It may have finished meanwhile: report what it did, not a timeout.
    const latest = await o.client
      .getDeploy(o.serviceId, id, Date.now() + CANCEL_BUDGET_MS)
      .catch(() => undefined)
    // Canceled: the cancel went through although its answer was lost or unreadable.
    if (latest?.status === 'canceled') {
      deploy = latest
      status = 'canceled'
      return result('timeout', { statusAtDeadline, canceled: true })
    }
    const late = outcomeOf(latest?.status)
    if (latest && late) {
      deploy = latest
      status = latest.status ?? status
      return result(late)
    }
    return result('timeout', { statusAtDeadline, canceled: false, cancelError: reason })
  }
}
