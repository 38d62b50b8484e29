import type { RunContext } from './context.js'
import type { Logger } from './logger.js'

export type { Logger } from './logger.js'

export interface Clock {
  now(): number
  sleep(ms: number): Promise<void>
}

/** The runner cancelling the run (SIGINT/SIGTERM), or a terminal's Ctrl-C. */
export interface Cancellation {
  readonly cancelled: boolean
  /** Registers work to undo on cancel; returns the function that unregisters it. */
  onCancel(hook: () => Promise<void>): () => void
  /** Resolves with the reason once cancelled and the hooks have had their time. */
  whenCancelled(): Promise<string>
}

/**
 * Everything an action takes from where it runs. The Actions host backs it with
 * @actions/core; tests pass a recording host; the CLI passes a terminal host.
 * `C` is the clients factory (defined by the providers layer).
 */
export interface Host<C = unknown> {
  /** The raw value of an input ('' when unset). */
  input(name: string): string
  log: Logger
  setOutput(name: string, value: string): void
  /** Writes the job summary (Markdown); a host without one ignores it. */
  writeSummary(markdown: string): Promise<void>
  /** Marks the run failed with one message (does not throw or exit). */
  setFailed(message: string): void
  /** Masks a secret in the log from now on. */
  mask(secret: string): void
  clock: Clock
  context: RunContext
  cancellation: Cancellation
  /** Where the run may read files (the checkout) and write temporary ones. */
  paths: { workspace: string; temp: string }
  /** Environment variables an action may consult (proxy settings, tool paths). */
  env: Readonly<Record<string, string | undefined>>
  clients: C
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: ms => new Promise(resolve => setTimeout(resolve, Math.max(0, ms)))
}

/** A cancellation source: `cancel()` runs the hooks (bounded), then settles `whenCancelled`. */
export class CancelSource implements Cancellation {
  private readonly hooks = new Set<() => Promise<void>>()
  private settle: (reason: string) => void = () => {}
  private readonly done = new Promise<string>(resolve => (this.settle = resolve))
  cancelled = false

  onCancel(hook: () => Promise<void>): () => void {
    this.hooks.add(hook)
    return () => this.hooks.delete(hook)
  }

  whenCancelled(): Promise<string> {
    return this.done
  }

  /**
   * Undoes what must not outlive the run (within `budgetMs`), gives in-flight
   * work `graceMs` to finish, then settles.
   */
  async cancel(reason: string, budgetMs = 5000, graceMs = 1500): Promise<void> {
    if (this.cancelled) return
    this.cancelled = true
    const timer = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms))
    const hooks = Promise.allSettled([...this.hooks].map(h => h()))
    await Promise.all([Promise.race([hooks, timer(budgetMs)]), timer(graceMs)])
    this.settle(reason)
  }
}
