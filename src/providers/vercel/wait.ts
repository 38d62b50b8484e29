import { errorMessage } from '../../runtime/errors.js'
import { formatDuration } from '../../runtime/inputs.js'
import { sleep as realSleep } from '../http/client.js'
import {
  isTransient,
  type AliasRequest,
  type Deployment,
  type ReadyState,
  type VercelClient
} from './client.js'

export interface Pace {
  sleep?: (ms: number) => Promise<void>
  now?: () => number
  log?: (message: string) => void
}

/** Polling that backs off: `first`, then x1.5 up to `cap`. */
export function nextInterval(current: number, cap: number): number {
  return Math.min(cap, Math.round(current * 1.5))
}

export type ReadyOutcome = 'ready' | 'error' | 'canceled' | 'timeout'

export interface ReadyResult {
  outcome: ReadyOutcome
  deployment: Deployment
  /** Status checks made (GET /v13/deployments/{id}). */
  polls: number
  elapsedMs: number
  /** The state at the deadline, and whether cancelling then worked. */
  stateAtDeadline?: ReadyState
  canceled?: boolean
  cancelError?: string
}

export interface ReadyOptions extends Pace {
  client: Pick<VercelClient, 'getDeployment' | 'cancelDeployment'>
  deployment: Deployment
  timeoutMs: number
  /** First interval (default 1 s, or a twentieth of the timeout if shorter) and the cap (15 s). */
  intervalMs?: number
  maxIntervalMs?: number
  /** Cancel at the deadline (default true; a deployment this run did not create is left alone). */
  cancelOnTimeout?: boolean
}

const CANCEL_BUDGET_MS = 15_000

export function readyOutcome(state: ReadyState): ReadyOutcome | undefined {
  if (state === 'READY') return 'ready'
  if (state === 'ERROR' || state === 'DELETED') return 'error'
  if (state === 'CANCELED') return 'canceled'
  return undefined
}

/**
 * Polls a deployment until READY, ERROR or CANCELED, or the deadline. The interval
 * starts at 1 s and grows x1.5 to 15 s (about 9 calls in the first minute, then 4 a
 * minute); it starts again when the state changes. A failed poll (after the client's
 * retries) is logged and tried again; a refusal (403, 404) ends the wait.
 */
export async function waitForReady(o: ReadyOptions): Promise<ReadyResult> {
  const now = o.now ?? Date.now
  const sleep = o.sleep ?? realSleep
  const log = o.log ?? (() => undefined)
  const start = now()
  const deadline = start + o.timeoutMs
  const first = o.intervalMs ?? Math.max(50, Math.min(1000, Math.round(o.timeoutMs / 20)))
  const cap = o.maxIntervalMs ?? 15_000
  let deployment = o.deployment
  let state = deployment.readyState
  let interval = first
  let polls = 0
  const result = (outcome: ReadyOutcome, extra: Partial<ReadyResult> = {}): ReadyResult => ({
    outcome,
    deployment,
    polls,
    elapsedMs: now() - start,
    ...extra
  })
  log(`Deployment ${deployment.id}: ${state}`)
  for (;;) {
    const done = readyOutcome(deployment.readyState)
    if (done) return result(done)
    const left = deadline - now()
    if (left <= 0) break
    await sleep(Math.min(interval, left))
    polls++
    try {
      deployment = await o.client.getDeployment(deployment.id, Date.now() + Math.max(1, left))
    } catch (error) {
      if (!isTransient(error)) throw error
      log(`Deployment ${deployment.id}: status check failed (${errorMessage(error)}); trying again`)
      continue
    }
    if (deployment.readyState !== state) {
      state = deployment.readyState
      interval = first
      log(`Deployment ${deployment.id}: ${state} after ${formatDuration(now() - start)}`)
    } else interval = nextInterval(interval, cap)
  }
  log(`Deployment ${deployment.id} is still ${state} after ${formatDuration(o.timeoutMs)}`)
  const stateAtDeadline = state
  if (o.cancelOnTimeout === false) return result('timeout', { stateAtDeadline, canceled: false })
  try {
    deployment = await o.client.cancelDeployment(deployment.id, Date.now() + CANCEL_BUDGET_MS)
    log(`Deployment ${deployment.id} cancelled`)
    return result('timeout', { stateAtDeadline, canceled: true })
  } catch (error) {
    const reason = errorMessage(error)
    log(`Cancelling deployment ${deployment.id} failed: ${reason}`)
    const latest = await o.client
      .getDeployment(deployment.id, Date.now() + CANCEL_BUDGET_MS)
      .catch(() => undefined)
    const late = latest && readyOutcome(latest.readyState)
    if (latest && late) {
      deployment = latest
      return result(late)
    }
    return result('timeout', { stateAtDeadline, canceled: false, cancelError: reason })
  }
}

export interface AliasResult {
  /** True once production points at the deployment. */
  done: boolean
  /** The last job seen for it (undefined when Vercel showed none). */
  request?: AliasRequest
  problem?: string
  polls: number
  elapsedMs: number
}

export interface AliasOptions extends Pace {
  client: Pick<VercelClient, 'aliasStatus'>
  projectId: string
  deploymentId: string
  type: 'promote' | 'rollback'
  timeoutMs: number
  intervalMs?: number
  maxIntervalMs?: number
}

/**
 * Follows `project.lastAliasRequest` until the job for `deploymentId` has
 * `succeeded` (or production already points at it), `failed` or was `skipped`.
 * The CLI polls every 250 ms for 3 min; this starts at 500 ms and backs off to 5 s.
 */
export async function waitForAlias(o: AliasOptions): Promise<AliasResult> {
  const now = o.now ?? Date.now
  const sleep = o.sleep ?? realSleep
  const log = o.log ?? (() => undefined)
  const start = now()
  const deadline = start + o.timeoutMs
  const first = o.intervalMs ?? 500
  const cap = o.maxIntervalMs ?? 5000
  let interval = first
  let polls = 0
  let request: AliasRequest | undefined
  let last = ''
  const result = (done: boolean, problem?: string): AliasResult => ({
    done,
    request,
    problem,
    polls,
    elapsedMs: now() - start
  })
  for (;;) {
    polls++
    try {
      const status = await o.client.aliasStatus(
        o.projectId,
        Date.now() + Math.max(1, deadline - now())
      )
      // A job of the other type to the same deployment is an old one (a promote before a rollback).
      const seen = status.request
      const mine =
        seen?.toDeploymentId === o.deploymentId && seen.type === o.type ? seen : undefined
      request = mine ?? request
      const job = mine?.jobStatus ?? 'not started'
      if (job !== last) {
        log(`${o.type} of ${o.deploymentId}: ${job}`)
        last = job
      }
      if (job === 'succeeded') return result(true)
      if (job === 'failed' || job === 'skipped')
        return result(false, `Vercel's ${o.type} job for ${o.deploymentId} ${job}`)
      // A 409 "already current", or a job record Vercel has already replaced.
      if (!mine && status.productionId === o.deploymentId) return result(true)
    } catch (error) {
      if (!isTransient(error)) throw error
      log(`${o.type} status check failed (${errorMessage(error)}); trying again`)
    }
    const left = deadline - now()
    if (left <= 0)
      return result(
        false,
        `the ${o.type} of ${o.deploymentId} was still ${last} after ${formatDuration(o.timeoutMs)}`
      )
    await sleep(Math.min(interval, left))
    interval = nextInterval(interval, cap)
  }
}
