import type { Host } from '../../runtime/host.js'
import type { Summary } from '../../runtime/summary.js'
import type { RunbookKey } from '../incident/runbook.js'
import { causeLine, evidenceMarkdown, runbookFor } from './evidence.js'
import { runHealthGate, type GateResult } from './gate.js'
import type { HealthConfig } from './inputs.js'

export interface HealthStep {
  gate: GateResult
  /** The evidence table and excerpts, as in the summary. */
  evidence: string
  cause: string
  runbook: RunbookKey[]
  /** The first failing URL, for the runbook's commands. */
  url?: string
}

/** Runs the health gate in a log group and adds its evidence to the summary. */
export async function healthStep(
  host: Pick<Host, 'log' | 'clock'>,
  summary: Summary,
  group: string,
  heading: string,
  config: HealthConfig
): Promise<HealthStep> {
  const gate = await host.log.group(group, () =>
    runHealthGate({
      ...config,
      log: m => host.log.info(m),
      now: () => host.clock.now(),
      sleep: ms => host.clock.sleep(ms)
    })
  )
  const evidence = evidenceMarkdown(gate)
  summary.section(heading, evidence)
  return {
    gate,
    evidence,
    cause: causeLine(gate.results),
    runbook: runbookFor(gate.results),
    url: gate.results.find(r => !r.ok)?.url
  }
}
