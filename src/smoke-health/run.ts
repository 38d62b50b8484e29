import * as core from '@actions/core'
import { logger, recordIncident, runAction } from '../lib/action.js'
import { createGitHub } from '../lib/clients.js'
import { getContext } from '../lib/context.js'
import {
  causeLine,
  evidenceMarkdown,
  reportJson,
  runbookFor,
  runHealthGate
} from '../lib/health.js'
import { reportFailure, resolveIncident, type IncidentOutcome } from '../lib/incident.js'
import { formatDuration } from '../lib/inputs.js'
import { forEnvironment } from '../lib/severity.js'
import { getInputs } from './inputs.js'

const OUTPUTS = {
  healthy: 'false',
  severity: '',
  failed: '',
  report: '[]',
  'issue-number': '',
  'issue-url': ''
}

export async function run(): Promise<void> {
  await runAction('smoke-health', OUTPUTS, async state => {
    const { outputs, summary } = state
    const inputs = getInputs()
    const ctx = getContext()
    const { health } = inputs
    core.info(
      `Checking ${health.checks.length} endpoint(s) for ${inputs.name} (${inputs.environment}): ` +
        `${health.successes} passing round(s) needed within ${health.timeoutMs / 1000} s`
    )
    const gate = await core.group('Health checks', () =>
      runHealthGate({ ...health, log: core.info })
    )
    const severity = gate.severity && forEnvironment(gate.severity, inputs.environment)
    outputs.set('healthy', gate.healthy)
    outputs.set('severity', severity)
    outputs.set('failed', gate.failed.join(','))
    outputs.set('report', reportJson(gate.results))
    summary.section(`Health of ${inputs.name} (${inputs.environment})`, evidenceMarkdown(gate))

    const github = createGitHub(inputs.githubToken)
    const settings = { ...inputs.incident, action: 'smoke-health', target: inputs.name }
    let outcome: IncidentOutcome
    if (gate.healthy) {
      outcome = await resolveIncident(github, settings, ctx, logger)
    } else {
      outcome = await reportFailure(
        github,
        settings,
        {
          severity: severity!,
          cause: causeLine(gate.results),
          details: `${gate.failed.length} of ${gate.results.length} health check(s) failed for \`${inputs.name}\` in \`${inputs.environment}\`.`,
          evidence: evidenceMarkdown(gate),
          actions: [
            `Probed every endpoint for up to ${formatDuration(health.timeoutMs)}, every ${formatDuration(health.intervalMs)}, before calling it unhealthy.`,
            'Opened this incident; it is updated on repeats and closed when the checks pass again.'
          ],
          runbook: runbookFor(gate.results),
          url: gate.results.find(r => !r.ok)?.url
        },
        ctx,
        logger
      )
    }
    recordIncident(state, outcome)

    if (gate.healthy)
      return { ok: true, verdict: `✅ healthy: ${gate.results.length} check(s) passed` }
    const verdict = `❌ unhealthy (${severity!.toUpperCase()}): ${causeLine(gate.results)}`
    if (!inputs.failOnUnhealthy) {
      core.warning(verdict)
      return { ok: true, verdict: `${verdict} (fail-on-unhealthy is off)` }
    }
    return { ok: false, verdict }
  })
}
