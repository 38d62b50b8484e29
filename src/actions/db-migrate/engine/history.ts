import type pg from 'pg'
import { pgErrorFields } from '../../../providers/postgres/client.js'
import type { EngineLogger as Logger } from '../../../runtime/logger.js'
import { redact } from '../../../runtime/redact.js'
import type { LoadedMigration } from './local.js'
import { LOCK_HELD } from './lock.js'
import type { RemoteMigration } from './plan.js'

// History tables, exactly as the Supabase CLI creates and writes them.
export const HISTORY_DDL: readonly string[] = [
  "SET LOCAL lock_timeout = '4s'",
  'CREATE SCHEMA IF NOT EXISTS supabase_migrations',
  'CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations (version text NOT NULL PRIMARY KEY)',
  'ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS statements text[]',
  'ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS name text'
]
export const INSERT_HISTORY =
  'INSERT INTO supabase_migrations.schema_migrations(version, name, statements) VALUES($1, $2, $3)'

export function sqlState(error: unknown): string | undefined {
  return pgErrorFields(error).code
}

/** The CLI's check that a table already has its columns (no DDL, no locks, then). */
function provisionedQuery(table: string, columns: string[]): string {
  return (
    `SELECT count(*) = ${columns.length} AS provisioned FROM pg_catalog.pg_attribute a ` +
    'JOIN pg_catalog.pg_class c ON c.oid = a.attrelid ' +
    `WHERE a.attrelid = pg_catalog.to_regclass('${table}') AND c.relkind IN ('r', 'p') ` +
    `AND NOT a.attisdropped AND a.attname IN (${columns.map(c => `'${c}'`).join(', ')})`
  )
}

/** Creates `table` with `ddl` in one transaction unless it already has `columns`. */
export async function ensureTable(
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

/** The history INSERT with its values as literals (a simple-protocol query, no parameters). */
export function insertHistorySql(client: pg.Client, m: LoadedMigration): string {
  const statements =
    m.statements.length === 0
      ? "'{}'::text[]"
      : `ARRAY[${m.statements.map(s => client.escapeLiteral(s)).join(', ')}]::text[]`
  return (
    'INSERT INTO supabase_migrations.schema_migrations(version, name, statements) ' +
    `VALUES(${client.escapeLiteral(m.version)}, ${client.escapeLiteral(m.name)}, ${statements})`
  )
}

/** SQLSTATE of the guard that stops a queued file whose predecessor is not committed. */
export const NOT_AFTER_PREVIOUS = 'P0004'

/**
 * Runs first in a queued file's transaction: fails it unless `previous` has
 * its history row committed, so after any failure (even one at COMMIT) no
 * later file runs. Version and name together: two local files may share a
 * version, and the first one's row must not vouch for the second.
 */
export function previousCommittedSql(
  client: pg.Client,
  previous: Pick<LoadedMigration, 'version' | 'name'>
): string {
  const version = client.escapeLiteral(previous.version)
  const name = client.escapeLiteral(previous.name)
  return (
    'DO $shipgate$ BEGIN IF NOT EXISTS (SELECT 1 FROM supabase_migrations.schema_migrations ' +
    `WHERE version = ${version} AND name IS NOT DISTINCT FROM ${name}) THEN ` +
    `RAISE EXCEPTION 'migration % is not committed', ${version} ` +
    `USING ERRCODE = '${NOT_AFTER_PREVIOUS}'; END IF; END $shipgate$`
  )
}

/** What `ensureHistoryTable` is about to create: the schema and/or the table. */
export async function historyToCreate(
  client: pg.Client
): Promise<{ schema: boolean; table: boolean }> {
  const { rows } = await client.query<{ schema: boolean; table: boolean }>(
    "SELECT pg_catalog.to_regnamespace('supabase_migrations') IS NULL AS schema, " +
      "pg_catalog.to_regclass('supabase_migrations.schema_migrations') IS NULL AS table"
  )
  return { schema: rows[0]?.schema ?? false, table: rows[0]?.table ?? false }
}

/**
 * Drops exactly what this run created for the history, in one transaction,
 * and only while the table is still empty and this session holds the lock.
 * The schema goes only if nothing else is in it (RESTRICT). Best effort: a
 * failure is a warning.
 */
export async function dropCreatedHistory(
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
