import * as core from '@actions/core'
import { tmpdir } from 'node:os'
import { getContext, type RunContext } from './context.js'
import { CancelSource, realClock, type Host } from './host.js'
import { redact, setMaskSink } from './redact.js'

interface EarlyCancel {
  signal?: string
  keep: (signal: string) => void
}

/**
 * The host on a GitHub runner: @actions/core for inputs, log, outputs and the
 * summary (the only module that imports it), SIGINT/SIGTERM for cancellation.
 */
export function createActionsHost<C>(
  clients: (context: RunContext, env: NodeJS.ProcessEnv) => C,
  env: NodeJS.ProcessEnv = process.env
): Host<C> {
  setMaskSink(value => core.setSecret(value))
  const context = getContext(env)
  const cancellation = new CancelSource()
  const cancel = (signal: string): void => {
    core.warning(`Received ${signal}: the run was cancelled; no incident is opened or closed`)
    process.exitCode = 1
    void cancellation.cancel(signal)
  }
  // The entry (dist/<name>/index.js) listens from its first line and keeps a signal
  // that came while the bundle loaded; from here on this host handles them.
  const early = (globalThis as { shipgateEarlyCancel?: EarlyCancel }).shipgateEarlyCancel
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    if (early) process.removeListener(signal, early.keep)
    process.once(signal, () => cancel(signal))
  }
  if (early?.signal) queueMicrotask(() => cancel(early.signal!))
  return {
    input: name => core.getInput(name),
    log: {
      debug: m => core.debug(redact(m)),
      info: m => core.info(redact(m)),
      warning: m => core.warning(redact(m)),
      error: m => core.error(redact(m)),
      group: (name, fn) => core.group(redact(name), fn)
    },
    setOutput: (name, value) => core.setOutput(name, redact(value)),
    writeSummary: async markdown => {
      if (!env.GITHUB_STEP_SUMMARY) return
      await core.summary.emptyBuffer().addRaw(redact(markdown)).write({ overwrite: false })
    },
    setFailed: message => core.setFailed(redact(message)),
    mask: value => core.setSecret(value),
    clock: realClock,
    context,
    cancellation,
    paths: {
      workspace: env.GITHUB_WORKSPACE || process.cwd(),
      temp: env.RUNNER_TEMP || tmpdir()
    },
    env,
    clients: clients(context, env)
  }
}
