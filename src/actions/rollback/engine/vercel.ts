import type { RollbackPlatform } from '../../../engines/rollback.js'
import { AUTO_ASSIGN_OFF, vercelRollback } from '../../../engines/vercel-rollback.js'
import {
  VercelApiError,
  type Deployment,
  type ListedDeployment,
  type Project,
  type VercelClient
} from '../../../providers/vercel/client.js'
import type { Logger } from '../../../runtime/logger.js'
import type { Candidate, Resolution } from '../report.js'
import { RollbackRefused, type Side } from './side.js'

/** How many production deployments are read, newest first, looking for the target. */
const MAX_DEPLOYMENTS = 300

export interface VercelSideOptions {
  vercel: VercelClient
  projectId: string
  teamId: string
  reason: string
  timeoutMs: number
  log: Logger
  now: () => number
  sleep: (ms: number) => Promise<void>
}

type Seen = Pick<ListedDeployment, 'uid' | 'url' | 'created' | 'target'> & {
  state?: string
  promoted?: boolean
  meta?: Record<string, string>
}

function what(d: Seen): string {
  const sha = d.meta?.githubCommitSha ?? d.meta?.commit
  return sha ? `commit ${sha.slice(0, 7)}` : d.url
}

/** Why a production deployment is no rollback target ('' when it is one). */
export function skipReason(d: Seen): string {
  if (d.target !== 'production') return 'a preview deployment: it never served production'
  if (d.state !== 'READY') return `${d.state ?? 'no state'}: it never served production`
  if (d.promoted === false)
    return 'staged, never promoted: it never served production (not a rollback candidate)'
  return ''
}

function candidate(d: Seen, verdict: Candidate['verdict'], reason: string): Candidate {
  return {
    id: d.uid,
    status: d.state ?? 'unknown',
    createdAt: new Date(d.created).toISOString(),
    what: what(d),
    verdict,
    reason
  }
}

function listed(d: ListedDeployment): Seen {
  return { ...d, state: d.readyState ?? d.state, promoted: d.isRollbackCandidate }
}

/** 402 is Vercel's plan limit; Hobby rolls back one step only (ops-apis.md 1.6). */
function explainRefusal(error: unknown): never {
  if (error instanceof VercelApiError && error.status === 402)
    throw new Error(
      `${error.message}. Vercel's plan limits Instant Rollback: Hobby rolls back only to the ` +
        'immediately previous production deployment (Pro and Enterprise to any deployment that served ' +
        'production). Roll back one step (leave `to` empty), promote the deployment instead, or upgrade the plan',
      { cause: error }
    )
  throw error
}

export async function vercelSide(o: VercelSideOptions): Promise<Side> {
  const { vercel } = o
  const project: Project = await vercel.getProject(o.projectId)
  const scope = o.teamId ? ` --scope ${o.teamId}` : ''

  async function productionDeployments(): Promise<Seen[]> {
    const out: Seen[] = []
    let until: number | undefined
    while (out.length < MAX_DEPLOYMENTS) {
      const page = await vercel.listDeployments({
        projectId: project.id,
        target: 'production',
        limit: 100,
        until
      })
      out.push(...page.deployments.map(listed))
      if (page.next === null || page.deployments.length === 0) break
      until = page.next
    }
    return out
  }

  return {
    label: `Vercel project \`${project.name}\` (\`${project.id}\`)`,
    name: project.name,
    url: undefined,
    deployAction: 'deploy-web',
    runbook: ['web-rollback'],

    async resolve(to: string): Promise<Resolution> {
      const live = project.targets?.production
      if (!live)
        throw new Error(
          `project ${project.name} (${project.id}) has no production deployment, so there is nothing to roll back from; nothing was changed`
        )
      const all = await productionDeployments()
      const mine = all.find(d => d.uid === live.id)
      const liveSeen: Seen = mine ?? {
        uid: live.id,
        url: live.url ?? '',
        created: live.createdAt ?? Date.now(),
        target: 'production',
        state: 'READY',
        promoted: true
      }
      const current = candidate(liveSeen, 'current', 'serving production now: rolling back from it')
      if (to) {
        // `to` may be an id or a hostname: what it names is compared by id.
        let d = all.find(x => x.uid === to)
        if (!d) {
          const found = await lookUp(to, current, all.length < MAX_DEPLOYMENTS)
          d = all.find(x => x.uid === found.uid) ?? found
        }
        if (d.uid === live.id)
          throw new RollbackRefused(
            `to: ${to} is the current production deployment of ${project.name} already; nothing was changed`,
            [current]
          )
        const why = skipReason(d)
        if (why)
          throw new RollbackRefused(
            `to: ${to} is no rollback target (${why}); nothing was changed`,
            [current, candidate(d, 'skipped', why)]
          )
        const target = candidate(d, 'chosen', 'given as `to`')
        return { current, target, candidates: [current, target], warnings: [] }
      }
      const candidates: Candidate[] = [current]
      const older = all
        .filter(d => d.uid !== live.id && d.created < liveSeen.created)
        .sort((a, b) => b.created - a.created)
      for (const d of older) {
        const why = skipReason(d)
        if (!why) {
          const target = candidate(
            d,
            'chosen',
            'the newest older production deployment that served'
          )
          candidates.push(target)
          return { current, target, candidates, warnings: [] }
        }
        candidates.push(candidate(d, 'skipped', why))
      }
      throw new RollbackRefused(
        `project ${project.name} (${project.id}) has nothing to roll back to: no READY production deployment older than the current one (${live.id}) was ever promoted; nothing was changed`,
        candidates
      )
    },

    platform(): RollbackPlatform {
      const engine = vercelRollback({
        client: vercel,
        projectId: project.id,
        timeoutMs: o.timeoutMs,
        description: o.reason || undefined,
        log: m => o.log.info(m),
        now: o.now,
        sleep: o.sleep
      })
      return { ...engine, start: id => engine.start(id).catch(explainRefusal) }
    },

    trap(dryRun: boolean): string {
      if (dryRun)
        return "A real run leaves Vercel's automatic production domain assignment off (Instant Rollback does that): new pushes stop going live until a promote."
      return `${AUTO_ASSIGN_OFF} With the CLI: \`vercel promote <deployment-url>${scope}\`.`
    },

    calls(): string {
      const c = vercel.calls
      return `Vercel API: ${c.get} GET and ${c.write} write request(s), ${c.retries} of them retries (${c.rateLimited} rate-limited).`
    }
  }

  /** `to` not among the production deployments listed: why it is no target. */
  async function lookUp(to: string, current: Candidate, listedAll: boolean): Promise<Seen> {
    let d: Deployment
    try {
      d = await vercel.getDeployment(to)
    } catch (error) {
      if (error instanceof VercelApiError && error.status === 404)
        throw new RollbackRefused(
          `to: ${to} is not a deployment of project ${project.name}: it does not exist or belongs to another project or team; nothing was changed`,
          [current]
        )
      throw error
    }
    if (d.projectId && d.projectId !== project.id)
      throw new RollbackRefused(
        `to: ${to} belongs to another project (${d.projectId}), not ${project.name} (${project.id}); nothing was changed`,
        [current]
      )
    return {
      uid: d.id,
      url: d.url,
      created: d.createdAt ?? 0,
      target: d.target ?? null,
      state: d.readyState,
      // Not in the production list: never promoted, unless the list was cut short.
      promoted: listedAll ? false : undefined,
      meta: d.meta
    }
  }
}
