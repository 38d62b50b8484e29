/**
 * One backup, end to end: connect and take a snapshot, find a pg_dump at least
 * as new as the server, dump through encryption into a temporary file, verify
 * it from disk, optionally restore it into a scratch database, and only then
 * give it its final name. Loaded lazily (it brings pg and the crypto libraries).
 */
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, rename, rm } from 'node:fs/promises'
import path from 'node:path'
import type { Duplex } from 'node:stream'
import type pg from 'pg'
import {
  connect,
  describeTarget,
  parseDatabaseUrl,
  type DatabaseTarget
} from '../../../providers/postgres/client.js'
import { ConfigurationError } from '../../../runtime/errors.js'
import type { Logger } from '../../../runtime/logger.js'
import { extension, type BackupInputs } from '../inputs.js'
import { tablePattern } from './args.js'
import { countable, countRows, expectedTables, listTables, type TableInfo } from './catalog.js'
import { findClient, installClient, noClientError, serverMajor, type PgClient } from './client.js'
import { dumpToFile, pgEnv } from './dump.js'
import { ageDecrypter, ageEncrypter, opensslDecrypter, opensslEncrypter } from './encrypt.js'
import { databaseIdentity, restoreDrill, type DrillResult } from './restore.js'
import { verifyBackup, type Verification } from './verify.js'

export type Stage = 'connect' | 'client' | 'dump' | 'verify' | 'restore' | 'deliver' | 'done'

/** What a run learnt, filled in as it goes (the report reads it on every path). */
export interface BackupState {
  stage: Stage
  target?: string
  serverVersion?: string
  client?: PgClient
  tables?: TableInfo[]
  /** The tables the backup must contain; undefined when extra-args select objects. */
  expected?: TableInfo[]
  /** The final path, set once the backup is verified and renamed into place. */
  file?: string
  fileName: string
  bytes?: number
  sha256?: string
  verification?: Verification
  drill?: DrillResult
  warnings: string[]
  dumpSeconds?: number
}

export interface BackupEnv {
  log: Logger
  env: NodeJS.ProcessEnv
  now: () => number
  /** Registers cleanup for a cancelled run; returns the unregister function. */
  onCancel: (hook: () => Promise<void>) => () => void
}

export function newBackupState(inputs: BackupInputs): BackupState {
  return {
    stage: 'connect',
    fileName: inputs.name + extension(inputs.format, inputs.encryption),
    warnings: []
  }
}

function target(url: string, input: string): DatabaseTarget {
  try {
    return parseDatabaseUrl(url)
  } catch (error) {
    throw new ConfigurationError(
      `Input '${input}' (secret, not shown) is not usable: ${(error as Error).message}`
    )
  }
}

/** `user@host:port/database` of the source: the incident fingerprint's target. */
export function sourceTarget(inputs: BackupInputs): string {
  return describeTarget(target(inputs.databaseUrl, 'database-url'))
}

interface Sealer {
  encrypt?: Duplex
  decrypter: () => Promise<Duplex | undefined>
}

async function sealer(inputs: BackupInputs): Promise<Sealer> {
  if (inputs.encryption === 'age') {
    let age: Awaited<ReturnType<typeof ageEncrypter>>
    try {
      age = await ageEncrypter(inputs.recipients)
    } catch (error) {
      throw new ConfigurationError(
        `Input 'recipients' has a key age does not accept: ${(error as Error).message}`
      )
    }
    return { encrypt: age.stream, decrypter: () => ageDecrypter(age.fileKey()) }
  }
  if (inputs.encryption === 'openssl')
    return {
      encrypt: await opensslEncrypter(inputs.passphrase, inputs.iterations),
      decrypter: async () => opensslDecrypter(inputs.passphrase, inputs.iterations)
    }
  return { decrypter: async () => undefined }
}

/** How long pg_dump waits for a table lock (it otherwise waits forever). */
export const LOCK_WAIT_MS = 5 * 60_000

/** pg_dump's arguments: format, snapshot, the inputs' selections; never a connection detail. */
export function dumpArgs(inputs: BackupInputs, snapshot: string | undefined): string[] {
  const args = [`--format=${inputs.format}`, '--no-password']
  if (snapshot) args.push(`--snapshot=${snapshot}`)
  if (inputs.schemaOnly) args.push('--schema-only')
  if (inputs.dataOnly) args.push('--data-only')
  for (const t of inputs.excludeTables) args.push(`--exclude-table=${t}`)
  // A table locked by a migration must not hang the dump forever.
  if (!inputs.extra.args.some(a => a.startsWith('--lock-wait-timeout')))
    args.push(`--lock-wait-timeout=${LOCK_WAIT_MS}`)
  args.push(...inputs.extra.args)
  return args
}

/** Peak memory so far, for the debug log (memory must stay flat whatever the size). */
function peakMB(): string {
  return `${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`
}

export async function backup(inputs: BackupInputs, s: BackupState, e: BackupEnv): Promise<void> {
  const source = target(inputs.databaseUrl, 'database-url')
  const scratch = inputs.restoreTestUrl
    ? target(inputs.restoreTestUrl, 'restore-test-url')
    : undefined
  s.target = describeTarget(source)
  const seal = await sealer(inputs)

  s.stage = 'connect'
  const db = await connect(source, { applicationName: 'shipgate-db-backup' })
  let snapshotOpen = false
  try {
    const { rows } = await db.query<{ num: string; version: string }>(
      "SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS version"
    )
    s.serverVersion = rows[0].version.split(' ')[0]
    const identity = scratch ? await databaseIdentity(db) : undefined
    const major = serverMajor(Number(rows[0].num))
    s.stage = 'client'
    s.client = await chooseClient(inputs, major, s.serverVersion, e)
    e.log.info(
      `Server PostgreSQL ${s.serverVersion}; using pg_dump ${s.client.version} (${s.client.pgDump})`
    )

    await mkdir(inputs.outputDir, { recursive: true })
    const final = path.join(inputs.outputDir, s.fileName)
    if (existsSync(final))
      throw new ConfigurationError(
        `${final} already exists: give another 'name' or 'output-dir' (a backup is never overwritten)`
      )

    // The snapshot pg_dump will use: the table list and row counts below are the dump's.
    const snapshot = await takeSnapshot(db, e.log).catch(error => {
      s.warnings.push(
        `No shared snapshot (${(error as Error).message}): row counts are read separately from the dump.`
      )
      return undefined
    })
    snapshotOpen = snapshot !== undefined

    // Read inside the snapshot while pg_dump runs (its own connection): off the critical path.
    const catalog = readCatalog(db, inputs, s, scratch !== undefined)
    catalog.catch(() => undefined)

    s.stage = 'dump'
    const temp = path.join(
      inputs.outputDir,
      `.${s.fileName}.${randomBytes(4).toString('hex')}.partial`
    )
    const env = pgEnv(e.env, source)
    let stop: (() => void) | undefined
    const unhook = e.onCancel(async () => {
      stop?.()
      await rm(temp, { force: true })
    })
    try {
      const started = e.now()
      e.log.info(
        `Dumping ${s.target} (${inputs.format} format${inputs.encryption !== 'false' ? `, ${inputs.encryption} encryption` : ''})`
      )
      const dumped = await dumpToFile({
        pgDump: s.client.pgDump,
        args: dumpArgs(inputs, snapshot),
        env,
        gzip: inputs.format === 'plain',
        encrypt: seal.encrypt,
        file: temp,
        onStart: fn => (stop = fn)
      })
      s.dumpSeconds = (e.now() - started) / 1000
      s.bytes = dumped.bytes
      s.sha256 = dumped.sha256
      if (dumped.stderr) e.log.debug(`pg_dump stderr:\n${dumped.stderr}`)
      await catalog
      for (const w of dumped.warnings)
        s.warnings.push(`pg_dump: ${w.replace(/^pg_dump: (warning: )?/, '')}`)
      if (snapshotOpen) {
        await db.query('COMMIT')
        snapshotOpen = false
      }

      e.log.debug(
        `dumped ${dumped.bytes} bytes in ${s.dumpSeconds.toFixed(1)} s; peak RSS ${peakMB()}`
      )
      s.stage = 'verify'
      s.verification = await verifyBackup({
        file: temp,
        format: inputs.format,
        sha256: dumped.sha256,
        size: dumped.bytes,
        decrypter: seal.decrypter,
        pgRestore: s.client.pgRestore,
        env,
        expected: s.expected,
        dataOnly: inputs.dataOnly
      })

      e.log.debug(`verified; peak RSS ${peakMB()}`)
      if (scratch) {
        s.stage = 'restore'
        s.drill = await restoreDrill({
          file: temp,
          format: inputs.format,
          decrypter: seal.decrypter,
          client: s.client,
          target: scratch,
          baseEnv: e.env,
          // extra-args that select objects leave the expected list unknown: nothing to compare.
          source: s.expected ?? [],
          sourceIdentity: identity!,
          now: e.now,
          log: line => e.log.info(line)
        })
        if (s.drill.mismatches.length)
          throw new Error(
            `the restored copy differs from the source in ${s.drill.mismatches.length} table(s): ${s.drill.mismatches
              .slice(0, 5)
              .map(m =>
                m.restored === undefined
                  ? `${m.table} missing`
                  : `${m.table} ${m.source} → ${m.restored} rows`
              )
              .join(', ')}`
          )
      }
      // Verified: only now does it get a name that says it is a backup.
      await rename(temp, final)
      s.file = final
    } finally {
      unhook()
      if (!s.file) await rm(temp, { force: true })
    }
  } finally {
    if (snapshotOpen) await db.query('ROLLBACK').catch(() => undefined)
    await db.end().catch(() => undefined)
  }
}

/** The source's tables (and, for the drill, row counts) as the dump sees them. */
async function readCatalog(
  db: pg.Client,
  inputs: BackupInputs,
  s: BackupState,
  counts: boolean
): Promise<void> {
  s.tables = await listTables(db)
  s.expected = inputs.extra.selecting
    ? undefined
    : expectedTables(s.tables, {
        excludeTables: [...inputs.excludeTables, ...inputs.extra.excludeTables],
        excludeSchemas: inputs.extra.excludeSchemas
      })
  if (!counts || !s.expected || inputs.schemaOnly) return
  await countRows(db, s.expected, t => countable(t))
  // Tables dumped without their rows restore empty: their counts are not compared.
  const noData = inputs.extra.excludeData.map(tablePattern)
  for (const t of s.expected) if (noData.some(m => m(t.schema, t.name))) t.rows = undefined
}

/** A repeatable-read snapshot pg_dump imports (`--snapshot`), so our counts are the dump's. */
async function takeSnapshot(db: pg.Client, log: Logger): Promise<string> {
  await db.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
  try {
    const { rows } = await db.query<{ id: string }>('SELECT pg_export_snapshot() AS id')
    return rows[0].id
  } catch (error) {
    await db.query('ROLLBACK').catch(() => undefined)
    log.debug(`pg_export_snapshot failed: ${(error as Error).message}`)
    throw error
  }
}

async function chooseClient(
  inputs: BackupInputs,
  major: number,
  serverVersion: string,
  e: BackupEnv
): Promise<PgClient> {
  const look = () =>
    findClient(major, { pgDumpPath: inputs.pgDumpPath, pathEnv: e.env.PATH, env: e.env })
  let { client, found } = await look()
  if (client) return client
  const canInstall = inputs.installClient && !inputs.pgDumpPath && process.platform === 'linux'
  if (canInstall) {
    e.log.info(
      `No pg_dump ${major}+ found; installing postgresql-client-${major} from apt.postgresql.org`
    )
    await e.log.group(`Install postgresql-client-${major}`, () =>
      installClient(major, line => e.log.info(line), e.env)
    )
    ;({ client, found } = await look())
    if (client) return client
  }
  throw noClientError(major, serverVersion, found, {
    pgDumpPath: inputs.pgDumpPath,
    installTried: canInstall
  })
}
