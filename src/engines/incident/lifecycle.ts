import type { GitHub } from '../../providers/github/client.js'
import type { Clients } from '../../providers/clients.js'
import type { RunState } from '../../runtime/run-action.js'
import {
  reportFailure,
  resolveIncident,
  type FailureReport,
  type IncidentOutcome,
  type IncidentSettings
} from './incident.js'

export interface Incidents {
  /** The run's one GitHub client (undefined without a token). */
  github?: GitHub
  /** Opens or updates the incident, recording the outcome in outputs and summary. */
  fail(report: FailureReport): Promise<void>
  /** Closes the open incident, if any, recording the outcome. */
  resolve(): Promise<void>
}

type IncidentState = RunState<'issue-number' | 'issue-url', Clients>

/** The incident lifecycle of one run, for one fingerprint. A cancelled run opens and closes nothing. */
export function incidents(
  state: IncidentState,
  token: string,
  settings: IncidentSettings
): Incidents {
  const { host } = state
  const github = host.clients.github(token)
  const live = (): IncidentSettings =>
    host.cancellation.cancelled ? { ...settings, open: false, close: false } : settings
  return {
    github,
    fail: async report =>
      recordIncident(state, await reportFailure(github, live(), report, host.context, host.log)),
    resolve: async () =>
      recordIncident(
        state,
        await resolveIncident(github, live(), host.context, host.log, host.clock.now())
      )
  }
}

/** Puts an incident outcome into the outputs and the summary; a refusal becomes a note. */
export function recordIncident(state: IncidentState, outcome: IncidentOutcome): void {
  if (outcome.number) {
    state.outputs.set('issue-number', outcome.number)
    state.outputs.set('issue-url', outcome.url)
    state.summary.add(`Incident [#${outcome.number}](${outcome.url}): ${outcome.state}.`)
  }
  if (outcome.error) state.notes.push(`Incident not recorded: ${outcome.error}`)
}
