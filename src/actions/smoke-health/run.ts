import type { Clients } from '../../providers/clients.js'
import type { Host } from '../../runtime/host.js'
import { runAction, type Outcome } from '../../runtime/run-action.js'
import { reportJson } from '../../engines/health/evidence.js'
import { formatDuration } from '../../runtime/inputs.js'
import { forEnvironment } from '../../engines/incident/severity.js'
import { healthStep } from '../../engines/health/step.js'
import { incidents } from '../../engines/incident/lifecycle.js'
import { getInputs } from './inputs.js'

const OUTPUTS = {
  healthy: 'false',
  severity: '',
  failed: '',
  report: '[]',
  'issue-number': '',
  'issue-url': ''
}

export function run(host: Host<Clients>): Promise<Outcome> {
  return runAction(host, 'smoke-health', OUTPUTS, async state => {
    const { outputs } = state
    const inputs = getInputs(host.input, host.log.debug)
    const { health } = inputs
    host.log.info(
      `Checking ${health.checks.length} endpoint(s) for ${inputs.name} (${inputs.environment}): ` +
        `${health.successes} passing round(s) needed within ${formatDuration(health.timeoutMs)}`
    )
    const step = await healthStep(
      host,
      state.summary,
      'Health checks',
      `Health of ${inputs.name} (${inputs.environment})`,
      health
    )
    const { gate } = step
    const severity = gate.severity && forEnvironment(gate.severity, inputs.environment)
    outputs.set('healthy', gate.healthy)
    outputs.set('severity', severity)
    outputs.set('failed', gate.failed.join(','))
    outputs.set('report', reportJson(gate.results))

    const incident = incidents(state, inputs.githubToken, {
      ...inputs.incident,
      action: 'smoke-health',
      target: inputs.name
    })
    if (gate.healthy) {
      await incident.resolve()
      return { ok: true, verdict: `✅ healthy: ${gate.results.length} check(s) passed` }
    }
    await incident.fail({
      severity: severity!,
      cause: step.cause,
      details: `${gate.failed.length} of ${gate.results.length} health check(s) failed for \`${inputs.name}\` in \`${inputs.environment}\`.`,
      evidence: step.evidence,
      actions: [
        `Probed every endpoint for up to ${formatDuration(health.timeoutMs)}, every ${formatDuration(health.intervalMs)}, before calling it unhealthy.`,
        'Opened this incident; it is updated on repeats and closed when the checks pass again.'
      ],
      runbook: step.runbook,
      url: step.url
    })
    const verdict = `❌ unhealthy (${severity!.toUpperCase()}): ${step.cause}`
    if (!inputs.failOnUnhealthy) {
      host.log.warning(verdict)
      return { ok: true, verdict: `${verdict} (fail-on-unhealthy is off)` }
    }
    return { ok: false, verdict }
  })
}
