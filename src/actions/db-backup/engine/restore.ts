/**
 * The restore drill: the backup file, decrypted as a stream, restored into an
 * empty scratch database; then the table list and row counts compared with the
 * source's (taken in the dump's snapshot). The scratch database is emptied again.
 */
import { spawn } from 'node:child_process'
import { createReadStream } from 'node:fs'
import type { Duplex } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip } from 'node:zlib'
import type pg from 'pg'
import { connect, describeTarget, type DatabaseTarget } from '../../../providers/postgres/client.js'
import { ConfigurationError } from '../../../runtime/errors.js'
import { redact } from '../../../runtime/redact.js'
import {
  compareTables,
  countRows,
  listTables,
  qualified,
  quoteIdent,
  type Mismatch,
  type TableInfo
} from './catalog.js'
import type { PgClient } from './client.js'
import { pgEnv, stderrCause } from './dump.js'
import { collectStderr, exited } from './exec.js'
import { DECRYPT_READ_SIZE } from './verify.js'

export class RestoreError extends Error {
  override name = 'RestoreError'
}

export interface DrillResult {
  seconds: number
  restored: TableInfo[]
  mismatches: Mismatch[]
}

export async function restoreDrill(o: {
  file: string
  format: 'custom' | 'plain'
  decrypter: () => Promise<Duplex | undefined>
  client: PgClient
  target: DatabaseTarget
  baseEnv: NodeJS.ProcessEnv
  /** The source's tables with their counts (from the dump's snapshot). */
  source: TableInfo[]
  /** Who the source is, to refuse a scratch URL that reaches it. */
  sourceIdentity: DatabaseIdentity
  now: () => number
  log: (line: string) => void
}): Promise<DrillResult> {
  const where = describeTarget(o.target)
  const db = await connect(o.target, { applicationName: 'shipgate-db-backup-drill' })
  try {
    // A URL can name the source in many ways (localhost, ?dbname=, another user): ask the server.
    if (await isSameDatabase(db, o.sourceIdentity))
      throw new ConfigurationError(
        `The restore-test database ${where} is the database being backed up: give a scratch database the drill may fill and empty`
      )
    const tables = await listTables(db)
    if (tables.length)
      throw new ConfigurationError(
        `The restore-test database ${where} is not empty (${tables.length} table(s), e.g. ${qualified(tables[0])}): the drill restores only into an empty scratch database, and empties it again afterwards`
      )
    const before = await userObjects(db)
    if (before.length)
      throw new ConfigurationError(
        `The restore-test database ${where} is not empty (${before.length} object(s), e.g. ${before[0]}): the drill restores only into an empty scratch database, and empties it again afterwards`
      )
    // From here on the database holds what the drill put there: empty it on every path.
    try {
      const started = o.now()
      try {
        await restoreInto(o)
      } catch (error) {
        throw new RestoreError(`Restoring into ${where} failed: ${(error as Error).message}`)
      }
      const seconds = (o.now() - started) / 1000
      o.log(`Restored into ${where} in ${seconds.toFixed(1)} s; comparing tables and row counts`)
      const restored = await listTables(db)
      const exact = new Set(o.source.filter(t => t.exact).map(qualified))
      await countRows(db, restored, t => exact.has(qualified(t)), true)
      return { seconds, restored, mismatches: compareTables(o.source, restored) }
    } finally {
      await empty(db).catch(error =>
        o.log(`Could not empty the restore-test database ${where}: ${(error as Error).message}`)
      )
    }
  } finally {
    await db.end().catch(() => undefined)
  }
}

async function restoreInto(o: Parameters<typeof restoreDrill>[0]): Promise<void> {
  const env = pgEnv(o.baseEnv, o.target)
  const [file, args] =
    o.format === 'custom'
      ? [
          o.client.pgRestore,
          [
            '--no-owner',
            '--no-acl',
            '--exit-on-error',
            '--single-transaction',
            // A bare name with '=' or a URI prefix would be read as a connection string.
            `--dbname=dbname=${conninfoValue(o.target.database)}`
          ]
        ]
      : [o.client.psql, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-f', '-']]
  const child = spawn(file, args, { env, stdio: ['pipe', 'ignore', 'pipe'] })
  const stderr = collectStderr(child)
  const exit = exited(child)
  const d = await o.decrypter()
  const stages = [
    createReadStream(o.file, { highWaterMark: DECRYPT_READ_SIZE }),
    ...(d ? [d] : []),
    ...(o.format === 'plain' ? [createGunzip()] : []),
    child.stdin!
  ]
  const piped = pipeline(stages as unknown as NodeJS.ReadWriteStream[]).then(
    () => undefined,
    (error: Error) => {
      child.kill('SIGTERM')
      return error
    }
  )
  const [{ code, signal }, pipeError] = await Promise.all([exit, piped])
  const text = redact(stderr())
  if (code !== 0)
    throw new Error(
      `${file.split('/').pop()} exit ${code ?? signal}: ${stderrCause(text) || 'no message'}`
    )
  if (pipeError) throw new Error(`reading the backup failed: ${pipeError.message}`)
  if (/\berror:|^ERROR:/im.test(text)) throw new Error(stderrCause(text))
}

/** What identifies a database across URLs: the cluster's system identifier and the database. */
export interface DatabaseIdentity {
  /** pg_control_system().system_identifier, when the role may read it. */
  system?: string
  database: string
  /** The backend of the connection asking (found in pg_stat_activity when `system` is unknown). */
  pid: number
}

export async function databaseIdentity(db: pg.Client): Promise<DatabaseIdentity> {
  const { rows } = await db.query<{ database: string; pid: number }>(
    'SELECT current_database() AS database, pg_backend_pid() AS pid'
  )
  const system = await db
    .query<{ id: string }>('SELECT system_identifier::text AS id FROM pg_control_system()')
    .then(
      r => r.rows[0]?.id,
      () => undefined
    )
  return { ...rows[0], ...(system ? { system } : {}) }
}

async function isSameDatabase(db: pg.Client, source: DatabaseIdentity): Promise<boolean> {
  const here = await databaseIdentity(db)
  if (source.system && here.system)
    return source.system === here.system && source.database === here.database
  // Without the identifier: is the source's own connection on this server, in this database?
  const { rows } = await db.query(
    `SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND datname = current_database()
       AND application_name = 'shipgate-db-backup'`,
    [source.pid]
  )
  return rows.length > 0
}

/** libpq conninfo quoting: single quotes, backslash before ' and \. */
export function conninfoValue(v: string): string {
  return `'${v.replace(/[\\']/g, c => `\\${c}`)}'`
}

/**
 * Everything `empty` would drop: any schema besides `public`, any object in it,
 * any extension. An empty scratch database has none, so emptying it loses nothing.
 */
export async function userObjects(db: pg.Client): Promise<string[]> {
  const { rows } = await db.query<{ what: string }>(`
    WITH ns AS (SELECT oid, nspname FROM pg_namespace
                WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname !~ '^pg_')
    SELECT 'schema ' || nspname AS what FROM ns WHERE nspname <> 'public'
    UNION ALL SELECT 'relation ' || ns.nspname || '.' || c.relname
      FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
    UNION ALL SELECT 'function ' || ns.nspname || '.' || p.proname
      FROM pg_proc p JOIN ns ON ns.oid = p.pronamespace
    UNION ALL SELECT 'type ' || ns.nspname || '.' || t.typname
      FROM pg_type t JOIN ns ON ns.oid = t.typnamespace WHERE t.typrelid = 0 AND t.typelem = 0
    UNION ALL SELECT 'operator ' || ns.nspname || '.' || o.oprname
      FROM pg_operator o JOIN ns ON ns.oid = o.oprnamespace
    UNION ALL SELECT 'collation ' || ns.nspname || '.' || c.collname
      FROM pg_collation c JOIN ns ON ns.oid = c.collnamespace
    UNION ALL SELECT 'text search configuration ' || ns.nspname || '.' || c.cfgname
      FROM pg_ts_config c JOIN ns ON ns.oid = c.cfgnamespace
    UNION ALL SELECT 'extension ' || extname FROM pg_extension WHERE extname <> 'plpgsql'
    LIMIT 20`)
  return rows.map(r => r.what)
}

/** Drops every schema the restore created and recreates an empty `public`. */
async function empty(db: pg.Client): Promise<void> {
  const { rows } = await db.query<{ nspname: string }>(
    `SELECT nspname FROM pg_namespace
     WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname !~ '^pg_'`
  )
  for (const r of rows) await db.query(`DROP SCHEMA IF EXISTS ${quoteIdent(r.nspname)} CASCADE`)
  await db.query('CREATE SCHEMA IF NOT EXISTS public')
  await db.query('GRANT USAGE ON SCHEMA public TO PUBLIC')
}
