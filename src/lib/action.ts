import * as core from '@actions/core'
import { ConfigurationError, errorMessage } from './errors.js'
import { closeConnections } from './http.js'
import { isCancelled, markCancelled, type IncidentOutcome } from './incident.js'
import type { Logger } from './logger.js'
import { redact } from './redact.js'
import { Summary } from './summary.js'

export const logger: Logger = {
  info: m => core.info(redact(m)),
  warning: m => core.warning(redact(m)),
  error: m => core.error(redact(m))
}

/** Outputs collected during the run and set once at the end, on every path. */
export class Outputs<K extends string> {
  private readonly values: Record<K, string>
  constructor(defaults: Record<K, string>) {
    this.values = { ...defaults }
  }
  set(name: K, value: string | number | boolean | undefined): void {
    this.values[name] = value === undefined ? '' : String(value)
  }
  get(name: K): string {
    return this.values[name]
  }
  flush(): void {
    for (const [k, v] of Object.entries(this.values)) core.setOutput(k, redact(v as string))
  }
}

export interface RunState<K extends string> {
  outputs: Outputs<K>
  summary: Summary
  /** Problems that did not change the verdict but the reader must see (e.g. GitHub refused). */
  notes: string[]
}

/**
 * Runs one action: the body returns a verdict line or throws. Outputs are set
 * and the summary written on every path; a throw fails the step with one message.
 */
/** Work to undo when the runner cancels the run (e.g. cancel a deploy in flight). */
const cancelHooks = new Set<() => Promise<void>>()

/** Registers `hook` for a cancelled run; returns the function that unregisters it. */
export function onCancel(hook: () => Promise<void>): () => void {
  cancelHooks.add(hook)
  return () => cancelHooks.delete(hook)
}

/** How long cancel hooks may take: the runner sends SIGTERM 7.5 s after SIGINT. */
const CANCEL_HOOK_BUDGET_MS = 5000

export async function runAction<K extends string>(
  name: string,
  defaults: Record<K, string>,
  body: (state: RunState<K>) => Promise<{ ok: boolean; verdict: string }>
): Promise<void> {
  const state: RunState<K> = {
    outputs: new Outputs(defaults),
    summary: new Summary(`Shipgate ${name}`),
    notes: []
  }
  let written = false
  const finish = async (verdict: string): Promise<void> => {
    if (written) return
    written = true
    state.outputs.flush()
    for (const note of state.notes) state.summary.add(`> [!WARNING]\n> ${note}`)
    await state.summary.write(verdict)
    await closeConnections()
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      markCancelled()
      core.warning(
        `${name}: received ${signal}, the run was cancelled; no incident is opened or closed`
      )
      process.exitCode = 1
      // Undo what must not outlive the run, give in-flight work a moment, then write what is known and stop.
      const hooks = Promise.allSettled([...cancelHooks].map(h => h()))
      const budget = new Promise(r => setTimeout(r, CANCEL_HOOK_BUDGET_MS))
      const grace = new Promise(r => setTimeout(r, 1500))
      void Promise.all([Promise.race([hooks, budget]), grace])
        .then(() => finish(`⏹️ cancelled (${signal})`))
        .finally(() => process.exit(1))
    })
  }
  let verdict = ''
  try {
    const result = await body(state)
    verdict = result.verdict
    if (!result.ok) core.setFailed(redact(`${name}: ${result.verdict.replace(/^[✅❌]\s*/u, '')}`))
  } catch (error) {
    const message = redact(errorMessage(error))
    const kind = error instanceof ConfigurationError ? 'configuration error' : 'failed'
    verdict = `❌ ${kind}: ${message}`
    core.setFailed(`${name}: ${message}`)
  } finally {
    await finish(isCancelled() ? `⏹️ cancelled; ${verdict}` : verdict)
  }
}

/** Puts an incident outcome into the outputs and the summary; a refusal becomes a note. */
export function recordIncident<K extends string>(
  state: RunState<K | 'issue-number' | 'issue-url'>,
  outcome: IncidentOutcome
): void {
  if (outcome.number) {
    state.outputs.set('issue-number', outcome.number)
    state.outputs.set('issue-url', outcome.url)
    state.summary.add(`Incident [#${outcome.number}](${outcome.url}): ${outcome.state}.`)
  }
  if (outcome.error) state.notes.push(`Incident not recorded: ${outcome.error}`)
}
