import { randomUUID } from 'node:crypto'
import type { Clients } from '../../providers/clients.js'
import type { RunContext } from '../../runtime/context.js'
import { errorMessage } from '../../runtime/errors.js'
import type { Host } from '../../runtime/host.js'
import { runAction, type Outcome, type RunState } from '../../runtime/run-action.js'
import type { HealthConfig } from '../../engines/health/health.js'
import { healthStep, type HealthStep } from '../../engines/health/step.js'
import { incidents, type Incidents } from '../../engines/incident/lifecycle.js'
import { rollBackAndGate, type RollbackResult } from '../../engines/rollback.js'
import { AUTO_ASSIGN_OFF, vercelRollback } from '../../engines/vercel-rollback.js'
import { forEnvironment, type Severity } from '../../engines/incident/severity.js'
import { DeploymentRecord } from '../../engines/deployment.js'
import type {
  Deployment,
  Project,
  PromoteResult,
  VercelClient
} from '../../providers/vercel/client.js'
import { waitForAlias, waitForReady, type ReadyResult } from '../../providers/vercel/wait.js'
import {
  fillTemplate,
  getInputs,
  OUTPUTS,
  productionGate,
  stagedGate,
  type WebInputs
} from './inputs.js'
import { deploymentLink, deploymentTable, notReadyLine, promotionTable } from './report.js'

type OutputName = keyof typeof OUTPUTS
type State = RunState<OutputName, Clients>
type Verdict = { ok: boolean; verdict: string }

/** How long a cancelled run waits for Vercel to answer a create already sent. */
const CANCEL_CREATE_WAIT_MS = 2500

/** How long a promote or rollback job may take (the Vercel CLI's default). */
const ALIAS_TIMEOUT_MS = 3 * 60_000

export function run(host: Host<Clients>): Promise<Outcome> {
  return runAction(host, 'deploy-web', OUTPUTS, state => deploy(state), {
    durationOutput: 'duration-seconds'
  })
}

/** Everything one run knows, passed between the steps below. */
interface Run {
  inputs: WebInputs
  ctx: RunContext
  vercel: VercelClient
  project: Project
  app: string
  /** The deployment serving production before this run: the rollback target. */
  previous?: string
  /** `deployment`: made by an earlier step, checked before anything is written. */
  given?: Deployment
  record: DeploymentRecord
  incident: Incidents
  state: State
  host: Host<Clients>
}

async function deploy(state: State): Promise<Verdict> {
  const { host, summary, notes, outputs } = state
  const ctx = host.context
  const inputs = getInputs(host.input, host.log.debug)
  const vercel = host.clients.vercel({
    token: inputs.token,
    teamId: inputs.teamId,
    baseUrl: inputs.apiUrl,
    log: m => host.log.info(m),
    now: () => host.clock.now(),
    sleep: ms => host.clock.sleep(ms)
  })
  try {
    // 2. The project and the token's scope, before anything is created.
    const project = await vercel.getProject(inputs.projectId)
    const app = inputs.app || project.name
    const previous = project.targets?.production?.id
    outputs.set('previous-deployment-id', previous)
    host.log.info(
      previous
        ? `Project ${project.name} (${project.id}): production serves ${previous} (the rollback target)`
        : `Project ${project.name} (${project.id}) has no production deployment: nothing to roll back to`
    )
    // A `deployment` of another project or a preview is refused before any record is written.
    const earlier = inputs.deployment ? await given(vercel, project, inputs.deployment) : undefined
    if (earlier) host.log.info(`Gating deployment ${earlier.id}, made by an earlier step`)
    const incident = incidents(state, inputs.githubToken, {
      ...inputs.incident,
      action: 'deploy-web',
      target: app
    })
    const record = new DeploymentRecord(
      inputs.githubDeployment ? incident.github : undefined,
      host.log,
      ctx.runUrl
    )
    await record.start({
      ref: ctx.sha,
      environment: inputs.environment,
      description: `Vercel production deployment of ${app} (${project.name})`,
      // The three apps share the environment: the task tells their records apart.
      task: `deploy:${app}`
    })
    const run: Run = {
      inputs,
      ctx,
      vercel,
      project,
      app,
      previous,
      given: earlier,
      record,
      incident,
      state,
      host
    }
    try {
      return await deployAndGate(run)
    } catch (error) {
      await record.finish('error', errorMessage(error))
      throw error
    } finally {
      if (record.error) notes.push(record.error)
    }
  } finally {
    const c = vercel.calls
    summary.section(
      'Vercel API',
      `${c.get} GET and ${c.write} POST/PATCH request(s); ${c.retries} of them retries, ${c.rateLimited} answered 429.`
    )
  }
}

async function deployAndGate(run: Run): Promise<Verdict> {
  const { inputs, vercel, project, host, state } = run
  const { outputs, summary } = state

  // 3. The deployment to gate: made now, or by an earlier step.
  // 4. Wait for READY. From the create to READY, a cancelled run cancels the deployment it
  // made, even one whose create was still being answered (it must not stay behind).
  const created = !run.given
  let creating: Promise<Deployment> | undefined
  let made: Deployment | undefined
  const off = created
    ? host.cancellation.onCancel(async () => {
        const started = Date.now()
        const pending = creating?.catch(() => undefined)
        const target =
          made ??
          (await Promise.race([
            pending,
            new Promise<undefined>(r => setTimeout(() => r(undefined), CANCEL_CREATE_WAIT_MS))
          ]))
        if (!target) return
        showDeployment(run, target)
        await vercel.cancelDeployment(target.id, started + 4500)
        host.log.info(`Cancelled Vercel deployment ${target.id} because the run was cancelled`)
      })
    : () => undefined
  let d: Deployment
  let waited: ReadyResult
  try {
    if (run.given) d = run.given
    else {
      // A run cancelled before this point (its hooks may not have seen it) creates nothing.
      if (host.cancellation.cancelled) return await stoppedBefore(run, 'creating a deployment')
      creating = create(run)
      d = made = await creating
    }
    showDeployment(run, d)
    const first = d
    waited = await host.log.group(`Waiting for deployment ${d.id}`, () =>
      waitForReady({
        client: vercel,
        deployment: first,
        timeoutMs: inputs.deployTimeoutMs,
        cancelOnTimeout: created,
        log: m => host.log.info(m),
        now: () => host.clock.now(),
        sleep: ms => host.clock.sleep(ms)
      })
    )
  } finally {
    off()
  }
  d = waited.deployment
  showDeployment(run, d)
  summary.section(
    'Deployment',
    deploymentTable(project.name, waited, created, inputs.deployTimeoutMs)
  )
  if (waited.outcome !== 'ready') return notReady(run, waited)

  // 5. The gate on the deployment's own URL, while users still see the old one.
  const base = fillTemplate(inputs.urlTemplate, d)
  const staged = await healthStep(
    host,
    summary,
    'Health gate (staged deployment)',
    `Health gate on deployment ${d.id} (staged: not serving users)`,
    stagedGate(inputs, base)
  )
  if (!staged.gate.healthy) return stagedUnhealthy(run, d, staged)

  // 6. Promote, wait for the alias job, verify production.
  host.log.info(`Promoting ${d.id} to production`)
  // The body runs on for a moment after a cancel: a cancelled run promotes nothing.
  if (host.cancellation.cancelled) return stoppedBefore(run, `promoting ${d.id}`)
  let how: PromoteResult
  try {
    how = await vercel.promote(project.id, d.id)
  } catch (error) {
    return promoteRefused(run, d, staged, errorMessage(error))
  }
  const alias = await host.log.group(`Promoting deployment ${d.id}`, () =>
    waitForAlias({
      client: vercel,
      projectId: project.id,
      deploymentId: d.id,
      type: 'promote',
      timeoutMs: ALIAS_TIMEOUT_MS,
      log: m => host.log.info(m),
      now: () => host.clock.now(),
      sleep: ms => host.clock.sleep(ms)
    })
  )
  summary.section('Promotion', promotionTable(d, run.previous, how, alias))
  if (!alias.done) return promotionFailed(run, d, alias.problem ?? 'the promotion did not complete')
  outputs.set('promoted', true)
  host.log.info(`Production now serves ${d.id} (promotion took ${Math.round(alias.elapsedMs)}ms)`)
  const gate = productionGate(inputs)
  if (!gate)
    return succeed(
      run,
      d,
      `✅ deployment ${d.id} of ${run.app} passed its gate and serves production (no production-url or health-url: production not verified)`
    )
  const production = await healthStep(
    host,
    summary,
    'Health gate (production)',
    `Health gate on production (${inputs.productionUrl || gate.checks[0].url}) after promoting ${d.id}`,
    gate
  )
  if (production.gate.healthy)
    return succeed(
      run,
      d,
      `✅ deployment ${d.id} of ${run.app} promoted and healthy in production (${production.gate.results.length} check(s))`
    )
  return rollBackAndReport(run, d, staged, production, gate)
}

/** One `POST /v13/deployments` for the workflow's commit, staged (no domains). */
async function create(run: Run): Promise<Deployment> {
  const { project, ctx, vercel, host, app } = run
  const link = project.link
  if (link?.type !== 'github' || link.repoId === undefined)
    throw new Error(
      `project ${project.name} (${project.id}) is not linked to a GitHub repository, so Vercel cannot build a commit: connect the repository in the project's Git settings, or build with \`vercel deploy --prebuilt --prod --skip-domain\` and pass its URL as \`deployment\``
    )
  host.log.info(`Creating a staged production deployment of ${ctx.sha.slice(0, 7)} for ${app}`)
  return vercel.createDeployment({
    name: project.name,
    project: project.id,
    target: 'production',
    gitSource: { type: 'github', repoId: link.repoId, ref: ctx.refName || ctx.sha, sha: ctx.sha },
    autoAssignCustomDomains: false,
    meta: {
      shipgateCommit: ctx.sha,
      shipgateRunUrl: ctx.runUrl,
      shipgateApp: app,
      // Unique to this run: how the deployment is found after an ambiguous create.
      shipgateRun: randomUUID()
    }
  })
}

/** A deployment made by an earlier step: it must be a production build of this project. */
async function given(vercel: VercelClient, project: Project, ref: string): Promise<Deployment> {
  const d = await vercel.getDeployment(ref)
  if (d.projectId && d.projectId !== project.id)
    throw new Error(
      `deployment ${d.id} belongs to project ${d.projectId}, not to ${project.name} (${project.id})`
    )
  if (d.target !== 'production')
    throw new Error(
      `deployment ${d.id} is a preview deployment: promoting it would rebuild it. Build it with \`vercel deploy --prebuilt --prod --skip-domain\``
    )
  return d
}

function showDeployment(run: Run, d: Deployment): void {
  const { outputs } = run.state
  outputs.set('deployment-id', d.id)
  outputs.set('deployment-url', `https://${d.url}`)
  if (d.inspectorUrl) outputs.set('inspector-url', d.inspectorUrl)
}

/** Promoted and healthy: Deployment success, the superseded record inactive, incident closed. */
async function succeed(run: Run, d: Deployment, verdict: string): Promise<Verdict> {
  const { record, inputs, state } = run
  await record.finish(
    'success',
    `Vercel deployment ${d.id} promoted and healthy`,
    inputs.productionUrl || `https://${d.url}`
  )
  await record.inactivatePrevious(`Superseded by Vercel deployment ${d.id}`)
  state.outputs.set('healthy', true)
  await run.incident.resolve()
  return { ok: true, verdict }
}

/** Never READY: production was never touched (SEV3). */
async function notReady(run: Run, waited: ReadyResult): Promise<Verdict> {
  const line = notReadyLine(waited, run.inputs.deployTimeoutMs)
  const unchanged = `${line}; production is unchanged${run.previous ? ` (still ${run.previous})` : ''}`
  await run.record.finish('failure', line)
  await unchangedIncident(
    run,
    waited.deployment,
    waited.outcome === 'error' ? `deployment ${waited.deployment.id} failed to build` : line,
    `${unchanged}.`,
    deploymentTable(run.project.name, waited, !run.inputs.deployment, run.inputs.deployTimeoutMs),
    [
      `Followed deployment ${deploymentLink(waited.deployment)} for ${Math.round(waited.elapsedMs / 1000)} s (${waited.polls} status checks).`,
      'Promoted nothing: production is unchanged.'
    ]
  )
  return { ok: false, verdict: `❌ ${unchanged}` }
}

/** Staged deployment unhealthy: never promoted, production untouched (SEV3). */
async function stagedUnhealthy(run: Run, d: Deployment, step: HealthStep): Promise<Verdict> {
  const line = `deployment ${d.id} failed its health gate before promotion (${step.cause})`
  const unchanged = `${line}; it was never promoted and production is unchanged${run.previous ? ` (still ${run.previous})` : ''}`
  await run.record.finish('failure', `Deployment ${d.id} failed its health gate; not promoted`)
  await unchangedIncident(
    run,
    d,
    `staged deployment ${d.id} unhealthy: ${step.cause}`,
    `${unchanged}.`,
    step.evidence,
    [
      `Health-gated the staged deployment ${deploymentLink(d)} on its own URL: ${step.cause}.`,
      'Did not promote it: users never saw it.'
    ],
    step
  )
  return { ok: false, verdict: `❌ ${unchanged}` }
}

async function unchangedIncident(
  run: Run,
  d: Deployment,
  cause: string,
  details: string,
  evidence: string,
  actions: string[],
  step?: HealthStep
): Promise<void> {
  await run.incident.fail({
    severity: forEnvironment('sev3', run.inputs.environment),
    cause,
    details: `Vercel deployment \`${d.id}\` of \`${run.app}\` (project \`${run.project.name}\`): ${details}`,
    evidence,
    actions,
    runbook: ['web-deploy-failed', ...(step?.runbook ?? [])],
    url: step?.url
  })
}

/** Cancelled before a step that changes something: it is not taken. */
async function stoppedBefore(run: Run, step: string): Promise<Verdict> {
  const line = `the run was cancelled before ${step}: production is unchanged${run.previous ? ` (still ${run.previous})` : ''}`
  await run.record.finish('error', line)
  return { ok: false, verdict: line }
}

/** Vercel refused the promote (or it never arrived): production still serves the old one (SEV3). */
async function promoteRefused(
  run: Run,
  d: Deployment,
  staged: HealthStep,
  problem: string
): Promise<Verdict> {
  const line = `deployment ${d.id} passed its gate but was not promoted: ${problem}`
  const unchanged = `${line}; production is unchanged${run.previous ? ` (still ${run.previous})` : ''}`
  await run.record.finish('failure', `Deployment ${d.id} passed its gate; the promote failed`)
  await unchangedIncident(
    run,
    d,
    `the promote of ${d.id} failed`,
    `${unchanged}.`,
    staged.evidence,
    [
      `Health-gated the staged deployment ${deploymentLink(d)} on its own URL: healthy.`,
      `Asked Vercel to promote it: ${problem}.`
    ]
  )
  return { ok: false, verdict: `❌ ${unchanged}` }
}

/** The alias job failed or timed out: production may or may not have switched (SEV2). */
async function promotionFailed(run: Run, d: Deployment, problem: string): Promise<Verdict> {
  const line = `deployment ${d.id} passed its gate but ${problem}`
  await run.record.finish('failure', line)
  await run.incident.fail({
    severity: forEnvironment('sev2', run.inputs.environment),
    cause: problem,
    details: `Vercel deployment \`${d.id}\` of \`${run.app}\` passed its health gate, but ${problem}. Check which deployment serves production in the Vercel dashboard.`,
    evidence: `Promote requested for ${deploymentLink(d)}, replacing \`${run.previous ?? 'nothing'}\`.`,
    actions: [`Requested the promotion of \`${d.id}\`; ${problem}.`],
    runbook: ['web-rollback']
  })
  return { ok: false, verdict: `❌ ${line}` }
}

/** Rolls production back to the deployment that served before (Instant Rollback), then re-gates. */
async function rollBack(run: Run, d: Deployment, gate: HealthConfig): Promise<RollbackResult> {
  const { inputs, previous, state, host, vercel, project } = run
  if (!inputs.rollbackOnFailure)
    return {
      live: false,
      problem: '',
      actions: ['Did not roll back: `rollback-on-failure` is off.']
    }
  // As in deploy-api, a cancelled run rolls nothing back (its report says what serves).
  if (host.cancellation.cancelled)
    return { live: false, problem: '', actions: ['Did not roll back: the run was cancelled.'] }
  if (!previous || previous === d.id)
    return {
      live: false,
      problem: '',
      actions: ['Could not roll back: no other deployment served production before this one.']
    }
  return rollBackAndGate({
    host,
    summary: state.summary,
    targetId: previous,
    health: gate,
    warning: AUTO_ASSIGN_OFF,
    platform: vercelRollback({
      client: vercel,
      projectId: project.id,
      timeoutMs: ALIAS_TIMEOUT_MS,
      description: `Shipgate deploy-web: ${d.id} failed its production health gate`,
      onLive: () => state.outputs.set('rolled-back', true),
      log: m => host.log.info(m),
      now: () => host.clock.now(),
      sleep: ms => host.clock.sleep(ms)
    })
  })
}

/** Production unhealthy after the promote: roll back, then the incident (SEV2 if health came back, else SEV1). */
async function rollBackAndReport(
  run: Run,
  d: Deployment,
  staged: HealthStep,
  production: HealthStep,
  gate: HealthConfig
): Promise<Verdict> {
  const { inputs, previous, state } = run
  const { rollbackId, after, problem, actions } = await rollBack(run, d, gate)
  const restored = after?.gate.healthy === true
  const level: Severity = restored
    ? 'sev2'
    : rollbackId || problem
      ? 'sev1'
      : (production.gate.severity ?? 'sev1')
  const severity = forEnvironment(level, inputs.environment)
  const outcome = restored
    ? `rolled back to ${previous}, healthy again`
    : problem || (rollbackId ? 'still unhealthy after the rollback' : 'not rolled back')
  if (rollbackId)
    state.summary.section('Automatic production domain assignment is off', AUTO_ASSIGN_OFF)
  const evidence = [
    `**Staged deployment \`${d.id}\` (passed)**`,
    staged.evidence,
    `**Production after promoting \`${d.id}\`**`,
    production.evidence
  ]
  if (after && rollbackId)
    evidence.push(`**Production after rolling back to \`${rollbackId}\`**`, after.evidence)
  await run.incident.fail({
    severity,
    cause: `deployment ${d.id} unhealthy in production, ${outcome}`,
    details: [
      `Vercel deployment \`${d.id}\` of \`${run.app}\` (project \`${run.project.name}\`) passed its staged gate, was promoted, and production${inputs.productionUrl ? ` (${inputs.productionUrl})` : ''} then failed its health gate.`,
      previous ? `Previous production deployment: \`${previous}\`.` : '',
      rollbackId ? `Rolled back to \`${rollbackId}\`.` : '',
      restored ? 'The rollback restored health.' : 'Health is not restored.'
    ]
      .filter(Boolean)
      .join(' '),
    evidence: evidence.join('\n\n'),
    actions: [
      `Gated staged deployment ${deploymentLink(d)} on its own URL: healthy.`,
      `Promoted it; production then failed its gate: ${production.cause}.`,
      ...actions
    ],
    runbook: ['web-rollback', ...(after ?? production).runbook],
    url: production.url
  })
  await run.record.finish(
    'failure',
    `Deployment ${d.id} unhealthy in production; ${outcome}`,
    inputs.productionUrl || undefined
  )
  return {
    ok: false,
    verdict: `❌ deployment ${d.id} failed its production health gate (${severity.toUpperCase()}): ${outcome}`
  }
}
