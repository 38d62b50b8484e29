import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type pg from 'pg'
import { sleep } from '../../../providers/http/client.js'
import { formatDuration } from '../../../runtime/inputs.js'
import { pgErrorFields } from '../../../providers/postgres/client.js'
import { redact } from '../../../runtime/redact.js'
import { decodeSql, type LoadedMigration } from './local.js'
import type { EngineLogger as Logger } from '../../../runtime/logger.js'
import { planFile, type ExecutionMode, type FilePlan, type RemoteMigration } from './plan.js'
import { lineColumn, splitAndTrim, splitStatements } from './split.js'

// History tables, exactly as the Supabase CLI creates and writes them.
export const HISTORY_DDL: readonly string[] = [
  "SET LOCAL lock_timeout = '4s'",
  'CREATE SCHEMA IF NOT EXISTS supabase_migrations',
  'CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations (version text NOT NULL PRIMARY KEY)',
  'ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS statements text[]',
  'ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS name text'
]
export const SEED_DDL: readonly string[] = [
  "SET LOCAL lock_timeout = '4s'",
  'CREATE SCHEMA IF NOT EXISTS supabase_migrations',
  'CREATE TABLE IF NOT EXISTS supabase_migrations.seed_files (path text NOT NULL PRIMARY KEY, hash text NOT NULL)'
]
export const INSERT_HISTORY =
  'INSERT INTO supabase_migrations.schema_migrations(version, name, statements) VALUES($1, $2, $3)'
const UPSERT_SEED =
  'INSERT INTO supabase_migrations.seed_files(path, hash) VALUES($1, $2) ON CONFLICT (path) DO UPDATE SET hash = EXCLUDED.hash'

/** The CLI's check that a table already has its columns (no DDL, no locks, then). */
function provisionedQuery(table: string, columns: string[]): string {
  return (
    `SELECT count(*) = ${columns.length} AS provisioned FROM pg_catalog.pg_attribute a ` +
    'JOIN pg_catalog.pg_class c ON c.oid = a.attrelid ' +
    `WHERE a.attrelid = pg_catalog.to_regclass('${table}') AND c.relkind IN ('r', 'p') ` +
    `AND NOT a.attisdropped AND a.attname IN (${columns.map(c => `'${c}'`).join(', ')})`
  )
}

function sqlState(error: unknown): string | undefined {
  return pgErrorFields(error).code
}

async function ensureTable(
  client: pg.Client,
  table: string,
  columns: string[],
  ddl: readonly string[]
): Promise<void> {
  const { rows } = await client.query<{ provisioned: boolean }>(provisionedQuery(table, columns))
  if (rows[0]?.provisioned) return
  await client.query('BEGIN')
  try {
    for (const sql of ddl) await client.query(sql)
    await client.query('COMMIT')
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined)
    throw error
  }
}

export async function ensureHistoryTable(client: pg.Client): Promise<void> {
  await ensureTable(
    client,
    'supabase_migrations.schema_migrations',
    ['version', 'name', 'statements'],
    HISTORY_DDL
  )
}

/** Applied migrations in the CLI's order (`ORDER BY version`); no table means none. */
export async function readHistory(client: pg.Client): Promise<RemoteMigration[]> {
  try {
    const { rows } = await client.query<{
      version: string
      name: string
      statements: string[] | null
    }>(
      "SELECT version, coalesce(name, '') AS name, statements FROM supabase_migrations.schema_migrations ORDER BY version"
    )
    return rows.map(r => ({ version: String(r.version), name: r.name, statements: r.statements }))
  } catch (error) {
    if (sqlState(error) === '42P01') return []
    if (sqlState(error) !== '42703') throw error
  }
  // A table from an old CLI without the name/statements columns.
  const { rows } = await client.query<{ version: string }>(
    'SELECT version FROM supabase_migrations.schema_migrations ORDER BY version'
  )
  return rows.map(r => ({ version: String(r.version), name: '', statements: null }))
}

// --- lock ---

/** Advisory lock key: "Shipgate" in ASCII, as a bigint. */
export const LOCK_KEY = '6010169634217620581'
const LOCK_CLASSID = 0x53686970
const LOCK_OBJID = 0x67617465

export interface LockHolder {
  pid: number
  applicationName: string
  clientAddr: string | null
  backendStart: string | null
  state: string | null
  query: string | null
}

export class LockTimeoutError extends Error {
  override name = 'LockTimeoutError'
  constructor(
    message: string,
    readonly holders: LockHolder[]
  ) {
    super(message)
  }
}

/** Sessions holding the migration lock in this database. */
export async function lockHolders(client: pg.Client): Promise<LockHolder[]> {
  const { rows } = await client.query<{
    pid: number
    application_name: string
    client_addr: string | null
    backend_start: Date | null
    state: string | null
    query: string | null
  }>(
    `SELECT a.pid, a.application_name, a.client_addr::text AS client_addr, a.backend_start, a.state, a.query
       FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
        AND l.classid::bigint = $1 AND l.objid::bigint = $2
        AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())`,
    [LOCK_CLASSID, LOCK_OBJID]
  )
  return rows.map(r => ({
    pid: r.pid,
    applicationName: r.application_name,
    clientAddr: r.client_addr,
    backendStart: r.backend_start ? r.backend_start.toISOString() : null,
    state: r.state,
    query: r.query
  }))
}

export function describeHolder(h: LockHolder): string {
  const parts = [`pid ${h.pid}`, `application "${h.applicationName}"`]
  if (h.clientAddr) parts.push(`client ${h.clientAddr}`)
  if (h.backendStart) parts.push(`connected since ${h.backendStart}`)
  if (h.state) parts.push(`state ${h.state}`)
  if (h.query) parts.push(`last query: ${h.query.replace(/\s+/gu, ' ').slice(0, 200)}`)
  return parts.join(', ')
}

/** Every holder, or `a session that has since ended` when there is none any more. */
function describeHolders(holders: readonly LockHolder[]): string {
  return holders.length > 0
    ? holders.map(describeHolder).join('; ')
    : 'a session that has since ended'
}

/**
 * Takes the session advisory lock, polling until `timeoutMs`. On timeout the
 * error says who holds it.
 */
export async function acquireLock(
  client: pg.Client,
  opts: { timeoutMs: number; pollMs?: number; log: Logger }
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs
  let waiting = false
  for (;;) {
    const { rows } = await client.query<{ locked: boolean }>(
      `SELECT pg_try_advisory_lock(${LOCK_KEY}) AS locked`
    )
    if (rows[0]?.locked) return
    if (!waiting) {
      waiting = true
      const holders = await lockHolders(client)
      opts.log.info(
        `Waiting up to ${formatDuration(opts.timeoutMs)} for the migration lock` +
          (holders.length > 0 ? `, held by ${describeHolders(holders)}` : '')
      )
    }
    if (Date.now() >= deadline) {
      const holders = await lockHolders(client)
      throw new LockTimeoutError(
        redact(
          `Timed out after ${formatDuration(opts.timeoutMs)} waiting for the migration lock, held by ${describeHolders(holders)}.`
        ),
        holders
      )
    }
    await sleep(Math.max(0, Math.min(opts.pollMs ?? 500, deadline - Date.now())))
  }
}

export async function releaseLock(client: pg.Client): Promise<void> {
  await client.query(`SELECT pg_advisory_unlock(${LOCK_KEY})`)
}

/** This session holds the migration lock (a bigint key is classid = high, objid = low 32 bits, objsubid 1). */
const LOCK_HELD =
  "EXISTS (SELECT 1 FROM pg_catalog.pg_locks WHERE locktype = 'advisory' AND granted " +
  `AND pid = pg_catalog.pg_backend_pid() AND classid = ${LOCK_CLASSID} AND objid = ${LOCK_OBJID} AND objsubid = 1)`

/**
 * Runs inside a file's transaction, after its statements: takes the lock
 * again if the file released it, or fails (rolling the file back) when
 * another session took it meanwhile.
 */
const LOCK_CHECK_DO = `DO $shipgate$ BEGIN
  IF NOT ${LOCK_HELD} THEN
    IF NOT pg_catalog.pg_try_advisory_lock(${LOCK_KEY}) THEN
      RAISE EXCEPTION 'another session took the migration lock' USING ERRCODE = '55P03';
    END IF;
  END IF;
END $shipgate$`

/** Another session took the migration lock after a migration released it. */
export class LockLostError extends Error {
  override name = 'LockLostError'
}

async function lockLost(client: pg.Client, what: string): Promise<LockLostError> {
  const holders = await lockHolders(client).catch(() => [])
  return new LockLostError(
    redact(
      `another session took the migration lock after ${what} released it (DISCARD ALL or pg_advisory_unlock_all()); ` +
        `it is held by ${describeHolders(holders)}. Stopped so that two runs do not apply migrations at once.`
    )
  )
}

/**
 * Checks this session still holds the migration lock after `what` (a
 * statement or file that may have released it: DISCARD ALL,
 * pg_advisory_unlock_all()) and takes it again; throws LockLostError when
 * another session has it now.
 */
export async function ensureLockHeld(client: pg.Client, log: Logger, what: string): Promise<void> {
  const { rows } = await client.query<{ held: boolean; locked: boolean }>(
    `SELECT held, CASE WHEN held THEN true ELSE pg_catalog.pg_try_advisory_lock(${LOCK_KEY}) END AS locked ` +
      `FROM (SELECT ${LOCK_HELD} AS held) s`
  )
  const row = rows[0]
  if (row?.held) return
  if (!row?.locked) throw await lockLost(client, what)
  log.warning(
    `${what} released the migration lock (DISCARD ALL or pg_advisory_unlock_all()); took it again.`
  )
}

// --- applying a file ---

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

/** A migration file failed; `statement` is 1-based, 0 when it failed after its statements. */
export class MigrationError extends Error {
  override name = 'MigrationError'
  constructor(
    message: string,
    readonly version: string,
    readonly file: string,
    readonly statement: number,
    readonly statementCount: number,
    readonly sqlState: string | undefined,
    readonly position: { line: number; column: number } | undefined,
    /** Statements known to have stayed committed. */
    readonly committed: number,
    /** True when part of the file may have stayed applied (SEV1), false when it rolled back cleanly. */
    readonly partial: boolean,
    /** Where it failed, short: `at statement 3 of 5`, `leaves a transaction open`, ... */
    readonly at: string,
    /** What stayed applied, one sentence for the incident. */
    readonly outcome: string
  ) {
    super(message)
  }
}

/** Where a file failed: a statement (0-based) or a step after its statements. */
type FailedAt = number | 'history' | 'commit' | 'open' | 'lock'

/** What a failure left behind. */
interface Outcome {
  committed: number
  partial: boolean
  text: string
}

/** The outcome of a failure in a file run by `applyGeneral`. */
function outcomeOf(
  mode: ExecutionMode,
  committed: number,
  failedStandalone: number | undefined
): Outcome {
  if (mode !== 'transactional') {
    // The file's own COMMITs (or autocommit) decide; nothing proves the rest is gone.
    const how =
      mode === 'sequential'
        ? 'The file controls its own transactions (BEGIN/COMMIT in the file)'
        : 'The file runs without a transaction (-- pg-delta: transaction=false)'
    const known =
      committed > 0
        ? `statements 1-${committed} were committed before the failure; what ran after that was rolled back`
        : 'no statement was committed before the failure as far as this session can tell'
    return {
      committed,
      partial: true,
      text: `${how}, so it may be partially applied: ${known}. Check the schema before rerunning.`
    }
  }
  const parts: string[] = []
  if (committed > 0)
    parts.push(
      `Statements 1-${committed} stayed committed (the file is not atomic); the rest was rolled back.`
    )
  if (failedStandalone !== undefined)
    parts.push(
      `Statement ${failedStandalone + 1} ran outside a transaction and may have left partial effects (for example an invalid index).`
    )
  if (parts.length === 0)
    return { committed, partial: false, text: 'The file was rolled back completely.' }
  return { committed, partial: true, text: parts.join(' ') }
}

/** Shows the failing line of the statement with a caret under `offset` (a string index). */
function caret(statement: string, offset: number): string {
  const { line, column } = lineColumn(statement, offset)
  const lines = statement.split('\n')
  const from = Math.max(0, line - 3)
  const shown = lines.slice(from, line).map(l => `  ${l}`)
  return [...shown, `  ${' '.repeat(column - 1)}^`].join('\n')
}

function migrationError(
  m: LoadedMigration,
  index: FailedAt,
  error: unknown,
  outcome: Outcome
): MigrationError {
  const e = pgErrorFields(error)
  const count = m.statements.length
  const statement = typeof index === 'number' ? index + 1 : 0
  const text = typeof index === 'number' ? (m.statements[index] ?? '') : ''
  let position: { line: number; column: number } | undefined
  const lines: string[] = []
  const at =
    index === 'history'
      ? 'while recording it in the migration history'
      : index === 'commit'
        ? 'at COMMIT'
        : index === 'open'
          ? 'because it leaves a transaction open'
          : index === 'lock'
            ? 'while checking the migration lock'
            : `at statement ${statement} of ${count}`
  let where = at
  if (typeof index === 'number' && e.position !== undefined && Number(e.position) > 0) {
    // Postgres counts characters from 1; string indexes count UTF-16 units from 0.
    const offset = Array.from(text)
      .slice(0, Number(e.position) - 1)
      .join('').length
    position = lineColumn(text, offset)
    const start = splitStatements(m.sql)[index]?.offset
    if (start !== undefined) {
      const inFile = lineColumn(m.sql, start + offset)
      where += ` (line ${inFile.line}, column ${inFile.column} of the file; line ${position.line}, column ${position.column} of the statement)`
    }
    lines.push(caret(text, offset))
  } else if (typeof index === 'number') {
    lines.push(
      ...text
        .split('\n')
        .slice(0, 5)
        .map(l => `  ${l}`)
    )
  }
  if (e.detail) lines.unshift(`DETAIL: ${e.detail}`)
  if (e.hint) lines.unshift(`HINT: ${e.hint}`)
  if (e.where) lines.unshift(`CONTEXT: ${e.where}`)
  const message = [
    `Migration ${m.file} failed ${where}: ${e.message}${e.code ? ` (SQLSTATE ${e.code})` : ''}`,
    ...lines,
    `${outcome.text} It is not recorded in the migration history; later migrations were not attempted.`
  ].join('\n')
  return new MigrationError(
    redact(message),
    m.version,
    m.file,
    statement,
    count,
    e.code,
    position,
    outcome.committed,
    outcome.partial,
    at,
    redact(outcome.text)
  )
}

export interface ApplyOptions {
  /** statement_timeout for the file's statements, in milliseconds. */
  statementTimeoutMs?: number
  log: Logger
}

/** Runs one statement like the CLI: extended protocol, so one command per statement. */
async function exec(client: pg.Client, sql: string): Promise<void> {
  const query: pg.QueryConfig & { queryMode: 'extended' } = { text: sql, queryMode: 'extended' }
  await client.query(query)
}

/** `RESET ALL` plus the file's statement_timeout (session level, as the CLI leaves it). */
function resetSql(client: pg.Client, opts: ApplyOptions): string {
  return opts.statementTimeoutMs === undefined
    ? 'RESET ALL'
    : `RESET ALL; SET statement_timeout = ${client.escapeLiteral(`${opts.statementTimeoutMs}ms`)}`
}

/** The history INSERT with its values as literals, for one simple-protocol round trip with COMMIT. */
function insertHistorySql(client: pg.Client, m: LoadedMigration): string {
  const statements =
    m.statements.length === 0
      ? "'{}'::text[]"
      : `ARRAY[${m.statements.map(s => client.escapeLiteral(s)).join(', ')}]::text[]`
  return (
    'INSERT INTO supabase_migrations.schema_migrations(version, name, statements) ' +
    `VALUES(${client.escapeLiteral(m.version)}, ${client.escapeLiteral(m.name)}, ${statements})`
  )
}

interface Applied {
  result: FileResult
  /** Committed with synchronous_commit = off: durable only once a later commit flushes WAL. */
  async: boolean
  /** Committed with the session's synchronous_commit forced back to its default. */
  durable: boolean
}

/**
 * The common case, a transactional file without standalone statements, in
 * n + 2 round trips: `RESET ALL; COMMIT; BEGIN [; SET LOCAL ...]` (the reset
 * commits before BEGIN so the file's transaction starts with the reset
 * defaults, e.g. default_transaction_isolation), each statement on its own
 * (extended protocol, like the CLI), then `INSERT history; COMMIT`.
 */
async function applyAtomic(
  client: pg.Client,
  m: LoadedMigration,
  opts: ApplyOptions & { asyncCommit: boolean }
): Promise<void> {
  const begin = opts.asyncCommit ? 'BEGIN; SET LOCAL synchronous_commit = off' : 'BEGIN'
  try {
    await client.query(`${resetSql(client, opts)}; COMMIT; ${begin}`)
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined)
    throw error
  }
  // The last file commits with synchronous_commit back at the session
  // default, even if the file turned it off: that flush covers every
  // earlier asynchronous commit too.
  const durable = opts.asyncCommit ? '' : '; SET LOCAL synchronous_commit TO DEFAULT'
  const finish = `${insertHistorySql(client, m)}${durable}; COMMIT`
  // On a pipelined client the statements and the closing INSERT + COMMIT are
  // queued together: one round trip per file, as the CLI's batch. Each is still
  // its own extended-protocol query, and the transaction opened above is
  // already confirmed, so after a failure everything behind it fails with
  // 25P02 and runs nothing; the INSERT fails too, so its COMMIT never runs.
  // The lock check goes between the statements and the history row, so a file
  // that released the lock (pg_advisory_unlock_all()) never commits after
  // another session took it.
  const n = m.statements.length
  const queued = [
    ...m.statements.map(sql => () => exec(client, sql)),
    () => client.query(LOCK_CHECK_DO),
    () => client.query(finish)
  ]
  const settled = client.pipeline
    ? await Promise.allSettled(queued.map(q => q()))
    : await sequentially(queued)
  const failed = settled.findIndex(r => r.status === 'rejected')
  if (failed < 0) return
  let error: unknown = (settled[failed] as PromiseRejectedResult).reason
  let current: FailedAt = failed < n ? failed : failed === n ? 'lock' : 'history'
  // INSERT failed: the transaction is aborted ('E'); COMMIT failed: it is gone ('I').
  if (current === 'history' && client.getTransactionStatus() === 'I') current = 'commit'
  else await client.query('ROLLBACK').catch(() => undefined)
  if (current === 'lock' && sqlState(error) === '55P03') error = await lockLost(client, m.file)
  throw migrationError(m, current, error, outcomeOf('transactional', 0, undefined))
}

/** Runs the queries one after another, stopping at the first failure. */
async function sequentially(
  queries: Array<() => Promise<unknown>>
): Promise<PromiseSettledResult<unknown>[]> {
  const out: PromiseSettledResult<unknown>[] = []
  for (const q of queries) {
    try {
      out.push({ status: 'fulfilled', value: await q() })
    } catch (reason) {
      out.push({ status: 'rejected', reason })
      break
    }
  }
  return out
}

async function applyOne(
  client: pg.Client,
  m: MigrationToApply,
  opts: ApplyOptions & { asyncCommit: boolean }
): Promise<Applied> {
  const started = Date.now()
  const plan = m.plan ?? planFile(m)
  const result = (): FileResult => ({
    version: m.version,
    file: m.file,
    statements: m.statements.length,
    mode: plan.mode,
    atomic: plan.atomic,
    durationMs: Date.now() - started
  })
  // Defensive: a session inside a transaction takes the general path, which
  // never commits it on anyone's behalf (a file that leaves one open fails).
  if (
    plan.mode === 'transactional' &&
    plan.standalone.length === 0 &&
    client.getTransactionStatus() === 'I'
  ) {
    await applyAtomic(client, m, opts)
    return { result: result(), async: opts.asyncCommit, durable: !opts.asyncCommit }
  }
  await applyGeneral(client, m, plan, opts)
  return { result: result(), async: false, durable: false }
}

async function applyGeneral(
  client: pg.Client,
  m: LoadedMigration,
  plan: FilePlan,
  opts: ApplyOptions
): Promise<void> {
  await client.query(resetSql(client, opts))
  const standalone = new Set(plan.standalone)
  // sequential/none: the file's own COMMITs (or autocommit) decide what is committed.
  const ownTransactions = plan.mode !== 'transactional'
  let inTransaction = false
  let committed = 0
  let current: FailedAt = 0
  try {
    for (const [i, sql] of m.statements.entries()) {
      current = i
      if (!ownTransactions && standalone.has(i)) {
        if (inTransaction) {
          current = 'commit'
          await client.query('COMMIT')
          inTransaction = false
          committed = i
          current = i
        }
        opts.log.info(`${m.file}: statement ${i + 1} runs outside a transaction`)
        await exec(client, sql)
        committed = i + 1
        current = 'lock'
        await ensureLockHeld(client, opts.log, `${m.file} statement ${i + 1}`)
      } else {
        if (!ownTransactions && !inTransaction) {
          await client.query('BEGIN')
          inTransaction = true
        }
        await exec(client, sql)
        // Outside a transaction block now: everything up to here is committed.
        if (ownTransactions && client.getTransactionStatus() === 'I') committed = i + 1
      }
    }
    if (ownTransactions) {
      // Never record the file inside a transaction it opened: that row would
      // be lost with the transaction at disconnect.
      if (client.getTransactionStatus() !== 'I') {
        current = 'open'
        throw new Error(
          `statement ${committed + 1} onwards ran in a transaction that the file never commits ` +
            '(add COMMIT at the end of the file); that transaction was rolled back'
        )
      }
      current = 'lock'
      await ensureLockHeld(client, opts.log, m.file)
    }
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
    if (client.getTransactionStatus() !== 'I') await client.query('ROLLBACK').catch(() => undefined)
    if (plan.mode === 'none') await client.query('RESET ALL').catch(() => undefined)
    const failedStandalone =
      typeof current === 'number' && standalone.has(current) ? current : undefined
    throw migrationError(m, current, error, outcomeOf(plan.mode, committed, failedStandalone))
  }
}

/** What `ensureHistoryTable` is about to create: the schema and/or the table. */
async function historyToCreate(client: pg.Client): Promise<{ schema: boolean; table: boolean }> {
  const { rows } = await client.query<{ schema: boolean; table: boolean }>(
    "SELECT pg_catalog.to_regnamespace('supabase_migrations') IS NULL AS schema, " +
      "pg_catalog.to_regclass('supabase_migrations.schema_migrations') IS NULL AS table"
  )
  return { schema: rows[0]?.schema ?? false, table: rows[0]?.table ?? false }
}

/**
 * Drops exactly what this run created for the history, in one transaction,
 * and only while the table is still empty and this session holds the lock. The schema goes only if nothing
 * else is in it (RESTRICT). Best effort: a failure is a warning.
 */
async function dropCreatedHistory(
  client: pg.Client,
  created: { schema: boolean; table: boolean },
  log: Logger
): Promise<void> {
  if (!created.schema && !created.table) return
  try {
    if (client.getTransactionStatus() !== 'I') await client.query('ROLLBACK')
    await client.query("BEGIN; SET LOCAL lock_timeout = '4s'")
    // Not after losing the lock: another run may be using the table by now.
    const { rows } = await client.query<{ empty: boolean; held: boolean }>(
      'SELECT NOT EXISTS (SELECT 1 FROM supabase_migrations.schema_migrations) AS empty, ' +
        `${LOCK_HELD} AS held`
    )
    if (!rows[0]?.empty || !rows[0]?.held) {
      await client.query('ROLLBACK')
      return
    }
    if (created.table) await client.query('DROP TABLE supabase_migrations.schema_migrations')
    if (created.schema) {
      await client.query('SAVEPOINT drop_schema')
      await client
        .query('DROP SCHEMA supabase_migrations')
        .catch(() => client.query('ROLLBACK TO SAVEPOINT drop_schema'))
    }
    await client.query('COMMIT')
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined)
    log.warning(
      redact(
        `Could not drop the empty migration history table this run created (${pgErrorFields(error).message}); drop supabase_migrations.schema_migrations by hand if it is not wanted.`
      )
    )
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

/**
 * Applies files in order and stops at the first failure (which is thrown).
 *
 * Durability: every file but the last commits with `SET LOCAL
 * synchronous_commit = off`, so its COMMIT does not wait for a WAL flush
 * (and, with synchronous replication, for the standby). Consistency is
 * unaffected: a file and its history row still commit or roll back together,
 * and the server keeps commit order. The last file commits synchronously,
 * which flushes WAL (and waits for standbys) up to its commit record, so
 * all earlier commits are durable then too. On failure (or when the last
 * file took the general path) one synchronous no-op write to the history
 * table does the same flush before the error is reported. Either way,
 * everything reported as applied is durable when this returns or throws.
 */
export async function applyMigrations(
  client: pg.Client,
  files: readonly MigrationToApply[],
  opts: ApplyOptions & { onApplied?: (r: FileResult) => void }
): Promise<FileResult[]> {
  if (files.length === 0) return []
  const created = await historyToCreate(client)
  await ensureHistoryTable(client)
  const results: FileResult[] = []
  // Newest version committed asynchronously and not yet covered by a flush.
  let unflushed: string | undefined
  try {
    for (const [i, m] of files.entries()) {
      opts.log.info(`Applying migration ${m.file}...`)
      const applied = await applyOne(client, m, { ...opts, asyncCommit: i < files.length - 1 })
      if (applied.async) unflushed = m.version
      else if (applied.durable) unflushed = undefined
      results.push(applied.result)
      opts.onApplied?.(applied.result)
    }
  } catch (error) {
    // Nothing was applied: leave the database as it was, without the history table.
    if (results.length === 0) await dropCreatedHistory(client, created, opts.log)
    throw error
  } finally {
    if (unflushed !== undefined) await flushWal(client, unflushed, opts.log)
  }
  await client.query('RESET ALL')
  return results
}

// --- seeds ---

export interface SeedFile {
  /** Path as recorded in seed_files, relative to the project root (e.g. `supabase/seed.sql`). */
  path: string
  /** Where to read it. */
  file: string
}

export interface PendingSeed extends SeedFile {
  hash: string
  /** Already seeded with other content: only the hash is updated (CLI rule). */
  dirty: boolean
  /** The file's SQL, decoded as `readSql` does; empty when `dirty` (nothing runs). */
  sql: string
}

/** Seeds that are new (to run) or changed (hash update only); unchanged ones are skipped. */
export async function findPendingSeeds(
  client: pg.Client,
  seeds: readonly SeedFile[]
): Promise<PendingSeed[]> {
  if (seeds.length === 0) return []
  const recorded = new Map<string, string>()
  try {
    const { rows } = await client.query<{ path: string; hash: string }>(
      'SELECT path, hash FROM supabase_migrations.seed_files'
    )
    for (const r of rows) recorded.set(r.path, r.hash)
  } catch (error) {
    if (sqlState(error) !== '42P01') throw error
  }
  const pending: PendingSeed[] = []
  for (const s of seeds) {
    const bytes = await readFile(s.file)
    const hash = createHash('sha256').update(bytes).digest('hex')
    const known = recorded.get(s.path)
    if (known === hash) continue
    const dirty = known !== undefined
    pending.push({ ...s, hash, dirty, sql: dirty ? '' : decodeSql(bytes) })
  }
  return pending
}

/** Runs new seed files and records hashes, one transaction per file (`statementTimeoutMs` per statement). */
export async function applySeeds(
  client: pg.Client,
  seeds: readonly PendingSeed[],
  log: Logger,
  statementTimeoutMs?: number
): Promise<void> {
  if (seeds.length === 0) return
  await ensureTable(client, 'supabase_migrations.seed_files', ['path', 'hash'], SEED_DDL)
  for (const s of seeds) {
    log.info(s.dirty ? `Updating seed hash to ${s.path}...` : `Seeding data from ${s.path}...`)
    const statements = s.dirty ? [] : splitAndTrim(s.sql)
    await client.query(
      statementTimeoutMs === undefined
        ? 'BEGIN'
        : `BEGIN; SET LOCAL statement_timeout = ${client.escapeLiteral(`${statementTimeoutMs}ms`)}`
    )
    try {
      for (const [i, sql] of statements.entries()) {
        try {
          await exec(client, sql)
        } catch (error) {
          const e = pgErrorFields(error)
          throw new Error(
            redact(
              `Seed ${s.path} failed at statement ${i + 1} of ${statements.length}: ${e.message}${e.code ? ` (SQLSTATE ${e.code})` : ''}`
            )
          )
        }
      }
      await client.query(UPSERT_SEED, [s.path, s.hash])
      await client.query('COMMIT')
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined)
      throw error
    }
  }
}
