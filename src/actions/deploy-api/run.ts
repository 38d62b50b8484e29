import type { Clients } from '../../providers/clients.js'
import type { RunContext } from '../../runtime/context.js'
import { errorMessage } from '../../runtime/errors.js'
import type { Host } from '../../runtime/host.js'
import { runAction, type Outcome, type RunState } from '../../runtime/run-action.js'
import { healthStep, type HealthStep } from '../../engines/health/step.js'
import { incidents, type Incidents } from '../../engines/incident/lifecycle.js'
import { rollBackAndGate, type RollbackResult } from '../../engines/rollback.js'
import { formatDuration } from '../../runtime/inputs.js'
import {
  RenderClient,
  UnidentifiedDeployError,
  type Deploy,
  type Service
} from '../../providers/render/client.js'
import { forEnvironment, type Severity } from '../../engines/incident/severity.js'
import { table } from '../../runtime/summary.js'
import { DeploymentRecord } from '../../engines/deployment.js'
import { getInputs, type DeployInputs } from './inputs.js'
import { outcomeOf, waitForDeploy, type WaitResult } from '../../providers/render/wait.js'

const OUTPUTS = {
  'deploy-id': '',
  status: '',
  'previous-deploy-id': '',
  healthy: 'false',
  'rolled-back': 'false',
  'rollback-deploy-id': '',
  'duration-seconds': '',
  'issue-number': '',
  'issue-url': ''
}
type OutputName = keyof typeof OUTPUTS
type State = RunState<OutputName, Clients>
type Verdict = { ok: boolean; verdict: string }

export function run(host: Host<Clients>): Promise<Outcome> {
  return runAction(host, 'deploy-api', OUTPUTS, state => deploy(state), {
    durationOutput: 'duration-seconds'
  })
}

/** Everything one run knows, passed between the steps below. */
interface Run {
  inputs: DeployInputs
  ctx: RunContext
  render: RenderClient
  service: Service
  previous?: Deploy
  record: DeploymentRecord
  incident: Incidents
  state: State
  host: Host<Clients>
  /** The deploy POST once sent; while `following`, a cancelled run cancels its deploy. */
  creating?: Promise<Deploy>
  following: boolean
}

async function deploy(state: State): Promise<Verdict> {
  const { host } = state
  const ctx = host.context
  const inputs = getInputs(ctx.sha, host.input, host.log.debug)
  const { outputs, summary, notes } = state
  const render = host.clients.render({
    apiKey: inputs.apiKey,
    baseUrl: inputs.renderApiUrl,
    log: m => host.log.info(m),
    now: () => host.clock.now(),
    sleep: ms => host.clock.sleep(ms)
  })

  // 2. The service, and the rollback target: its live deploy.
  const service = await render.getService(inputs.serviceId)
  if (service.suspended === 'suspended') {
    const by = service.suspenders?.length ? ` (by ${service.suspenders.join(', ')})` : ''
    throw new Error(
      `service ${service.name} (${service.id}) is suspended${by}: resume it in the Render dashboard, then deploy again`
    )
  }
  const previous = await render.liveDeploy(service.id)
  outputs.set('previous-deploy-id', previous?.id)
  host.log.info(
    previous
      ? `Rollback target: live deploy ${previous.id} (${label(previous)})`
      : `Service ${service.name} has no live deploy: there is nothing to roll back to`
  )

  // 3. The GitHub Deployment, in progress.
  const what = inputs.imageUrl ? `image ${inputs.imageUrl}` : `commit ${inputs.commit.slice(0, 7)}`
  const incident = incidents(state, inputs.githubToken, {
    ...inputs.incident,
    action: 'deploy-api',
    target: service.name
  })
  const record = new DeploymentRecord(
    inputs.githubDeployment ? incident.github : undefined,
    host.log,
    ctx.runUrl
  )
  await record.start({
    ref: inputs.commit || ctx.sha,
    environment: inputs.environment,
    description: `Render deploy of ${what} to ${service.name}`
  })
  const run: Run = {
    ...{ inputs, ctx, render, service, previous, record, incident, state, host },
    following: false
  }
  const off = host.cancellation.onCancel(() => cancelled(run))
  try {
    return await deployAndGate(run, what)
  } catch (error) {
    await record.finish('error', errorMessage(error))
    throw error
  } finally {
    off()
    if (record.error) notes.push(record.error)
    summary.section(
      'Render API',
      `${render.calls.get} GET and ${render.calls.post} POST request(s), ${render.calls.retries} of them retries.`
    )
  }
}

async function deployAndGate(run: Run, what: string): Promise<Verdict> {
  const { inputs, render, service, state, host } = run
  const { outputs, summary } = state

  // 4. Trigger: one POST (retried on 429 only).
  host.log.info(
    `Deploying ${what} to ${service.name} (${service.id})${inputs.clearCache ? ', clearing the build cache' : ''}`
  )
  // A run cancelled before this point (its hooks may not have seen it) starts nothing.
  if (host.cancellation.cancelled) {
    const line = 'the run was cancelled before deploying: nothing was changed'
    await run.record.finish('error', line)
    return { ok: false, verdict: line }
  }
  // From the POST to the end of the wait, a cancelled run cancels the deploy (see `cancelled`).
  run.following = true
  run.creating = render
    .createDeploy(service.id, {
      commitId: inputs.commit || undefined,
      imageUrl: inputs.imageUrl || undefined,
      clearCache: inputs.clearCache
    })
    .then(c => c.deploy)
  let deploy: Deploy
  try {
    deploy = await run.creating
  } catch (error) {
    run.following = false
    if (error instanceof UnidentifiedDeployError) return unidentified(run, error)
    throw error
  }
  outputs.set('deploy-id', deploy.id)

  // 5. Wait for a terminal status.
  const since = host.clock.now()
  const waited = await host.log
    .group(`Waiting for deploy ${deploy.id}`, () => waitFor(run, deploy))
    .catch((error: unknown) => lostTrack(run, deploy, error, since))
  // Cancelled meanwhile: the hook cancelled the deploy (or found it live) and says so.
  if (host.cancellation.cancelled)
    return {
      ok: false,
      verdict:
        'outcome' in waited && waited.outcome === 'live'
          ? `deploy ${deploy.id} went live as the run was cancelled: it was not gated`
          : `Render deploy ${deploy.id} was cancelled with the run`
    }
  run.following = false
  if ('verdict' in waited) return waited
  // action.yml: `timeout` when the deploy did not finish in time.
  outputs.set('status', waited.outcome === 'timeout' ? 'timeout' : waited.status)
  summary.section('Deploy', deployTable(run, waited, what))
  if (waited.outcome !== 'live') return notLive(run, waited)

  // 6. The health gate.
  const { health } = inputs
  if (!health)
    return succeed(
      run,
      `Deploy ${deploy.id} is live (no health checks configured)`,
      `✅ deploy ${deploy.id} is live (no health-url or health-checks: gate skipped)`
    )
  const step = await healthStep(
    host,
    summary,
    'Health gate',
    `Health gate after deploy ${deploy.id}`,
    health
  )
  outputs.set('healthy', step.gate.healthy)

  // 7. Healthy: success, close the incident.
  if (step.gate.healthy)
    return succeed(
      run,
      `Deploy ${deploy.id} is live and healthy`,
      `✅ deploy ${deploy.id} is live and healthy (${step.gate.results.length} check(s))`
    )

  // 8. Unhealthy: roll back, check again, report.
  return rollBackAndReport(run, deploy, step)
}

/** How long a cancelled run waits for Render to answer a deploy POST already sent. */
const CANCEL_CREATE_WAIT_MS = 2500

/**
 * The run was cancelled (the runner gives the hooks a few seconds): undo what
 * must not outlive it and say exactly what it changed, in the outputs, the
 * summary and the Deployment record. A deploy still being created or followed
 * is cancelled as soon as it is known (it must not go live without the gate); a
 * live deploy or a rollback is left as it is.
 */
async function cancelled(run: Run): Promise<void> {
  const { render, service, state, previous } = run
  const { outputs } = state
  const keeps = previous ? `; ${previous.id} stays live` : ''
  let line: string
  if (run.following && run.creating) {
    const started = Date.now()
    const pending = Symbol('pending')
    const deploy = await Promise.race([
      run.creating.catch(() => undefined),
      new Promise<typeof pending>(r => setTimeout(() => r(pending), CANCEL_CREATE_WAIT_MS))
    ])
    if (deploy === pending) {
      line =
        "the run was cancelled while Render was still answering the deploy request: check the service's Deploys page, a deploy may have been created"
    } else if (!deploy) {
      line = 'the run was cancelled; the deploy request had failed, nothing was deployed'
    } else {
      outputs.set('deploy-id', deploy.id)
      try {
        const after = await render.cancelDeploy(service.id, deploy.id, started + 4500)
        outputs.set('status', after.status ?? 'canceled')
        line = `the run was cancelled: Render deploy ${deploy.id} was cancelled${keeps}`
      } catch (error) {
        // Too late, perhaps: a deploy that finished meanwhile is reported as it is.
        const now = await render
          .getDeploy(service.id, deploy.id, started + 4500)
          .catch(() => undefined)
        if (now?.status) outputs.set('status', now.status)
        line =
          now?.status === 'live'
            ? `the run was cancelled as Render deploy ${deploy.id} went live: it stays live, without its health gate`
            : `the run was cancelled; cancelling Render deploy ${deploy.id} failed (${errorMessage(error)}): check it in the Render dashboard`
      }
    }
  } else {
    const id = outputs.get('deploy-id')
    const rollback = outputs.get('rollback-deploy-id')
    line = rollback
      ? `the run was cancelled during the rollback: rollback deploy ${rollback} (to ${previous?.id ?? '?'}) is left running; deploy ${id} failed its health gate`
      : outputs.get('status') === 'live'
        ? `the run was cancelled before the health gate of deploy ${id} finished: it stays live, nothing was rolled back`
        : `the run was cancelled${id ? ` after deploy ${id} ended ${outputs.get('status') || 'unknown'}` : ''}`
  }
  run.host.log.info(line)
  state.summary.section('Cancelled', line)
  await run.record.finish('error', line)
}

/** Live (and healthy, when gated): Deployment success, incident closed. */
async function succeed(run: Run, description: string, verdict: string): Promise<Verdict> {
  await run.record.finish('success', description, serviceUrl(run.service))
  run.state.outputs.set('healthy', true)
  await run.incident.resolve()
  return { ok: true, verdict }
}

/** A deploy is cancelled at the deadline; a rollback never is (it is the way back). */
function waitFor(run: Run, deploy: Deploy, cancelOnTimeout = true): Promise<WaitResult> {
  return waitForDeploy({
    client: run.render,
    serviceId: run.service.id,
    deploy,
    timeoutMs: run.inputs.deployTimeoutMs,
    cancelOnTimeout,
    log: m => run.host.log.info(m),
    now: () => run.host.clock.now(),
    sleep: ms => run.host.clock.sleep(ms)
  })
}

/**
 * Render created a deploy that could not be found: it cannot be followed, gated or
 * cancelled, and may go live unchecked. The on-call must look (SEV2).
 */
async function unidentified(run: Run, error: UnidentifiedDeployError): Promise<Verdict> {
  const { service } = run
  const line = `${error.message}; it may go live without a health gate`
  await run.record.finish('failure', line)
  await run.incident.fail({
    severity: forEnvironment('sev2', run.inputs.environment),
    cause: 'Render created a deploy Shipgate could not identify',
    details: `Render created a deploy on \`${service.name}\` (\`${service.id}\`) that Shipgate could not find among the service's newest deploys: ${line}.`,
    evidence: table(['Service', 'Problem'], [[`${service.name} (${service.id})`, error.message]]),
    actions: [
      'Triggered one Render deploy (never re-sent); its answer did not say which deploy it was.',
      "Looked for it in the service's newest deploys, without finding it; did not cancel anything."
    ],
    runbook: ['deploy-failed']
  })
  return { ok: false, verdict: `❌ ${line}` }
}

/**
 * Following the deploy failed (Render refused the polls, an unexpected error): it
 * must not go live without the gate. Cancel it; if it had already finished, carry
 * on as if the wait had seen that; otherwise report the incident.
 */
async function lostTrack(
  run: Run,
  deploy: Deploy,
  error: unknown,
  since: number
): Promise<WaitResult | Verdict> {
  const { render, service, host, state } = run
  const reason = errorMessage(error)
  host.log.warning(`Lost track of deploy ${deploy.id} (${reason}): cancelling it`)
  const budget = (): number => Date.now() + 15_000
  let cancelError: string | undefined
  await render.cancelDeploy(service.id, deploy.id, budget()).catch((e: unknown) => {
    cancelError = errorMessage(e)
  })
  const latest = await render.getDeploy(service.id, deploy.id, budget()).catch(() => undefined)
  const done = outcomeOf(latest?.status)
  if (latest?.status && done && !(latest.status === 'canceled' && !cancelError)) {
    // It finished before the cancel (live: the gate decides; failed: production unchanged).
    host.log.info(`Deploy ${deploy.id}: ${latest.status}`)
    return {
      outcome: done,
      status: latest.status,
      deploy: latest,
      polls: 0,
      elapsedMs: host.clock.now() - since
    }
  }
  const cancelled = !cancelError || latest?.status === 'canceled'
  const line = cancelled
    ? `lost track of deploy ${deploy.id} (${reason}); it was cancelled, so production is unchanged`
    : `lost track of deploy ${deploy.id} (${reason}); cancelling it failed (${cancelError}): it may go live without a health gate, check it in the Render dashboard`
  const status = cancelled ? 'canceled' : (latest?.status ?? 'unknown')
  state.outputs.set('status', status)
  const evidence = table(
    ['Service', 'Deploy', 'Of', 'Status', 'Problem'],
    [[`${service.name} (${service.id})`, deploy.id, label(deploy), status, reason]]
  )
  state.summary.section('Deploy', evidence)
  await run.record.finish('failure', line)
  await run.incident.fail({
    // Cancelled: the release is blocked, users are not affected. Not: it may go live unchecked.
    severity: forEnvironment(cancelled ? 'sev3' : 'sev2', run.inputs.environment),
    cause: `lost track of deploy ${deploy.id}${cancelled ? ', cancelled' : ''}`,
    details: `Render deploy \`${deploy.id}\` of ${label(deploy)} to \`${service.name}\` could not be followed: ${line}.`,
    evidence,
    actions: [
      `Triggered Render deploy \`${deploy.id}\`; following it failed: ${reason}.`,
      cancelled
        ? 'Cancelled it, so it cannot go live without a health gate.'
        : `Tried to cancel it, which failed: ${cancelError}.`
    ],
    runbook: ['deploy-failed']
  })
  return { ok: false, verdict: `❌ ${line}` }
}

/** Failed, superseded or timed out: Render still serves the previous deploy. */
async function notLive(run: Run, waited: WaitResult): Promise<Verdict> {
  const { deploy, status } = waited
  if (waited.outcome === 'superseded') {
    const line = `deploy ${deploy.id} was ${status}: a newer deploy (or a person) superseded it`
    if (run.inputs.onSuperseded === 'succeed') {
      await run.record.finish('inactive', line)
      return { ok: true, verdict: `⏭️ ${line} (on-superseded: succeed)` }
    }
    await run.record.finish('failure', line)
    await reportUnchanged(run, waited, `${line} (on-superseded: fail)`)
    return { ok: false, verdict: `❌ ${line} (on-superseded: fail)` }
  }
  if (waited.outcome === 'timeout') {
    const cancel = waited.canceled
      ? 'it was cancelled'
      : `cancelling it failed (${waited.cancelError ?? 'unknown reason'}): cancel it in the Render dashboard`
    const line = `deploy ${deploy.id} was still ${waited.statusAtDeadline} after deploy-timeout (${formatDuration(run.inputs.deployTimeoutMs)}); ${cancel}`
    await run.record.finish('failure', line)
    await reportUnchanged(run, waited, line)
    return { ok: false, verdict: `❌ ${line}` }
  }
  const line = run.previous
    ? `deploy ${deploy.id} ended ${status}: Render keeps the previous deploy (${run.previous.id}) live, so production is unchanged`
    : `deploy ${deploy.id} ended ${status}; no deploy was live before it`
  await run.record.finish('failure', line)
  await reportUnchanged(run, waited, line)
  return { ok: false, verdict: `❌ ${line}. Read the deploy's logs in the Render dashboard.` }
}

/**
 * A deploy that never went live leaves production as it was: a SEV3 incident
 * (minor: the release is blocked, users are not affected), closed by the next good deploy.
 * One that timed out and could not be cancelled may still go live ungated: SEV2.
 */
async function reportUnchanged(run: Run, waited: WaitResult, line: string): Promise<void> {
  const { deploy } = waited
  // A timed-out deploy that could not be cancelled may still go live without the gate.
  const running = waited.outcome === 'timeout' && !waited.canceled
  await run.incident.fail({
    severity: forEnvironment(running ? 'sev2' : 'sev3', run.inputs.environment),
    cause: `deploy ${deploy.id} ${waited.outcome === 'timeout' ? `timed out${running ? ', not cancelled' : ''}` : `ended ${waited.status}`}`,
    details: `Render deploy \`${deploy.id}\` of ${label(deploy)} to \`${run.service.name}\` did not go live: ${line}.`,
    evidence: deployTable(run, waited, label(deploy)),
    actions: [
      `Triggered Render deploy \`${deploy.id}\` and followed it for ${formatDuration(waited.elapsedMs)} (${waited.polls} status checks).`,
      waited.outcome === 'timeout'
        ? waited.canceled
          ? 'Cancelled it at the deploy-timeout.'
          : 'Could not cancel it at the deploy-timeout.'
        : 'Left the previous deploy live; nothing to roll back.'
    ],
    runbook: ['deploy-failed']
  })
}

const AUTO_DEPLOY_WARNING =
  "Render's API rollback leaves auto-deploy on: the next push to the branch deploys the bad code again. " +
  'Pause auto-deploy or revert the commit.'

/** Rolls back to the deploy that was live before, waits for it (never cancelled), and gates again. */
async function rollBack(run: Run): Promise<RollbackResult> {
  const { inputs, render, service, previous, state } = run
  if (!inputs.rollbackOnFailure)
    return {
      live: false,
      problem: '',
      actions: ['Did not roll back: `rollback-on-failure` is off.']
    }
  if (!previous)
    return {
      live: false,
      problem: '',
      actions: ['Could not roll back: the service had no live deploy before this one.']
    }
  // A cancelled run rolls nothing back (its report says the deploy stays live).
  if (run.host.cancellation.cancelled)
    return { live: false, problem: '', actions: ['Did not roll back: the run was cancelled.'] }
  let started: Deploy | undefined
  return rollBackAndGate({
    host: run.host,
    summary: state.summary,
    targetId: previous.id,
    health: inputs.health,
    warning: AUTO_DEPLOY_WARNING,
    onStarted: id => state.outputs.set('rollback-deploy-id', id),
    platform: {
      noun: 'Render deploy',
      start: async id => {
        started = await render.rollback(service.id, id)
        return started.id
      },
      wait: async id => {
        const waited = await waitFor(run, started!, false)
        const evidence = deployTable(run, waited, `rollback to ${previous.id}`)
        if (waited.outcome === 'live') {
          state.outputs.set('rolled-back', true)
          return { evidence }
        }
        const problem =
          waited.outcome === 'timeout'
            ? `rollback deploy ${id} was still ${waited.statusAtDeadline} at deploy-timeout; it was left running (do not cancel it)`
            : `rollback deploy ${id} ended ${waited.status}`
        return { problem, evidence }
      }
    }
  })
}

/** The gate failed: roll back, then open or update the incident (SEV2 if health came back, else SEV1). */
async function rollBackAndReport(run: Run, deploy: Deploy, first: HealthStep): Promise<Verdict> {
  const { inputs, service, previous } = run
  const { rollbackId: rollback, after, problem, actions } = await rollBack(run)
  const restored = after?.gate.healthy === true
  // Nothing tried: the gate's own severity (an outage is SEV1, slowness alone SEV2).
  const level: Severity = restored
    ? 'sev2'
    : rollback || problem
      ? 'sev1'
      : (first.gate.severity ?? 'sev1')
  const severity = forEnvironment(level, inputs.environment)
  const outcome = restored
    ? `rolled back to ${previous!.id}, healthy again`
    : problem || (rollback ? 'still unhealthy after the rollback' : 'not rolled back')
  const evidence = [`**After deploy \`${deploy.id}\`**`, first.evidence]
  if (after && rollback) evidence.push(`**After rollback deploy \`${rollback}\`**`, after.evidence)
  await run.incident.fail({
    severity,
    cause: `deploy ${deploy.id} unhealthy, ${outcome}`,
    details: [
      `Render deploy \`${deploy.id}\` of ${label(deploy)} to \`${service.name}\` (\`${service.id}\`) went live and failed its health gate.`,
      rollback ? `Rollback deploy: \`${rollback}\` (to \`${previous!.id}\`).` : '',
      restored ? 'The rollback restored health.' : 'Health is not restored.'
    ]
      .filter(Boolean)
      .join(' '),
    evidence: evidence.join('\n\n'),
    actions: [
      `Deployed ${label(deploy)} as Render deploy \`${deploy.id}\`; it went live.`,
      `The health gate failed: ${first.cause}.`,
      ...actions
    ],
    runbook: ['rollback', 'http-503', ...(after ?? first).runbook],
    url: first.url
  })
  await run.record.finish(
    'failure',
    `Deploy ${deploy.id} failed its health gate; ${outcome}`,
    serviceUrl(service)
  )
  return {
    ok: false,
    verdict: `❌ deploy ${deploy.id} failed its health gate (${severity.toUpperCase()}): ${outcome}`
  }
}

function serviceUrl(service: Service): string | undefined {
  return service.serviceDetails?.url
}

/** What a deploy ships, in words. */
function label(d: Deploy): string {
  if (d.image?.ref) return `image ${d.image.ref}`
  if (d.commit?.id) return `commit ${d.commit.id.slice(0, 7)}`
  return "the service's latest commit"
}

function deployTable(run: Run, waited: WaitResult, what: string): string {
  return table(
    ['Service', 'Deploy', 'Of', 'Status', 'Waited', 'Polls'],
    [
      [
        `${run.service.name} (${run.service.id})`,
        waited.deploy.id,
        what,
        waited.status,
        formatDuration(waited.elapsedMs),
        waited.polls
      ]
    ]
  )
}
