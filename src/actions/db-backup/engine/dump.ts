/**
 * pg_dump → (gzip for plain) → (encryption) → SHA-256 → file, one Node stream
 * pipeline with backpressure: memory stays flat whatever the database size.
 * The file is written under a temporary name; only a verified backup is renamed.
 */
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { Transform, type Duplex, type Readable, type Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGzip } from 'node:zlib'
import type { DatabaseTarget } from '../../../providers/postgres/client.js'
import { redact } from '../../../runtime/redact.js'
import { collectStderr, exited } from './exec.js'

/** The libpq environment for a target: the password only ever travels in PGPASSWORD. */
export function pgEnv(base: NodeJS.ProcessEnv, t: DatabaseTarget): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  // The runner's own PG* settings (PGSERVICE, PGPASSFILE...) must not redirect the dump.
  for (const [k, v] of Object.entries(base)) if (!k.startsWith('PG')) env[k] = v
  Object.assign(env, {
    PGHOST: t.host,
    PGPORT: String(t.port),
    PGUSER: t.user,
    PGDATABASE: t.database,
    PGSSLMODE: t.sslmode,
    PGCONNECT_TIMEOUT: String(t.connectTimeout ?? 10),
    PGAPPNAME: 'shipgate-db-backup'
  })
  if (t.password) env.PGPASSWORD = t.password
  if (t.sslrootcert) env.PGSSLROOTCERT = t.sslrootcert
  if (t.options) env.PGOPTIONS = t.options
  return env
}

/** A pass-through that hashes and counts what flows through it. */
export function meter(): Transform & { sha256: () => string; bytes: () => number } {
  const hash = createHash('sha256')
  let bytes = 0
  const t = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk)
      bytes += chunk.length
      done(null, chunk)
    }
  })
  let digest: string | undefined
  return Object.assign(t, {
    sha256: () => (digest ??= hash.digest('hex')),
    bytes: () => bytes
  })
}

export class DumpError extends Error {
  override name = 'DumpError'
  constructor(
    message: string,
    readonly stderr: string
  ) {
    super(message)
  }
}

export interface DumpResult {
  bytes: number
  sha256: string
  /** pg_dump's warnings (its `warning:` lines). */
  warnings: string[]
  /** Everything else it printed (with -v, its progress), for the debug log. */
  stderr: string
}

/** The last error line of pg_dump's stderr, as the cause. */
export function stderrCause(stderr: string): string {
  const lines = stderr.split('\n').map(l => l.trim())
  const err = lines.filter(l => /error:|FATAL|fatal:/i.test(l))
  return (err[0] ?? lines.filter(Boolean).pop() ?? '').replace(/^pg_(dump|restore): (error: )?/, '')
}

/**
 * Runs pg_dump into `file` (created exclusively, mode 0600). Fails on a non-zero
 * exit, on any `error:` line in stderr, and on an empty output.
 */
export async function dumpToFile(o: {
  pgDump: string
  args: string[]
  env: NodeJS.ProcessEnv
  gzip: boolean
  encrypt?: Duplex
  file: string
  /** Registers a way to stop the dump (the run's cancel hook). */
  onStart?: (stop: () => void) => void
}): Promise<DumpResult> {
  const child = spawn(o.pgDump, o.args, { env: o.env, stdio: ['ignore', 'pipe', 'pipe'] })
  const stderr = collectStderr(child)
  const exit = exited(child)
  o.onStart?.(() => child.kill('SIGTERM'))
  const m = meter()
  const stages: Array<Readable | Duplex | Writable> = [child.stdout!]
  if (o.gzip) stages.push(createGzip({ level: 6 }))
  if (o.encrypt) stages.push(o.encrypt)
  stages.push(m, createWriteStream(o.file, { flags: 'wx', mode: 0o600 }))
  const piped = pipeline(stages as unknown as NodeJS.ReadWriteStream[]).catch((error: unknown) => {
    child.kill('SIGTERM')
    throw error
  })
  const [p, e] = await Promise.allSettled([piped, exit])
  const text = redact(stderr())
  if (e.status === 'rejected')
    throw new DumpError(`pg_dump could not start: ${(e.reason as Error).message}`, text)
  const { code, signal } = e.value
  if (code !== 0)
    throw new DumpError(
      `pg_dump failed (exit ${code ?? signal}): ${stderrCause(text) || 'no message'}`,
      text
    )
  if (p.status === 'rejected')
    throw new DumpError(`writing the backup failed: ${(p.reason as Error).message}`, text)
  const errors = text.split('\n').filter(l => /\berror:/i.test(l))
  if (errors.length) throw new DumpError(`pg_dump reported an error: ${stderrCause(text)}`, text)
  if (m.bytes() === 0) throw new DumpError('pg_dump wrote nothing', text)
  return {
    bytes: m.bytes(),
    sha256: m.sha256(),
    warnings: text.split('\n').filter(l => /\bwarning:/i.test(l)),
    stderr: text
  }
}
