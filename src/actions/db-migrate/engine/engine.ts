import type pg from 'pg'
import {
  connect,
  describeTarget,
  preflight,
  type DatabaseTarget,
  type ServerInfo
} from '../../../providers/postgres/client.js'
import { ConfigurationError } from '../../../runtime/errors.js'
import { redact } from '../../../runtime/redact.js'
import { realClock, type Clock } from '../../../runtime/host.js'
import type { EngineLogger as Logger } from '../../../runtime/logger.js'
import {
  ConnectionLostError,
  MigrationStoppedError,
  applyMigrations,
  type FileResult
} from './apply.js'
import { MigrationError } from './failure.js'
import { readHistory } from './history.js'
import { listLocalMigrations, loadMigration } from './local.js'
import { acquireLock, releaseLock } from './lock.js'
import { applySeeds, findPendingSeeds, type PendingSeed, type SeedFile } from './seed-apply.js'
import {
  findDestructive,
  findDrift,
  findPending,
  planFile,
  type DestructiveChange,
  type DriftWarning,
  type ExecutionMode
} from './plan.js'

export type DestructivePolicy = 'warn' | 'fail' | 'allow'

export const APPLICATION_NAME = 'shipgate db-migrate'

export interface MigrateOptions {
  databaseUrl: string
  /** `databaseUrl` already parsed (getInputs does it); parsed here when absent. */
  target?: DatabaseTarget
  migrationsDir: string
  dryRun?: boolean
  includeAll?: boolean
  /** Seed files to apply with the CLI's seed_files semantics (`include-seed`). */
  seeds?: SeedFile[]
  destructive?: DestructivePolicy
  /** Default 60 s. */
  lockTimeoutMs?: number
  statementTimeoutMs?: number
  connectTimeoutMs?: number
  log: Logger
  /** The host's clock (lock wait, file durations); the real one when absent. */
  clock?: Clock
}

export interface PlannedFile {
  version: string
  file: string
  statements: number
  mode: ExecutionMode
  atomic: boolean
}

/** Filled in as the run goes, so outputs can be written on every path. */
export interface MigrateState {
  target?: string
  server?: ServerInfo
  pending: PlannedFile[]
  applied: FileResult[]
  /** Newest version in the history table ('' when empty). */
  currentVersion: string
  drift: DriftWarning[]
  destructive: DestructiveChange[]
  seeds: PendingSeed[]
  /** Seeds applied (or hash-updated). */
  seeded: string[]
  /** Set by `cancelMigration`: no further file is sent. */
  cancelled: boolean
  /** The migration session while it is open (for `cancelMigration`). */
  session?: { target: DatabaseTarget; pid: number }
}

export function newState(): MigrateState {
  return {
    pending: [],
    applied: [],
    currentVersion: '',
    drift: [],
    destructive: [],
    seeds: [],
    seeded: [],
    cancelled: false
  }
}

export class DestructiveChangeError extends ConfigurationError {
  override name = 'DestructiveChangeError'
  constructor(readonly changes: DestructiveChange[]) {
    super(
      [
        `Pending migrations contain destructive changes (destructive: fail):`,
        ...changes.map(c => `  ${c.file} statement ${c.statement}: ${c.kind}`),
        'Set `destructive: allow` (or `warn`) once they are intended.'
      ].join('\n')
    )
  }
}

function newest(versions: Iterable<string>): string {
  let max = ''
  for (const v of versions) if (v > max) max = v
  return max
}

/**
 * Plans and applies pending migrations: preflight, lock, plan (CLI rules),
 * drift and destructive checks, then one transaction per file. Throws on
 * failure; `state` holds what was done so far.
 */
export async function migrate(
  opts: MigrateOptions,
  state: MigrateState = newState()
): Promise<MigrateState> {
  const { log } = opts
  const clock = opts.clock ?? realClock
  const { client, target, server } = await preflight(opts.target ?? opts.databaseUrl, {
    applicationName: APPLICATION_NAME,
    connectTimeoutMs: opts.connectTimeoutMs,
    // Only queued files send queries together; everything else awaits one at a time.
    pipeline: true
  })
  state.target = describeTarget(target)
  state.server = server
  state.session = { target, pid: server.pid }
  log.info(`Connected to ${state.target} (PostgreSQL ${server.version}).`)
  // What the server says besides results (RAISE NOTICE, warnings), as the CLI prints it.
  client.on('notice', n => {
    const line = redact(`${n.severity ?? 'NOTICE'} (${n.code ?? ''}): ${n.message}`)
    if (n.severity === 'WARNING') log.warning(line)
    else log.info(line)
  })
  const stopped = (): boolean => state.cancelled
  let locked = false
  try {
    await acquireLock(client, { timeoutMs: opts.lockTimeoutMs ?? 60_000, log, clock, stopped })
    locked = true

    const files = listLocalMigrations(opts.migrationsDir, log)
    const local = files.map(loadMigration)
    const history = await readHistory(client)
    const versions = history.map(r => r.version)
    state.currentVersion = newest(versions)

    // Planned once here; applyMigrations uses the same plan.
    const pending = findPending(local, versions, opts.includeAll ?? false).map(m => ({
      ...m,
      plan: planFile(m)
    }))
    state.pending = pending.map(m => ({
      version: m.version,
      file: m.file,
      statements: m.statements.length,
      ...m.plan
    }))

    state.drift = findDrift(local, history)
    for (const d of state.drift) log.warning(d.message)

    state.destructive = findDestructive(pending)
    const policy = opts.destructive ?? 'warn'
    if (state.destructive.length > 0 && policy === 'fail')
      throw new DestructiveChangeError(state.destructive)
    for (const c of state.destructive) {
      const line = `Destructive change in ${c.file}, statement ${c.statement}: ${c.kind}`
      if (policy === 'warn') log.warning(line)
      else log.info(line)
    }

    state.seeds = await findPendingSeeds(client, opts.seeds ?? [])
    if (pending.length === 0 && state.seeds.length === 0) {
      log.info('Remote database is up to date.')
      return state
    }
    if (opts.dryRun) {
      for (const p of state.pending)
        log.info(`Would apply ${p.file}${p.atomic ? '' : ' (not atomic)'}`)
      for (const s of state.seeds)
        log.info(`Would seed ${s.path}${s.dirty ? ' (hash update)' : ''}`)
      return state
    }

    if (state.cancelled) throw new MigrationStoppedError(pending[0]?.file ?? 'the seeds')
    await applyMigrations(client, pending, {
      statementTimeoutMs: opts.statementTimeoutMs,
      log,
      clock,
      stopped,
      onApplied: r => {
        state.applied.push(r)
        if (r.version > state.currentVersion) state.currentVersion = r.version
        if (!r.atomic)
          log.warning(
            `${r.file} was not applied atomically (${r.mode === 'transactional' ? 'it has statements that cannot run in a transaction' : `mode ${r.mode}`}).`
          )
      }
    })
    if (state.cancelled) throw new MigrationStoppedError('the seeds')
    await applySeeds(client, state.seeds, log, opts.statementTimeoutMs)
    state.seeded = state.seeds.map(s => s.path)
    log.info(`Applied ${state.applied.length} migration(s).`)
    return state
  } catch (error) {
    if (error instanceof ConnectionLostError) throw await afterConnectionLoss(state, target, error)
    throw error
  } finally {
    if (locked) await releaseLock(client).catch(() => undefined)
    await client.end().catch(() => undefined)
    state.session = undefined
  }
}

/** Makes `state.applied` and `currentVersion` exactly what the history holds. */
export function reconcile(state: MigrateState, history: readonly { version: string }[]): void {
  const recorded = new Set(history.map(r => r.version))
  const confirmed = new Map(state.applied.map(a => [a.version, a]))
  state.applied = state.pending
    .filter(p => recorded.has(p.version))
    .map(p => confirmed.get(p.version) ?? { ...p, durationMs: 0 })
  state.currentVersion = newest(recorded)
}

/** Reads the history on a new connection and runs `fn` with it. */
async function withHistory<T>(
  target: DatabaseTarget,
  fn: (client: pg.Client, history: { version: string }[]) => Promise<T>
): Promise<T> {
  const client = await connect(target, {
    applicationName: `${APPLICATION_NAME} (check)`,
    connectTimeoutMs: 5_000
  })
  try {
    return await fn(client, await readHistory(client))
  } finally {
    await client.end().catch(() => undefined)
  }
}

/**
 * The connection broke mid-file: whether that file committed is in the
 * history, read on a new connection. The state then says exactly what is
 * applied, and so does the error.
 */
async function afterConnectionLoss(
  state: MigrateState,
  target: DatabaseTarget,
  lost: ConnectionLostError
): Promise<Error> {
  let message: string
  let done = false
  try {
    await withHistory(target, async (_client, history) => reconcile(state, history))
    done = state.applied.some(a => a.version === lost.version)
    message = `${lost.message} The history shows ${lost.file} ${done ? 'committed' : 'did not commit'}; ${state.applied.length} migration(s) applied in this run.`
  } catch {
    message = `${lost.message} It could not be checked whether ${lost.file} committed (the database is still unreachable): look at supabase_migrations.schema_migrations before rerunning.`
  }
  if (done || !lost.outcome.partial) return new Error(message)
  // Not recorded, and not atomic: part of it may have stayed applied (SEV1, like any partial file).
  return new MigrationError({
    message,
    version: lost.version,
    file: lost.file,
    statement: 0,
    statementCount: state.pending.find(p => p.version === lost.version)?.statements ?? 0,
    committed: lost.outcome.committed,
    partial: true,
    at: 'when the connection was lost',
    outcome: lost.outcome.text
  })
}

/**
 * Stops a running `migrate` from outside (a cancelled run): no further file
 * is sent, the statement running on the server is cancelled
 * (pg_cancel_backend from a second connection, repeated until the run has
 * stopped; pg_terminate_backend if it will not), so no orphaned statement
 * keeps the migration lock. Then `state` is set to what the history holds.
 */
export async function cancelMigration(
  state: MigrateState,
  running: Promise<unknown>,
  opts: { clock?: Clock; budgetMs?: number } = {}
): Promise<void> {
  state.cancelled = true
  const clock = opts.clock ?? realClock
  const deadline = clock.now() + (opts.budgetMs ?? 3_000)
  let settled = false
  void running.then(
    () => (settled = true),
    () => (settled = true)
  )
  // Not connected yet: the run stops before applying anything, but only after it
  // has planned; wait for that (or its session, to cancel it) so the report is final.
  while (!settled && !state.session && clock.now() < deadline) await clock.sleep(25)
  const session = state.session
  if (!session) return
  await withHistory(session.target, async client => {
    while (!settled && clock.now() < deadline) {
      await client.query('SELECT pg_catalog.pg_cancel_backend($1)', [session.pid])
      await clock.sleep(100)
    }
    if (!settled) {
      await client.query('SELECT pg_catalog.pg_terminate_backend($1)', [session.pid])
      await clock.sleep(100)
    }
    reconcile(state, await readHistory(client))
  })
}
