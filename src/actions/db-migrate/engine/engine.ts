import { ConfigurationError } from '../../../runtime/errors.js'
import { describeTarget, preflight, type DatabaseTarget, type ServerInfo } from '../../../providers/postgres/client.js'
import {
  acquireLock,
  applyMigrations,
  applySeeds,
  findPendingSeeds,
  readHistory,
  releaseLock,
  type FileResult,
  type PendingSeed,
  type SeedFile
} from './apply.js'
import { listLocalMigrations, loadMigration } from './local.js'
import type { EngineLogger as Logger } from '../../../runtime/logger.js'
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
}

export function newState(): MigrateState {
  return {
    pending: [],
    applied: [],
    currentVersion: '',
    drift: [],
    destructive: [],
    seeds: [],
    seeded: []
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
  const { client, target, server } = await preflight(opts.target ?? opts.databaseUrl, {
    applicationName: APPLICATION_NAME,
    connectTimeoutMs: opts.connectTimeoutMs,
    // Only applyAtomic queues queries together; everything else awaits one at a time.
    pipeline: true
  })
  state.target = describeTarget(target)
  state.server = server
  log.info(`Connected to ${state.target} (PostgreSQL ${server.version}).`)
  let locked = false
  try {
    await acquireLock(client, { timeoutMs: opts.lockTimeoutMs ?? 60_000, log })
    locked = true

    const files = await listLocalMigrations(opts.migrationsDir, log)
    const local = await Promise.all(files.map(loadMigration))
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

    await applyMigrations(client, pending, {
      statementTimeoutMs: opts.statementTimeoutMs,
      log,
      onApplied: r => {
        state.applied.push(r)
        if (r.version > state.currentVersion) state.currentVersion = r.version
        if (!r.atomic)
          log.warning(
            `${r.file} was not applied atomically (${r.mode === 'transactional' ? 'it has statements that cannot run in a transaction' : `mode ${r.mode}`}).`
          )
      }
    })
    await applySeeds(client, state.seeds, log, opts.statementTimeoutMs)
    state.seeded = state.seeds.map(s => s.path)
    log.info(`Applied ${state.applied.length} migration(s).`)
    return state
  } finally {
    if (locked) await releaseLock(client).catch(() => undefined)
    await client.end().catch(() => undefined)
  }
}
