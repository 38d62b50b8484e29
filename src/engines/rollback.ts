import type { Host } from '../runtime/host.js'
import { errorMessage } from '../runtime/errors.js'
import type { Summary } from '../runtime/summary.js'
import type { HealthConfig } from './health/health.js'
import { healthStep, type HealthStep } from './health/step.js'

/**
 * What a platform offers the rollback: start it, then follow it until it
 * serves. A rollback is never cancelled: it is the way back.
 */
export interface RollbackPlatform {
  /** 'Render deploy', 'Vercel deployment': how the log names what serves. */
  noun: string
  /** Starts the rollback to `targetId`; returns the id of what now serves (Render makes a new deploy). */
  start(targetId: string): Promise<string>
  /** Follows the rollback until it serves; a problem line when it did not. Evidence goes to the summary. */
  wait(rollbackId: string): Promise<{ problem?: string; evidence?: string }>
}

export interface RollbackResult {
  /** Set once the platform accepted the rollback. */
  rollbackId?: string
  /** True once the rollback serves traffic. */
  live: boolean
  /** The health gate after it went live (when a gate is configured). */
  after?: HealthStep
  /** Why the rollback did not restore service ('' when it went live). */
  problem: string
  /** What was done, for the incident. */
  actions: string[]
}

export interface RollbackStep {
  host: Pick<Host, 'log' | 'clock' | 'cancellation'>
  summary: Summary
  platform: RollbackPlatform
  targetId: string
  /** The gate to run once it serves; undefined skips it. */
  health?: HealthConfig
  /** Set as soon as the platform accepted the rollback (for outputs). */
  onStarted?: (rollbackId: string) => void
  /** A trap the platform leaves behind, said in the log and the incident. */
  warning?: string
}

/** Rollback -> wait (never cancelled) -> health gate again. Shared by deploy-api, deploy-web and rollback. */
export async function rollBackAndGate(o: RollbackStep): Promise<RollbackResult> {
  const { host, platform, targetId } = o
  const extra = o.warning ? [o.warning] : []
  // A cancelled run changes nothing more: whoever cancelled it has taken over.
  if (host.cancellation.cancelled)
    return {
      live: false,
      problem: 'the run was cancelled before the rollback started',
      actions: [`Did not roll back to \`${targetId}\`: the run was cancelled first.`]
    }
  let rollbackId: string
  try {
    rollbackId = await platform.start(targetId)
  } catch (error) {
    const problem = `the rollback failed: ${errorMessage(error)}`
    return { live: false, problem, actions: [`Tried to roll back to \`${targetId}\`; ${problem}.`] }
  }
  o.onStarted?.(rollbackId)
  const same = rollbackId === targetId ? '' : ` (new ${platform.noun} \`${rollbackId}\`)`
  host.log.info(`Rolling back to ${targetId}: ${platform.noun} ${rollbackId}`)
  if (o.warning) host.log.warning(o.warning)
  let waited: { problem?: string; evidence?: string }
  try {
    waited = await host.log.group(`Waiting for rollback ${rollbackId}`, () =>
      platform.wait(rollbackId)
    )
  } catch (error) {
    waited = { problem: `rollback ${rollbackId} could not be followed: ${errorMessage(error)}` }
  }
  if (waited.evidence) o.summary.section('Rollback', waited.evidence)
  if (waited.problem)
    return {
      rollbackId,
      live: false,
      problem: waited.problem,
      actions: [`Rolled back to \`${targetId}\`${same}, but ${waited.problem}.`, ...extra]
    }
  if (!o.health)
    return {
      rollbackId,
      live: true,
      problem: '',
      actions: [`Rolled back to \`${targetId}\`${same}; it serves again.`, ...extra]
    }
  const after = await healthStep(
    host,
    o.summary,
    'Health gate after rollback',
    `Health gate after rollback ${rollbackId}`,
    o.health
  )
  const health = after.gate.healthy ? 'healthy again' : 'still unhealthy'
  return {
    rollbackId,
    live: true,
    after,
    problem: '',
    actions: [`Rolled back to \`${targetId}\`${same}; it went live and is ${health}.`, ...extra]
  }
}
