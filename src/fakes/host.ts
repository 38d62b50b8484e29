import { createClients, type Clients } from '../providers/clients.js'
import type { RunContext } from '../runtime/context.js'
import { CancelSource, type Clock, type Host } from '../runtime/host.js'
import { redact, setMaskSink } from '../runtime/redact.js'

/**
 * Time that passes only when someone sleeps: a health gate's 5-minute window or
 * a 20-minute deploy wait runs in milliseconds. Fakes that take a `now` share it.
 */
export class VirtualClock implements Clock {
  constructor(private t = Date.parse('2026-01-01T00:00:00Z')) {}
  now(): number {
    return this.t
  }
  async sleep(ms: number): Promise<void> {
    this.t += Math.max(0, ms)
    // Let sockets and timers of the real world make progress meanwhile.
    await new Promise(resolve => setImmediate(resolve))
  }
}

export interface LogLine {
  level: 'debug' | 'info' | 'warning' | 'error' | 'group'
  message: string
}

/** What a run wrote, as a runner would have recorded it. */
export interface Recording {
  outputs: Record<string, string>
  summary: string
  failed?: string
  log: LogLine[]
  masks: string[]
}

export interface RecordingHostOptions {
  inputs?: Record<string, string>
  context?: Partial<RunContext>
  clock?: Clock
  clients?: Clients
  env?: Record<string, string | undefined>
  workspace?: string
  temp?: string
}

export type RecordingHost = Host<Clients> & {
  record: Recording
  /** What the runner's SIGINT does: runs the cancel hooks, then settles the run. */
  cancel(reason?: string): Promise<void>
  /** Every log line at these levels, joined. */
  text(...levels: LogLine['level'][]): string
}

const CONTEXT: RunContext = {
  owner: 'acme',
  repo: 'lma',
  sha: '0123456789abcdef0123456789abcdef01234567',
  ref: 'refs/heads/main',
  refName: 'main',
  serverUrl: 'https://github.com',
  apiUrl: 'https://api.github.com',
  runId: '4242',
  runAttempt: '1',
  workflow: 'deploy',
  job: 'deploy',
  actor: 'octocat',
  eventName: 'workflow_dispatch',
  runUrl: 'https://github.com/acme/lma/actions/runs/4242',
  commitUrl: 'https://github.com/acme/lma/commit/0123456789abcdef0123456789abcdef01234567'
}

/**
 * A host for running an action in-process: inputs from a map (trimmed, as
 * core.getInput does), everything written recorded, time virtual by default,
 * clients built from the context (point `context.apiUrl` at a GitHub fake).
 */
export function recordingHost(o: RecordingHostOptions = {}): RecordingHost {
  const record: Recording = { outputs: {}, summary: '', log: [], masks: [] }
  setMaskSink(value => record.masks.push(value))
  const context = { ...CONTEXT, ...o.context }
  const cancellation = new CancelSource()
  const line = (level: LogLine['level']) => (message: string) =>
    record.log.push({ level, message: redact(message) })
  return {
    input: name => (o.inputs?.[name] ?? '').trim(),
    log: {
      debug: line('debug'),
      info: line('info'),
      warning: line('warning'),
      error: line('error'),
      group: async (name, fn) => {
        line('group')(name)
        return fn()
      }
    },
    setOutput: (name, value) => {
      record.outputs[name] = redact(value)
    },
    writeSummary: async markdown => {
      record.summary += redact(markdown)
    },
    setFailed: message => {
      record.failed = redact(message)
      line('error')(message)
    },
    mask: value => record.masks.push(value),
    clock: o.clock ?? new VirtualClock(),
    context,
    cancellation,
    paths: { workspace: o.workspace ?? process.cwd(), temp: o.temp ?? process.cwd() },
    env: o.env ?? {},
    clients: o.clients ?? createClients(context),
    record,
    cancel: reason => cancellation.cancel(reason ?? 'SIGINT', 5000, 0),
    text: (...levels) =>
      record.log
        .filter(l => levels.length === 0 || levels.includes(l.level))
        .map(l => l.message)
        .join('\n')
  }
}
