import * as core from '@actions/core'
import { logger, recordIncident, type RunState } from './action.js'
import { createGitHub } from './clients.js'
import { getContext } from './context.js'
import type { GitHub } from './github.js'
import {
  causeLine,
  evidenceMarkdown,
  runbookFor,
  runHealthGate,
  type GateResult,
  type HealthConfig
} from './health.js'
import {
  reportFailure,
  resolveIncident,
  type FailureReport,
  type IncidentSettings
} from './incident.js'
import type { RunbookKey } from './runbook.js'
import type { Summary } from './summary.js'

export interface Incidents {
  /** The run's one GitHub client (undefined without a token). */
  github?: GitHub
  /** Opens or updates the incident, recording the outcome in outputs and summary. */
  fail(report: FailureReport): Promise<void>
  /** Closes the open incident, if any, recording the outcome. */
  resolve(): Promise<void>
}

/** The incident lifecycle of one run, for one fingerprint. */
export function incidents(
  state: RunState<'issue-number' | 'issue-url'>,
  token: string,
  settings: IncidentSettings
): Incidents {
  const github = createGitHub(token)
  const ctx = getContext()
  return {
    github,
    fail: async report =>
      recordIncident(state, await reportFailure(github, settings, report, ctx, logger)),
    resolve: async () => recordIncident(state, await resolveIncident(github, settings, ctx, logger))
  }
}

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
  summary: Summary,
  group: string,
  heading: string,
  config: HealthConfig
): Promise<HealthStep> {
  const gate = await core.group(group, () => runHealthGate({ ...config, log: logger.info }))
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
