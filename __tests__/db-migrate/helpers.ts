/** Shared fixtures: a fresh database per test on the local server, temp projects, the real CLI. */
import { execFile } from 'node:child_process'
import net from 'node:net'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { afterEach, beforeEach } from '@jest/globals'
import type { MigrateOptions } from '../../src/actions/db-migrate/engine/engine.js'
import type { EngineLogger as Logger } from '../../src/runtime/logger.js'

export const PG_HOST = process.env.SHIPGATE_TEST_PGHOST ?? '127.0.0.1'
export const PG_PORT = Number(process.env.SHIPGATE_TEST_PGPORT ?? 5432)
const ADMIN_URL = `postgres://postgres@${PG_HOST}:${PG_PORT}/postgres?sslmode=disable`

export function dbUrl(name: string): string {
  return `postgres://postgres@${PG_HOST}:${PG_PORT}/${name}?sslmode=disable`
}

export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

export async function query<T extends pg.QueryResultRow = pg.QueryResultRow>(
  url: string,
  sql: string,
  values: unknown[] = []
): Promise<T[]> {
  return withClient(url, async c => (await c.query<T>(sql, values)).rows)
}

export interface TestDb {
  name: string
  url: string
  drop(): Promise<void>
}

export async function createDb(): Promise<TestDb> {
  const name = `shipgate_t_${randomBytes(6).toString('hex')}`
  await query(ADMIN_URL, `CREATE DATABASE ${name}`)
  return {
    name,
    url: dbUrl(name),
    drop: async () => {
      await query(ADMIN_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    }
  }
}

/** A temp project dir with `supabase/migrations/<files>` (and any other files, relative to the root). */
export async function makeProject(
  migrations: Record<string, string>,
  other: Record<string, string> = {}
): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'shipgate-mig-'))
  await mkdir(path.join(root, 'supabase', 'migrations'), { recursive: true })
  for (const [file, sql] of Object.entries(migrations)) {
    await writeFile(path.join(root, 'supabase', 'migrations', file), sql)
  }
  for (const [file, content] of Object.entries(other)) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true })
    await writeFile(path.join(root, file), content)
  }
  return root
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true })
}

export const SUPABASE_BIN = path.resolve('node_modules/.bin/supabase')

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

/** Runs the real Supabase CLI (the compatibility oracle) in a project dir. */
export function supabase(args: string[], cwd: string): Promise<CliResult> {
  return new Promise(resolve => {
    execFile(
      SUPABASE_BIN,
      args,
      {
        cwd,
        timeout: 60_000,
        env: { ...process.env, SUPABASE_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' }
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
        resolve({ code, stdout: String(stdout), stderr: String(stderr) })
      }
    )
  })
}

export interface CapturedLog extends Logger {
  lines: string[]
  warnings: string[]
}

export function captureLog(): CapturedLog {
  const lines: string[] = []
  const warnings: string[] = []
  return {
    lines,
    warnings,
    info: m => void lines.push(m),
    warning: m => {
      warnings.push(m)
      lines.push(`WARN ${m}`)
    }
  }
}

export interface HistoryRow {
  version: string
  name: string | null
  statements: string[] | null
}

export async function historyRows(url: string): Promise<HistoryRow[]> {
  return query<HistoryRow>(
    url,
    'SELECT version, name, statements FROM supabase_migrations.schema_migrations ORDER BY version'
  )
}

export async function tables(url: string): Promise<string[]> {
  const rows = await query<{ t: string }>(
    url,
    "SELECT table_schema || '.' || table_name AS t FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
  )
  return rows.map(r => r.t)
}

/**
 * The engine tests' fixture: a fresh database and log per test, temp projects
 * removed afterwards, and the engine options pointing at both.
 */
export function engineFixture() {
  const fx = {
    db: undefined as unknown as TestDb,
    log: captureLog(),
    root: '',
    dirs: [] as string[],
    async project(
      files: Record<string, string>,
      other: Record<string, string> = {}
    ): Promise<string> {
      fx.root = await makeProject(files, other)
      fx.dirs.push(fx.root)
      return fx.root
    },
    opts(extra: Partial<MigrateOptions> = {}): MigrateOptions {
      return {
        databaseUrl: fx.db.url,
        migrationsDir: path.join(fx.root, 'supabase', 'migrations'),
        log: fx.log,
        ...extra
      }
    }
  }
  beforeEach(async () => {
    fx.db = await createDb()
    fx.log = captureLog()
  })
  afterEach(async () => {
    await fx.db.drop()
    await Promise.all(fx.dirs.splice(0).map(removeDir))
  })
  return fx
}

/** A TCP server on 127.0.0.1 that hands each connection to `onSocket`. */
export async function tcpServer(
  onSocket: (socket: net.Socket) => void
): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer(socket => {
    sockets.add(socket)
    socket.on('error', () => undefined)
    onSocket(socket)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  return {
    port,
    close: () =>
      new Promise<void>(resolve => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      })
  }
}

/** A server-side ErrorResponse (FATAL) as Postgres sends it during the startup. */
export function startupError(code: string, message: string): Buffer {
  const fields = Buffer.concat(
    ['SFATAL', 'VFATAL', `C${code}`, `M${message}`]
      .map(f => Buffer.from(`${f}\0`, 'utf8'))
      .concat([Buffer.from([0])])
  )
  const head = Buffer.alloc(5)
  head.write('E', 0)
  head.writeInt32BE(fields.length + 4, 1)
  return Buffer.concat([head, fields])
}

/** A fake server that answers the startup message (sslmode=disable) with `reply` and hangs up. */
export function refusingServer(reply: Buffer): ReturnType<typeof tcpServer> {
  return tcpServer(socket => socket.once('data', () => socket.end(reply)))
}
