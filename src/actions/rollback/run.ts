import type { Clients } from '../../providers/clients.js'
import type { GitHub } from '../../providers/github/client.js'
import type { Host } from '../../runtime/host.js'
import { errorMessage } from '../../runtime/errors.js'
import { formatDuration } from '../../runtime/inputs.js'
import { runAction, type Outcome, type RunState } from '../../runtime/run-action.js'
import { DeploymentRecord } from '../../engines/deployment.js'
import { commentOnIncidents, type IncidentSettings } from '../../engines/incident/incident.js'
import { incidents, recordIncident } from '../../engines/incident/lifecycle.js'
import { forEnvironment } from '../../engines/incident/severity.js'
import { rollBackAndGate, type RollbackResult } from '../../engines/rollback.js'
import { getInputs, OUTPUTS, type RollbackInputs } from './inputs.js'
import { candidatesJson, candidatesTable, shortDescription, type Resolution } from './report.js'
import { renderSide } from './engine/render.js'
import { vercelSide } from './engine/vercel.js'
import { RollbackRefused, type Side } from './engine/side.js'

type State = RunState<keyof typeof OUTPUTS, Clients>
type Verdict = { ok: boolean; verdict: string }

export function run(host: Host<Clients>): Promise<Outcome> {
  return runAction(host, 'rollback', OUTPUTS, state => rollback(state), {
    durationOutput: 'duration-seconds'
  })
}

function side(state: State, inputs: RollbackInputs): Promise<Side> {
  const { host } = state
  const pace = {
    log: (m: string) => host.log.info(m),
    now: () => host.clock.now(),
    sleep: (ms: number) => host.clock.sleep(ms)
  }
  if (inputs.platform === 'render')
    return renderSide({
      render: host.clients.render({ apiKey: inputs.apiKey, baseUrl: inputs.apiUrl, ...pace }),
      serviceId: inputs.targetId,
      pauseAutoDeploy: inputs.pauseAutoDeploy,
      timeoutMs: inputs.timeoutMs,
      log: host.log,
      now: pace.now,
      sleep: pace.sleep
    })
  return vercelSide({
    vercel: host.clients.vercel({
      token: inputs.apiKey,
      teamId: inputs.teamId || undefined,
      baseUrl: inputs.apiUrl,
      ...pace
    }),
    projectId: inputs.targetId,
    teamId: inputs.teamId,
    reason: inputs.reason,
    timeoutMs: inputs.timeoutMs,
    log: host.log,
    now: pace.now,
    sleep: pace.sleep
  })
}

async function rollback(state: State): Promise<Verdict> {
  const { host, summary } = state
  const inputs = getInputs(host.input, host.log.debug)
  const target = await side(state, inputs)
  try {
    return await resolveAndRollBack(state, inputs, target)
  } finally {
    summary.section('API calls', target.calls())
  }
}

async function resolveAndRollBack(
  state: State,
  inputs: RollbackInputs,
  target: Side
): Promise<Verdict> {
  const { host, outputs, summary } = state
  const reason = inputs.reason ? `\n\nReason: ${inputs.reason}` : ''
  summary.section(
    'Target',
    `${target.label}, environment \`${inputs.environment}\`${inputs.dryRun ? ' (dry run: nothing is changed)' : ''}.${reason}`
  )

  // 1. What serves now, and where to go back to; nothing changes before this passes.
  let res: Resolution
  try {
    res = await target.resolve(inputs.to)
  } catch (error) {
    if (error instanceof RollbackRefused) {
      outputs.set('candidates', candidatesJson(error.candidates))
      summary.section('Candidates', candidatesTable(error.candidates))
    }
    throw error
  }
  outputs.set('candidates', candidatesJson(res.candidates))
  summary.section('Candidates', candidatesTable(res.candidates))
  for (const w of res.warnings) {
    host.log.warning(w)
    state.notes.push(w)
  }
  const from = res.current.id
  const to = res.target.id
  host.log.info(`Rollback of ${target.name}: from ${from} to ${to} (${res.target.what})`)

  if (inputs.dryRun) {
    summary.section(
      'Dry run',
      `Would roll back from \`${from}\` to \`${to}\`. ${target.trap(true)}`
    )
    return {
      ok: true,
      verdict: `🔍 dry run: would roll back ${target.name} from ${from} to ${to}; nothing was changed`
    }
  }

  // The body runs on for a moment after a cancel: a cancelled run starts no rollback.
  if (host.cancellation.cancelled)
    return {
      ok: false,
      verdict: `the run was cancelled before the rollback of ${target.name} to ${to}: nothing was changed`
    }

  // 2. The GitHub Deployment, then the rollback through the shared engine.
  const incident = incidents(state, inputs.githubToken, {
    ...inputs.incident,
    action: 'rollback',
    target: inputs.name || target.name
  })
  const record = new DeploymentRecord(
    inputs.githubDeployment ? incident.github : undefined,
    host.log,
    host.context.runUrl
  )
  const why = inputs.reason ? `: ${inputs.reason}` : ''
  await record.start({
    ref: host.context.sha,
    environment: inputs.environment,
    description: shortDescription(`Rollback of ${target.name} from ${from} to ${to}${why}`)
  })
  const started = host.clock.now()
  // A cancelled run stops following; the rollback itself is never cancelled: say so.
  let accepted = false
  const offCancel = host.cancellation.onCancel(async () => {
    const line = accepted
      ? `The run was cancelled while following the rollback from ${from} to ${to}: a rollback is never cancelled, so it goes on; check that ${target.name} serves and is healthy.`
      : `The run was cancelled while asking for the rollback to ${to}: it may or may not have started (it is never cancelled); check ${target.name}.`
    host.log.warning(line)
    state.notes.push(line)
  })
  let result: RollbackResult
  try {
    result = await rollBackAndGate({
      host,
      summary,
      platform: target.platform(res),
      targetId: to,
      health: inputs.health,
      onStarted: () => {
        accepted = true
        outputs.set('rolled-back-from', from)
        outputs.set('rolled-back-to', to)
      }
    })
  } catch (error) {
    await record.finish('error', shortDescription(errorMessage(error)))
    throw error
  } finally {
    offCancel()
    if (record.error) state.notes.push(record.error)
  }
  const trap = target.trap(false)
  summary.section('After the rollback', trap)
  const elapsed = formatDuration(host.clock.now() - started)
  const healthy = result.live && (result.after?.gate.healthy ?? true)

  // 3. Healthy: say so on the open incidents (left open); failed: SEV1.
  if (healthy) {
    outputs.set('healthy', true)
    const gated = result.after ? 'healthy' : 'live (no health checks configured)'
    await incident.resolve()
    await reportRecovery(state, inputs, target, incident.github, {
      body: [
        `Rolled back from \`${from}\` to \`${to}\`, ${gated} after ${elapsed}.`,
        inputs.reason ? `Reason: ${inputs.reason}` : '',
        trap,
        host.context.runUrl ? `[Rollback run](${host.context.runUrl}).` : '',
        'Left open for the post-mortem.'
      ]
        .filter(Boolean)
        .join('\n\n')
    })
    await record.finish(
      'success',
      shortDescription(`Rolled back from ${from} to ${to}, ${gated}${why}`),
      inputs.productionUrl || target.url
    )
    return {
      ok: true,
      verdict: `✅ rolled back ${target.name} from ${from} to ${to}: ${gated} after ${elapsed}`
    }
  }
  const problem = result.problem || 'still unhealthy after the rollback'
  const evidence = [res.current, res.target].map(c => `- \`${c.id}\` (${c.what}): ${c.reason}`)
  await incident.fail({
    severity: forEnvironment('sev1', inputs.environment),
    cause: `rollback from ${from} to ${to} ${result.problem ? 'failed' : 'did not restore health'}`,
    details: [
      `Shipgate rolled ${target.label} back from \`${from}\` to \`${to}\`; ${problem}.`,
      inputs.reason ? `Reason for the rollback: ${inputs.reason}` : ''
    ]
      .filter(Boolean)
      .join('\n\n'),
    evidence: [
      evidence.join('\n'),
      result.after ? `**Health gate after the rollback**\n\n${result.after.evidence}` : ''
    ]
      .filter(Boolean)
      .join('\n\n'),
    actions: [...result.actions, trap],
    runbook: [...target.runbook, ...(result.after?.runbook ?? [])],
    url: result.after?.url
  })
  await record.finish(
    'failure',
    shortDescription(`Rollback to ${to}: ${problem}`),
    inputs.productionUrl || target.url
  )
  return { ok: false, verdict: `❌ rollback of ${target.name} from ${from} to ${to}: ${problem}` }
}

/** Comments on the deploy action's and smoke-health's open incidents for this target. */
async function reportRecovery(
  state: State,
  inputs: RollbackInputs,
  target: Side,
  github: GitHub | undefined,
  o: { body: string }
): Promise<void> {
  const names = new Set<string>([inputs.name, target.name].filter(Boolean))
  // smoke-health names a target by its first URL's host unless told otherwise.
  for (const url of [
    inputs.productionUrl,
    target.url,
    ...(inputs.health?.checks ?? []).map(c => c.url)
  ])
    if (url) names.add(new URL(url).host)
  const targets: Array<Pick<IncidentSettings, 'action' | 'target'>> = []
  for (const name of names)
    for (const action of [target.deployAction, 'smoke-health'])
      targets.push({ action, target: name })
  const settings = { ...inputs.incident, action: 'rollback', target: target.name }
  const { commented, error } = await commentOnIncidents(
    github,
    settings,
    targets,
    o.body,
    state.host.log
  )
  for (const issue of commented)
    recordIncident(state, { state: 'updated', number: issue.number, url: issue.html_url })
  if (error) state.notes.push(`Incident not commented: ${error}`)
}
