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
import {
  connect,
  describeTarget,
  type DatabaseTarget
} from '../../../providers/postgres/client.js'
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
  now: () => number
  log: (line: string) => void
}): Promise<DrillResult> {
  const where = describeTarget(o.target)
  const db = await connect(o.target, { applicationName: 'shipgate-db-backup-drill' })
  try {
    const before = await listTables(db)
    if (before.length)
      throw new ConfigurationError(
        `The restore-test database ${where} is not empty (${before.length} table(s), e.g. ${qualified(before[0])}): the drill restores only into an empty scratch database, and empties it again afterwards`
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
            `--dbname=${o.target.database}`
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
    throw new Error(`${file.split('/').pop()} exit ${code ?? signal}: ${stderrCause(text) || 'no message'}`)
  if (pipeError) throw new Error(`reading the backup failed: ${pipeError.message}`)
  if (/\berror:|^ERROR:/im.test(text)) throw new Error(stderrCause(text))
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
