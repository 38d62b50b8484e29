import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type pg from 'pg'
import { pgErrorFields } from '../../../providers/postgres/client.js'
import type { EngineLogger as Logger } from '../../../runtime/logger.js'
import { redact } from '../../../runtime/redact.js'
import { ensureTable, sqlState } from './history.js'
import { decodeSql } from './local.js'
import { splitAndTrim } from './split.js'

export const SEED_DDL: readonly string[] = [
  "SET LOCAL lock_timeout = '4s'",
  'CREATE SCHEMA IF NOT EXISTS supabase_migrations',
  'CREATE TABLE IF NOT EXISTS supabase_migrations.seed_files (path text NOT NULL PRIMARY KEY, hash text NOT NULL)'
]
const UPSERT_SEED =
  'INSERT INTO supabase_migrations.seed_files(path, hash) VALUES($1, $2) ON CONFLICT (path) DO UPDATE SET hash = EXCLUDED.hash'

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
    const bytes = readFileSync(s.file)
    const hash = createHash('sha256').update(bytes).digest('hex')
    const known = recorded.get(s.path)
    if (known === hash) continue
    const dirty = known !== undefined
    pending.push({ ...s, hash, dirty, sql: dirty ? '' : decodeSql(bytes) })
  }
  return pending
}

/** Runs one statement like the CLI: extended protocol, so one command per statement. */
export async function exec(client: pg.Client, sql: string): Promise<void> {
  const query: pg.QueryConfig & { queryMode: 'extended' } = { text: sql, queryMode: 'extended' }
  await client.query(query)
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
