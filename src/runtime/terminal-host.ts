import { tmpdir } from 'node:os'
import { getContext, type RunContext } from './context.js'
import { CancelSource, realClock, type Host } from './host.js'
import { addSecret, redact, setMaskSink } from './redact.js'

/** Where the terminal host prints; a test passes its own. */
export interface TerminalStream {
  write(text: string): unknown
  isTTY?: boolean
  columns?: number
}

export interface TerminalHostOptions {
  /** The action's raw inputs, already resolved (flags, environment, action.yml defaults). */
  inputs: Record<string, string>
  /** Where log lines go (stderr in the CLI, so stdout stays the result). */
  stream?: TerminalStream
  /** Print debug lines. */
  verbose?: boolean
  /** Print only warnings and errors (the CLI's --json). */
  quiet?: boolean
  env?: NodeJS.ProcessEnv
  /** Install SIGINT/SIGTERM handlers (the CLI does; tests do not). */
  signals?: boolean
}

/** A host that also keeps what a runner would have written to its files. */
export interface TerminalHost<C> extends Host<C> {
  readonly outputs: Record<string, string>
  readonly summary: string
  readonly failure?: string
  /** Leaves the last progress line (the verdict) printed and stops its timer; call once the run is over. */
  finish(): void
  /** Removes the signal handlers. */
  dispose(): void
}

const TICK_MS = 1000

/**
 * The host for a workstation: inputs come from the caller (no INPUT_* variables,
 * no runner files), the log goes to a terminal with secrets masked, the latest
 * progress line is redrawn in place with the time it has taken, and Ctrl-C
 * cancels the run the way the runner's cancel does (a second one exits).
 */
export function createTerminalHost<C>(
  clients: (context: RunContext, env: NodeJS.ProcessEnv) => C,
  options: TerminalHostOptions
): TerminalHost<C> {
  const env = options.env ?? process.env
  const out = options.stream ?? process.stderr
  const tty = !!out.isTTY
  // Secrets are replaced before printing; the registry in redact.ts holds them.
  setMaskSink(() => {})
  const context = getContext(env)
  const cancellation = new CancelSource()
  const started = realClock.now()
  let progress = ''
  let shown = false
  let depth = 0
  let timer: ReturnType<typeof setInterval> | undefined
  const state: { outputs: Record<string, string>; summary: string; failure?: string } = {
    outputs: {},
    summary: ''
  }

  const elapsed = (): string => `${Math.round((realClock.now() - started) / 1000)}s`
  const clearLine = (): void => {
    if (shown) out.write('\r\x1b[K')
    shown = false
  }
  const draw = (): void => {
    if (!tty || !progress) return
    const width = Math.max(20, (out.columns || 80) - 1)
    const line = `… ${progress} (${elapsed()})`
    clearLine()
    out.write(line.length > width ? `${line.slice(0, width - 1)}…` : line)
    shown = true
  }
  const print = (line: string): void => {
    clearLine()
    out.write(`${'  '.repeat(depth)}${redact(line)}\n`)
    draw()
  }
  const info = (message: string): void => {
    if (options.quiet) return
    const text = redact(message)
    if (!tty) return print(text)
    // On a terminal the newest info line is the progress line, redrawn in place.
    progress = text.split('\n')[0]
    draw()
    timer ??= setInterval(draw, TICK_MS)
    timer.unref?.()
  }

  const onSignal = (signal: NodeJS.Signals): void => {
    if (cancellation.cancelled) {
      print(`${signal} again: exiting now`)
      process.exit(130)
    }
    print(`${signal}: cancelling (cleaning up what this run started; Ctrl-C again to exit now)`)
    void cancellation.cancel(signal)
  }
  const signals: NodeJS.Signals[] = options.signals ? ['SIGINT', 'SIGTERM'] : []
  for (const s of signals) process.on(s, onSignal)

  return {
    input: name => (options.inputs[name] ?? '').trim(),
    log: {
      debug: m => {
        if (options.verbose) print(`debug: ${m}`)
      },
      info,
      warning: m => print(`warning: ${m}`),
      error: m => print(`error: ${m}`),
      group: async (name, fn) => {
        if (!options.quiet) print(`▸ ${name}`)
        depth++
        try {
          return await fn()
        } finally {
          depth--
        }
      }
    },
    setOutput: (name, value) => {
      state.outputs[name] = redact(value)
    },
    writeSummary: async markdown => {
      state.summary += redact(markdown)
    },
    setFailed: message => {
      state.failure = redact(message)
    },
    // Masking in the terminal is the redact registry: everything printed passes redact().
    mask: value => addSecret(value),
    clock: realClock,
    context,
    cancellation,
    paths: { workspace: process.cwd(), temp: env.RUNNER_TEMP || tmpdir() },
    env,
    clients: clients(context, env),
    get outputs() {
      return state.outputs
    },
    get summary() {
      return state.summary
    },
    get failure() {
      return state.failure
    },
    finish: () => {
      if (timer) clearInterval(timer)
      timer = undefined
      // The last progress line is the run's verdict: it stays, as it does off a terminal.
      if (shown) {
        clearLine()
        out.write(`${progress}\n`)
      }
      progress = ''
    },
    dispose: () => {
      for (const s of signals) process.off(s, onSignal)
    }
  }
}
