import type { RollbackPlatform } from '../../../engines/rollback.js'
import {
  RenderApiError,
  TERMINAL_STATUSES,
  type Deploy,
  type RenderClient,
  type Service
} from '../../../providers/render/client.js'
import { waitForDeploy } from '../../../providers/render/wait.js'
import { errorMessage } from '../../../runtime/errors.js'
import { formatDuration } from '../../../runtime/inputs.js'
import type { Logger } from '../../../runtime/logger.js'
import { table } from '../../../runtime/summary.js'
import type { Candidate, Resolution } from '../report.js'
import { RollbackRefused, type Side } from './side.js'

/** How many deploys are read, newest first, looking for the target. */
const MAX_DEPLOYS = 500

export interface RenderSideOptions {
  render: RenderClient
  serviceId: string
  pauseAutoDeploy: boolean
  timeoutMs: number
  log: Logger
  now: () => number
  sleep: (ms: number) => Promise<void>
}

function what(d: Deploy): string {
  if (d.image?.ref) return `image ${d.image.ref}`
  if (d.commit?.id) return `commit ${d.commit.id.slice(0, 7)}`
  return 'unknown commit'
}

/**
 * Whether a deploy served traffic: `live`, or `deactivated` after having been
 * live. A deploy finishes once (when it goes live) and is deactivated later, so
 * a served one was updated after it finished; one deactivated before it went
 * live finished at its deactivation.
 */
export function served(d: Deploy): boolean {
  if (d.status === 'live') return true
  if (d.status !== 'deactivated') return false
  const finished = Date.parse(d.finishedAt ?? '')
  const updated = Date.parse(d.updatedAt ?? '')
  return !Number.isNaN(finished) && (Number.isNaN(updated) || finished < updated)
}

/** Why a deploy is no rollback target, in words ('' when it is one). */
export function skipReason(d: Deploy): string {
  if (served(d)) return ''
  switch (d.status) {
    case 'build_failed':
    case 'update_failed':
    case 'pre_deploy_failed':
      return `${d.status}: it never went live`
    case 'canceled':
      return 'canceled: it never went live'
    case 'deactivated':
      return 'deactivated before it ever went live'
    default:
      return `${d.status ?? 'no status'}: it never went live`
  }
}

function candidate(d: Deploy, verdict: Candidate['verdict'], reason: string): Candidate {
  return {
    id: d.id,
    status: d.status ?? 'unknown',
    createdAt: d.createdAt ?? '',
    what: what(d),
    verdict,
    reason
  }
}

export async function renderSide(o: RenderSideOptions): Promise<Side> {
  const { render } = o
  const service: Service = await render.getService(o.serviceId)
  let pauseNote = ''
  let rollback: Deploy | undefined
  const autoDeployOff = service.autoDeployTrigger === 'off' || service.autoDeploy === 'no'
  const dashboard = service.dashboardUrl ?? 'the Render dashboard'

  async function pause(): Promise<void> {
    if (!o.pauseAutoDeploy) {
      pauseNote = autoDeployOff
        ? 'Auto-deploy was already off; `pause-autodeploy` is off, so it was not touched.'
        : "**Auto-deploy is still on** (`pause-autodeploy: false`): Render's API rollback leaves it on, so the next push to the branch deploys the bad code again. Revert the commit, or turn auto-deploy off in the service's Settings."
      return
    }
    if (autoDeployOff) {
      pauseNote = 'Auto-deploy was already off: left as it was.'
      return
    }
    try {
      await render.pauseAutoDeploy(service.id)
      o.log.info(`Paused auto-deploy on ${service.name} (autoDeployTrigger: off)`)
      pauseNote =
        '**Auto-deploy is now off** (as the dashboard does on a rollback), so the next push does not redeploy the bad code. ' +
        `Turn it back on once the fix is merged: ${dashboard} → Settings → Auto-Deploy, or ` +
        `\`PATCH /v1/services/${service.id}\` with \`{"autoDeployTrigger":"commit"}\` (older servers: \`{"autoDeploy":"yes"}\`).`
    } catch (error) {
      const line = `Could not pause auto-deploy on ${service.name}: ${errorMessage(error)}. The next push to the branch deploys the bad code again: turn auto-deploy off in ${dashboard} → Settings, or revert the commit.`
      o.log.warning(line)
      pauseNote = `⚠️ ${line}`
    }
  }

  return {
    label: `Render service \`${service.name}\` (\`${service.id}\`)`,
    name: service.name,
    url: service.serviceDetails?.url,
    deployAction: 'deploy-api',
    runbook: ['outage', 'rollback'],

    async resolve(to: string): Promise<Resolution> {
      if (service.suspended === 'suspended')
        throw new Error(
          `service ${service.name} (${service.id}) is suspended: resume it in the Render dashboard before rolling back; nothing was changed`
        )
      const deploys = await render.listAllDeploys(service.id, MAX_DEPLOYS)
      const i = deploys.findIndex(d => d.status === 'live')
      if (i < 0)
        throw new Error(
          `service ${service.name} (${service.id}) has no live deploy, so there is nothing to roll back from; nothing was changed`
        )
      const live = deploys[i]
      const current = candidate(live, 'current', 'live now: rolling back from it')
      const warnings = deploys
        .slice(0, i)
        .filter(d => d.status && !TERMINAL_STATUSES.has(d.status))
        .map(
          d =>
            `Deploy ${d.id} (${what(d)}) is ${d.status} and will replace the rollback when it goes live: cancel it in ${dashboard}.`
        )
      if (to) return { current, ...(await explicit(to, deploys, live)), warnings }
      if (live.trigger === 'rollback')
        warnings.push(
          `The live deploy ${live.id} is itself a rollback: the newest older deploy that served is likely the one it replaced. Pass \`to\` to choose another.`
        )
      const candidates: Candidate[] = [current]
      for (const d of deploys.slice(i + 1)) {
        const why = skipReason(d)
        if (!why) {
          const target = candidate(d, 'chosen', 'the newest older deploy that served')
          candidates.push(target)
          return { current, target, candidates, warnings }
        }
        candidates.push(candidate(d, 'skipped', why))
      }
      const looked = deploys.length >= MAX_DEPLOYS ? ` (looked at the newest ${MAX_DEPLOYS})` : ''
      throw new RollbackRefused(
        `service ${service.name} (${service.id}) has nothing to roll back to: no deploy older than the live one (${live.id}) ever served${looked}; nothing was changed`,
        candidates
      )
    },

    platform(resolution: Resolution): RollbackPlatform {
      return {
        noun: 'Render deploy',
        start: async id => {
          await pause()
          rollback = await render.rollback(service.id, id)
          return rollback.id
        },
        wait: async id => {
          const waited = await waitForDeploy({
            client: render,
            serviceId: service.id,
            deploy: rollback!,
            timeoutMs: o.timeoutMs,
            cancelOnTimeout: false,
            log: m => o.log.info(m),
            now: o.now,
            sleep: o.sleep
          })
          const evidence = table(
            ['Service', 'Rollback deploy', 'To', 'Status', 'Waited', 'Polls'],
            [
              [
                `${service.name} (${service.id})`,
                id,
                `${resolution.target.id} (${resolution.target.what})`,
                waited.status,
                formatDuration(waited.elapsedMs),
                waited.polls
              ]
            ]
          )
          if (waited.outcome === 'live') return { evidence }
          const problem =
            waited.outcome === 'timeout'
              ? `rollback deploy ${id} was still ${waited.statusAtDeadline} after rollback-timeout (${formatDuration(o.timeoutMs)}); it was left running (do not cancel it)`
              : `rollback deploy ${id} ended ${waited.status}`
          return { problem, evidence }
        }
      }
    },

    trap(dryRun: boolean): string {
      if (dryRun)
        return o.pauseAutoDeploy && !autoDeployOff
          ? 'A real run turns auto-deploy off (`autoDeployTrigger: off`) before rolling back, so the next push does not redeploy the bad code.'
          : "Render's API rollback leaves auto-deploy as it is."
      return (
        pauseNote ||
        "Render's API rollback leaves auto-deploy on: the next push redeploys the bad code."
      )
    },

    calls(): string {
      const c = render.calls
      return `Render API: ${c.get} GET and ${c.post} POST/PATCH request(s), ${c.retries} of them retries.`
    }
  }

  /** `to`: a deploy of this service that served and is not the live one. */
  async function explicit(
    to: string,
    deploys: Deploy[],
    live: Deploy
  ): Promise<{ target: Candidate; candidates: Candidate[] }> {
    const current = candidate(live, 'current', 'live now: rolling back from it')
    if (to === live.id)
      throw new RollbackRefused(
        `to: ${to} is the live deploy of ${service.name} already; nothing was changed`,
        [current]
      )
    let d = deploys.find(x => x.id === to)
    if (!d) {
      try {
        d = await render.getDeploy(service.id, to)
      } catch (error) {
        if (error instanceof RenderApiError && error.status === 404)
          throw new RollbackRefused(
            `to: ${to} is not a deploy of service ${service.name} (${service.id}): it does not exist or belongs to another service; nothing was changed`,
            [current]
          )
        throw error
      }
    }
    const why = skipReason(d)
    if (why)
      throw new RollbackRefused(
        `to: ${to} never served (${why}), so it is no rollback target; nothing was changed`,
        [current, candidate(d, 'skipped', why)]
      )
    const target = candidate(d, 'chosen', 'given as `to`')
    return { target, candidates: [current, target] }
  }
}
