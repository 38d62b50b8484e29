import { ConfigurationError, errorMessage } from './errors.js'
import type { Host } from './host.js'
import { redact } from './redact.js'
import { Summary } from './summary.js'

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
  all(): Record<K, string> {
    const out = {} as Record<K, string>
    for (const k of Object.keys(this.values) as K[]) out[k] = redact(this.values[k])
    return out
  }
}

export interface RunState<K extends string, C = unknown> {
  host: Host<C>
  outputs: Outputs<K>
  summary: Summary
  /** Problems that did not change the verdict but the reader must see (e.g. GitHub refused). */
  notes: string[]
}

/** What a run's body decides. */
export interface BodyResult {
  ok: boolean
  verdict: string
}

/** How a run ended, for the host (exit status) and the CLI (`--json`). */
export interface Outcome {
  status: 'ok' | 'failed' | 'configuration' | 'cancelled'
  /** One plain line: the last line of the summary and of the log. */
  verdict: string
  /** The failure message, without the action's name. */
  message?: string
  outputs: Record<string, string>
  summary: string
}

/**
 * Runs one action: the body returns a verdict or throws. Outputs are set and the
 * summary written on every path (success, failure, configuration error, cancel);
 * a throw fails the step with one message. A cancelled run returns as soon as the
 * cancel hooks have run, with what is known then. `durationOutput` names an output
 * that gets the run's whole seconds.
 */
export async function runAction<K extends string, C>(
  host: Host<C>,
  name: string,
  defaults: Record<K, string>,
  body: (state: RunState<K, C>) => Promise<BodyResult>,
  options: { durationOutput?: NoInfer<K> } = {}
): Promise<Outcome> {
  const started = host.clock.now()
  const state: RunState<K, C> = {
    host,
    outputs: new Outputs(defaults),
    summary: new Summary(`Shipgate ${name}`),
    notes: []
  }
  const cancelled = host.cancellation.whenCancelled().then(reason => ({ reason }))
  let status: Outcome['status'] = 'ok'
  let verdict = ''
  let message: string | undefined
  try {
    const result = await Promise.race([body(state), cancelled])
    if ('reason' in result) {
      status = 'cancelled'
      verdict = `⏹️ cancelled (${result.reason}): stopped before finishing`
    } else {
      verdict = result.verdict
      if (!result.ok) {
        status = 'failed'
        message = redact(result.verdict.replace(/^(?:✅|❌|⚠️)\s*/u, ''))
      }
    }
  } catch (error) {
    message = redact(errorMessage(error))
    status = error instanceof ConfigurationError ? 'configuration' : 'failed'
    verdict = `❌ ${status === 'configuration' ? 'configuration error' : 'failed'}: ${message}`
    if (!(error instanceof ConfigurationError) && error instanceof Error && error.stack)
      host.log.debug(redact(error.stack))
  }
  // A body that ended while the run was being cancelled: the cancel hooks (still
  // running) record what they undid in the outputs and summary; wait for them.
  if (host.cancellation.cancelled) await cancelled
  if (host.cancellation.cancelled && status !== 'cancelled') {
    status = 'cancelled'
    verdict = `⏹️ cancelled; ${verdict}`
  }
  verdict = redact(verdict.replace(/\s*\n\s*/g, ' '))
  // Whole seconds the run took, on every path (a cancelled run's too).
  if (options.durationOutput)
    state.outputs.set(options.durationOutput, Math.round((host.clock.now() - started) / 1000))
  const outputs = state.outputs.all()
  try {
    for (const k of Object.keys(outputs) as K[]) host.setOutput(k, outputs[k])
  } catch (error) {
    host.log.warning(`Could not set the step's outputs: ${errorMessage(error)}`)
  }
  for (const note of state.notes) state.summary.add(`> [!WARNING]\n> ${note}`)
  const summary = state.summary.render(verdict)
  try {
    await host.writeSummary(summary)
  } catch (error) {
    host.log.warning(`Could not write the job summary: ${errorMessage(error)}`)
  }
  if (status === 'failed' || status === 'configuration') host.setFailed(`${name}: ${message}`)
  else if (status === 'cancelled') host.setFailed(`${name}: ${verdict}`)
  host.log.info(verdict)
  return { status, verdict, message, outputs, summary }
}
