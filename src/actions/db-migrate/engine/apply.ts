import type pg from 'pg'
import { pgErrorFields } from '../../../providers/postgres/client.js'
import type { Clock } from '../../../runtime/host.js'
import type { EngineLogger as Logger } from '../../../runtime/logger.js'
import { redact } from '../../../runtime/redact.js'
import { ROLLED_BACK, migrationError, outcomeOf, type FailedAt, type Outcome } from './failure.js'
import {
  INSERT_HISTORY,
  dropCreatedHistory,
  ensureHistoryTable,
  historyToCreate,
  insertHistorySql,
  previousCommittedSql,
  sqlState
} from './history.js'
import type { LoadedMigration } from './local.js'
import { LOCK_CHECK_DO, ensureLockHeld, lockLost } from './lock.js'
import { planFile, type ExecutionMode, type FilePlan } from './plan.js'
import { exec } from './seed-apply.js'

/** A loaded migration, with its plan when the caller has already made it. */
export interface MigrationToApply extends LoadedMigration {
  plan?: FilePlan
}

export interface FileResult {
  version: string
  file: string
  statements: number
  mode: ExecutionMode
  atomic: boolean
  durationMs: number
}

export interface ApplyOptions {
  /** statement_timeout for the file's statements, in milliseconds. */
  statementTimeoutMs?: number
  log: Logger
  clock: Clock
  /** Called once per file, as soon as its COMMIT is confirmed. */
  onApplied?: (r: FileResult) => void
  /** Checked before each file is sent: true stops the run (MigrationStoppedError). */
  stopped?: () => boolean
}

/** The run stopped before `next` because `stopped()` said so (a cancelled run). */
export class MigrationStoppedError extends Error {
  override name = 'MigrationStoppedError'
  constructor(readonly next: string) {
    super(`Stopped before ${next}: the run was cancelled.`)
  }
}

/**
 * The connection broke while `file` was in flight: whether it committed is
 * only known from the history (the caller reads it on a new connection).
 */
export class ConnectionLostError extends Error {
  override name = 'ConnectionLostError'
  constructor(
    readonly file: string,
    readonly version: string,
    cause: unknown,
    /** What the file left behind if it did not commit (a non-atomic file may be partly applied). */
    readonly outcome: Outcome = ROLLED_BACK
  ) {
    super(
      redact(
        `The connection to the database was lost while applying ${file} (${pgErrorFields(cause).message}). ` +
          (outcome.partial
            ? `If it did not commit: ${outcome.text} `
            : 'A file commits completely or not at all; ') +
          'later migrations were not attempted.'
      )
    )
  }
}

/** Files queued on the connection at once: enough that the server never waits for the client. */
const WINDOW = 64

/** Server errors that mean the session is gone (admin shutdown, crash, cannot connect now). */
const SESSION_ENDED = new Set(['57P01', '57P02', '57P03'])

/** The options inside this module: `closed` says the connection has ended. */
interface Run extends ApplyOptions {
  closed: () => boolean
}

function connectionBroke(run: Run, error: unknown): boolean {
  const code = sqlState(error) ?? ''
  return run.closed() || code.startsWith('08') || SESSION_ENDED.has(code)
}

/** `RESET ALL` plus the file's statement_timeout (session level, as the CLI leaves it). */
function resetSql(client: pg.Client, opts: ApplyOptions): string {
  return opts.statementTimeoutMs === undefined
    ? 'RESET ALL'
    : `RESET ALL; SET statement_timeout = ${client.escapeLiteral(`${opts.statementTimeoutMs}ms`)}`
}

type Settled = { ok: true; value: unknown } | { ok: false; error: unknown }

function settle(p: Promise<unknown>): Promise<Settled> {
  return p.then(
    value => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error })
  )
}

/** The file applied just before: its version and name identify its history row (versions can repeat). */
type Previous = Pick<LoadedMigration, 'version' | 'name'>

interface Queued {
  m: MigrationToApply
  plan: FilePlan
  queuedAt: number
  /** reset, begin (+ guard), statements..., lock check, history row, COMMIT. */
  steps: Promise<Settled>[]
}

/** Where step `i` of a queued file is, for the error. */
function stepAt(i: number, statements: number): FailedAt {
  if (i <= 1) return 'start'
  if (i < statements + 2) return i - 2
  if (i === statements + 2) return 'lock'
  if (i === statements + 3) return 'history'
  return 'commit'
}

/**
 * Sends one atomic file's transaction without waiting for anything: the
 * reset (outside any transaction, so the file starts from the session
 * defaults), `BEGIN` with a guard that fails unless `previous` is committed,
 * each statement on its own (extended protocol, like the CLI), the lock
 * check, the history row, COMMIT. Each is its own protocol message, so after
 * a failure the transaction stays aborted (25P02) until COMMIT ends it as a
 * rollback, and the next file's guard then fails: nothing after a failed
 * file runs, whether it failed at a statement or at COMMIT.
 */
function queueFile(
  client: pg.Client,
  m: MigrationToApply,
  plan: FilePlan,
  previous: Previous | undefined,
  final: boolean,
  opts: ApplyOptions
): Queued {
  // Every file but the last commits without waiting for its WAL flush; the
  // last one commits with synchronous_commit back at the session default,
  // even if the file turned it off, and that flush covers the earlier ones.
  let begin = final ? 'BEGIN' : 'BEGIN; SET LOCAL synchronous_commit = off'
  if (previous !== undefined) begin += `; ${previousCommittedSql(client, previous)}`
  const history = final
    ? `${insertHistorySql(client, m)}; SET LOCAL synchronous_commit TO DEFAULT`
    : insertHistorySql(client, m)
  const steps = [
    settle(client.query(resetSql(client, opts))),
    settle(client.query(begin)),
    ...m.statements.map(sql => settle(exec(client, sql))),
    settle(client.query(LOCK_CHECK_DO)),
    settle(client.query(history)),
    settle(client.query('COMMIT'))
  ]
  return { m, plan, queuedAt: opts.clock.now(), steps }
}

function committed(step: Settled | undefined): boolean {
  return step?.ok === true && (step.value as pg.QueryResult | undefined)?.command === 'COMMIT'
}

/** The error for a queued file that did not commit. */
async function queuedFailure(
  client: pg.Client,
  run: Run,
  q: Queued,
  results: Settled[]
): Promise<Error> {
  const n = q.m.statements.length
  const index = results.findIndex(r => !r.ok)
  const failed = results[index]
  let error: unknown =
    failed && !failed.ok ? failed.error : new Error('the server rolled the transaction back')
  if (connectionBroke(run, error)) return new ConnectionLostError(q.m.file, q.m.version, error)
  const at = index < 0 ? 'commit' : stepAt(index, n)
  if (at === 'lock' && sqlState(error) === '55P03') error = await lockLost(client, q.m.file)
  return migrationError(q.m, at, error, ROLLED_BACK)
}

/**
 * Applies consecutive atomic files with up to WINDOW of them in flight on
 * the one connection; each file is reported applied when its COMMIT is
 * confirmed. Throws the first failure once everything sent has settled.
 */
async function applyQueued(
  client: pg.Client,
  files: readonly MigrationToApply[],
  previous: Previous | undefined,
  lastOfRun: boolean,
  opts: Run
): Promise<void> {
  const inFlight: Queued[] = []
  let next = 0
  let last = previous
  let since = opts.clock.now()
  for (;;) {
    while (next < files.length && inFlight.length < WINDOW && !opts.stopped?.()) {
      const m = files[next] as MigrationToApply
      opts.log.info(`Applying migration ${m.file}...`)
      const final = lastOfRun && next === files.length - 1
      inFlight.push(queueFile(client, m, m.plan ?? planFile(m), last, final, opts))
      last = m
      next++
    }
    const head = inFlight.shift()
    if (!head) break
    const results = await Promise.all(head.steps)
    if (!committed(results.at(-1))) {
      // Let everything behind it settle (the guard fails each), then report.
      await Promise.all(inFlight.flatMap(q => q.steps))
      throw await queuedFailure(client, opts, head, results)
    }
    const now = opts.clock.now()
    opts.onApplied?.({
      version: head.m.version,
      file: head.m.file,
      statements: head.m.statements.length,
      mode: head.plan.mode,
      atomic: head.plan.atomic,
      durationMs: now - Math.max(since, head.queuedAt)
    })
    since = now
  }
  const stoppedAt = files[next]
  if (stoppedAt) throw new MigrationStoppedError(stoppedAt.file)
}

/** A file that must run statement by statement (standalone statements, its own BEGIN/COMMIT, no transaction). */
async function applyGeneral(
  client: pg.Client,
  m: LoadedMigration,
  plan: FilePlan,
  opts: Run
): Promise<void> {
  await client.query(resetSql(client, opts))
  const standalone = new Set(plan.standalone)
  // sequential/none: the file's own COMMITs (or autocommit) decide what is committed.
  const ownTransactions = plan.mode !== 'transactional'
  let inTransaction = false
  let done = 0
  let current: FailedAt = 0
  try {
    for (const [i, sql] of m.statements.entries()) {
      current = i
      if (!ownTransactions && standalone.has(i)) {
        if (inTransaction) {
          current = 'commit'
          await client.query('COMMIT')
          inTransaction = false
          done = i
          current = i
        }
        opts.log.info(`${m.file}: statement ${i + 1} runs outside a transaction`)
        await exec(client, sql)
        done = i + 1
        current = 'lock'
        await ensureLockHeld(client, opts.log, `${m.file} statement ${i + 1}`)
      } else {
        if (!ownTransactions && !inTransaction) {
          await client.query('BEGIN')
          inTransaction = true
        }
        await exec(client, sql)
        // Outside a transaction block now: everything up to here is committed.
        if (ownTransactions && client.getTransactionStatus() === 'I') done = i + 1
      }
    }
    if (ownTransactions) {
      // Never record the file inside a transaction it opened: that row would
      // be lost with the transaction at disconnect.
      if (client.getTransactionStatus() !== 'I') {
        current = 'open'
        throw new Error(
          `statement ${done + 1} onwards ran in a transaction that the file never commits ` +
            '(add COMMIT at the end of the file); that transaction was rolled back'
        )
      }
    }
    // Any statement may have released the lock (pg_advisory_unlock_all()), not only standalone ones.
    current = 'lock'
    await ensureLockHeld(client, opts.log, m.file)
    current = 'history'
    if (!ownTransactions && !inTransaction) {
      await client.query('BEGIN')
      inTransaction = true
    }
    await client.query(INSERT_HISTORY, [m.version, m.name, m.statements])
    if (inTransaction) {
      current = 'commit'
      await client.query('COMMIT')
      inTransaction = false
    }
  } catch (error) {
    const failedStandalone =
      typeof current === 'number' && standalone.has(current) ? current : undefined
    const outcome = outcomeOf(plan.mode, done, failedStandalone)
    if (connectionBroke(opts, error))
      throw new ConnectionLostError(m.file, m.version, error, outcome)
    if (client.getTransactionStatus() !== 'I') await client.query('ROLLBACK').catch(() => undefined)
    if (plan.mode === 'none') await client.query('RESET ALL').catch(() => undefined)
    throw migrationError(m, current, error, outcome)
  }
}

/**
 * Flushes WAL up to now with one synchronous write: a no-op UPDATE of a
 * history row committed with the session's default synchronous_commit.
 */
async function flushWal(client: pg.Client, version: string, log: Logger): Promise<void> {
  try {
    await client.query('RESET ALL')
    await client.query(
      'UPDATE supabase_migrations.schema_migrations SET name = name WHERE version = $1',
      [version]
    )
  } catch (error) {
    log.warning(
      redact(
        `Could not force a WAL flush after applying migrations (${pgErrorFields(error).message}); ` +
          'they are committed and the server flushes them within moments.'
      )
    )
  }
}

const SET_TRANSACTION = /^(?:\s|--[^\n]*\n|\/\*[\s\S]*?\*\/)*SET\s+TRANSACTION\b/iu

/** Consecutive files that take the same path: queued (atomic) or one by one. */
function runs(
  files: readonly MigrationToApply[]
): Array<{ queued: boolean; files: MigrationToApply[] }> {
  const out: Array<{ queued: boolean; files: MigrationToApply[] }> = []
  for (const m of files) {
    const plan = m.plan ?? planFile(m)
    // The guard is a query, so a file that starts with SET TRANSACTION (which must come first) runs on its own.
    const queued =
      plan.mode === 'transactional' &&
      plan.standalone.length === 0 &&
      !SET_TRANSACTION.test(m.statements[0] ?? '')
    const tail = out.at(-1)
    if (tail && tail.queued && queued) tail.files.push({ ...m, plan })
    else out.push({ queued, files: [{ ...m, plan }] })
  }
  return out
}

/**
 * Applies files in order and stops at the first failure (which is thrown).
 *
 * Atomic files are queued back to back on the connection, each its own
 * transaction with its history row last and a guard that stops it unless
 * the file before it committed; other files run statement by statement.
 *
 * Durability: every queued file but the last commits with `SET LOCAL
 * synchronous_commit = off`, so its COMMIT does not wait for a WAL flush.
 * Consistency is unaffected: a file and its history row still commit or roll
 * back together, and the server keeps commit order. The last file commits
 * synchronously, which flushes WAL up to its commit record, so all earlier
 * commits are durable then too. Otherwise (a failure, or a last file run one
 * by one) one synchronous no-op write to the history table does the same
 * flush before returning or throwing.
 */
export async function applyMigrations(
  client: pg.Client,
  files: readonly MigrationToApply[],
  opts: ApplyOptions
): Promise<FileResult[]> {
  if (files.length === 0) return []
  const created = await historyToCreate(client)
  await ensureHistoryTable(client)
  const results: FileResult[] = []
  const onApplied = (r: FileResult): void => {
    results.push(r)
    opts.onApplied?.(r)
  }
  let closed = false
  const onEnd = (): void => void (closed = true)
  client.on('end', onEnd)
  const run: Run = { ...opts, onApplied, closed: () => closed }
  const all = runs(files)
  let previous: Previous | undefined
  let synced = false
  try {
    for (const [i, group] of all.entries()) {
      const lastRun = i === all.length - 1
      // Defensive: a session inside a transaction takes the general path,
      // which never commits it on anyone's behalf.
      if (group.queued && client.getTransactionStatus() === 'I') {
        await applyQueued(client, group.files, previous, lastRun, run)
        synced = lastRun
      } else {
        for (const m of group.files) {
          if (opts.stopped?.()) throw new MigrationStoppedError(m.file)
          opts.log.info(`Applying migration ${m.file}...`)
          const started = opts.clock.now()
          const plan = m.plan ?? planFile(m)
          await applyGeneral(client, m, plan, run)
          onApplied({
            version: m.version,
            file: m.file,
            statements: m.statements.length,
            mode: plan.mode,
            atomic: plan.atomic,
            durationMs: opts.clock.now() - started
          })
        }
        synced = false
      }
      previous = group.files.at(-1)
    }
  } catch (error) {
    if (!(error instanceof ConnectionLostError)) {
      // Nothing was applied: leave the database as it was, without the history table.
      if (results.length === 0) await dropCreatedHistory(client, created, opts.log)
      else await flushWal(client, (results.at(-1) as FileResult).version, opts.log)
    }
    throw error
  } finally {
    client.off('end', onEnd)
  }
  if (!synced) await flushWal(client, (results.at(-1) as FileResult).version, opts.log)
  await client.query('RESET ALL')
  return results
}
