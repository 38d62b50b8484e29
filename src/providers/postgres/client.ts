import { readFileSync } from 'node:fs'
import type pg from 'pg'
import { ConfigurationError } from '../../runtime/errors.js'
import { addSecret, redact } from '../../runtime/redact.js'

/** What a database URL points at; the password never leaves this module's callers. */
export interface DatabaseTarget {
  host: string
  port: number
  user: string
  password: string
  database: string
  sslmode: SslMode
  sslrootcert?: string
  /** `connect_timeout` from the URL, in seconds. */
  connectTimeout?: number
  options?: string
}

export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full'
const SSL_MODES: readonly SslMode[] = [
  'disable',
  'allow',
  'prefer',
  'require',
  'verify-ca',
  'verify-full'
]

/**
 * Parses `postgres://user:password@host:port/database?sslmode=...`.
 * Errors never quote the URL, which holds the password.
 */
export function parseDatabaseUrl(url: string): DatabaseTarget {
  let parsed: URL
  try {
    parsed = new URL(url.trim())
  } catch {
    throw new ConfigurationError(
      'The database URL is not a valid URL. Expected postgres://user:password@host:5432/database ' +
        '(percent-encode special characters in the password).'
    )
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new ConfigurationError(
      `The database URL must start with postgres:// or postgresql://, not ${parsed.protocol}//.`
    )
  }
  const decode = (value: string, what: string): string => {
    try {
      return decodeURIComponent(value)
    } catch {
      throw new ConfigurationError(`The ${what} in the database URL is not valid percent-encoding.`)
    }
  }
  // Registered before anything can fail, in every form (libpq also takes ?password=).
  const params = parsed.searchParams
  addSecret(url.trim())
  addSecret(parsed.password)
  const query = params.get('password')
  if (query !== null) addSecret(query)
  const password = query ?? decode(parsed.password, 'password')
  addSecret(password)
  const host = params.get('host') ?? parsed.hostname.replace(/^\[(.*)\]$/u, '$1')
  if (!host) throw new ConfigurationError('The database URL has no host.')
  const port = Number(params.get('port') ?? (parsed.port || '5432'))
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new ConfigurationError('The database URL has an invalid port.')
  }
  const user = decode(params.get('user') ?? parsed.username, 'user name') || 'postgres'
  const database =
    decode(parsed.pathname.replace(/^\//u, ''), 'database name') || params.get('dbname') || user
  const sslmode = (params.get('sslmode') ?? 'prefer') as SslMode
  if (!SSL_MODES.includes(sslmode)) {
    throw new ConfigurationError(
      `Unsupported sslmode "${sslmode}" in the database URL (use one of ${SSL_MODES.join(', ')}).`
    )
  }
  const timeout = params.get('connect_timeout')
  const target: DatabaseTarget = { host, port, user, password, database, sslmode }
  const rootcert = params.get('sslrootcert')
  if (rootcert) target.sslrootcert = rootcert
  if (timeout && Number(timeout) > 0) target.connectTimeout = Number(timeout)
  const options = params.get('options')
  if (options) target.options = options
  return target
}

/** `user@host:port/database`, safe to print. */
export function describeTarget(
  t: Pick<DatabaseTarget, 'user' | 'host' | 'port' | 'database'>
): string {
  const host = t.host.includes(':') ? `[${t.host}]` : t.host
  return `${t.user}@${host}:${t.port}/${t.database}`
}

/** Project ref of a direct Supabase host `db.<ref>.supabase.co`. */
export function supabaseDirectRef(host: string): string | undefined {
  return /^db\.([a-z0-9]+)\.supabase\.(?:co|in)$/iu.exec(host)?.[1]
}

const POOLER_HINT =
  'use the Supavisor session pooler URL instead (Supabase dashboard > Connect > Session pooler): ' +
  'postgres://postgres.<project-ref>:<password>@aws-0-<region>.pooler.supabase.com:5432/postgres'

/** Configuration problems visible without connecting. */
export function checkTarget(t: DatabaseTarget): void {
  if (/\.pooler\.supabase\.com$/iu.test(t.host) && t.port === 6543) {
    throw new ConfigurationError(
      `${describeTarget(t)} is the Supabase transaction pooler, which cannot hold the migration lock or session settings; ` +
        'use the session pooler on port 5432 (same host).'
    )
  }
}

/** TLS settings for one attempt, with libpq's meaning of each sslmode. */
function tlsOptions(t: DatabaseTarget, mode: SslMode): pg.ClientConfig['ssl'] {
  if (mode === 'disable' || mode === 'allow') return false
  const ca =
    t.sslrootcert && t.sslrootcert !== 'system' ? readFileSync(t.sslrootcert, 'utf8') : undefined
  if (mode === 'verify-full' || t.sslrootcert === 'system')
    return { rejectUnauthorized: true, servername: t.host, ...(ca ? { ca } : {}) }
  // libpq: require with a root certificate behaves as verify-ca.
  if (mode === 'verify-ca' || (mode === 'require' && ca)) {
    return { rejectUnauthorized: true, ...(ca ? { ca } : {}), checkServerIdentity: () => undefined }
  }
  return { rejectUnauthorized: false, servername: t.host }
}

export interface ConnectOptions {
  applicationName?: string
  /** Default 10 s; the URL's connect_timeout wins when set. */
  connectTimeoutMs?: number
  /** pg's pipeline mode: queries queued together go out without waiting for each answer. */
  pipeline?: boolean
}

function clientConfig(t: DatabaseTarget, mode: SslMode, opts: ConnectOptions): pg.ClientConfig {
  return {
    host: t.host,
    port: t.port,
    user: t.user,
    password: t.password,
    database: t.database,
    ssl: tlsOptions(t, mode),
    connectionTimeoutMillis: t.connectTimeout
      ? t.connectTimeout * 1000
      : (opts.connectTimeoutMs ?? 10_000),
    keepAlive: true,
    pipeline: opts.pipeline ?? false,
    ...(opts.applicationName ? { application_name: opts.applicationName } : {}),
    ...(t.options ? { options: t.options } : {})
  }
}

/** The fields of a pg error (or anything thrown) worth reporting; empty strings count as absent. */
export interface PgErrorFields {
  message: string
  code?: string
  position?: string
  detail?: string
  hint?: string
  where?: string
}

export function pgErrorFields(error: unknown): PgErrorFields {
  if (typeof error !== 'object' || error === null) return { message: String(error) }
  const e = error as Partial<Record<keyof PgErrorFields, unknown>>
  const str = (v: unknown): string | undefined =>
    typeof v === 'string' && v.length > 0 ? v : undefined
  return {
    message: str(e.message) ?? String(error),
    code: str(e.code),
    position: str(e.position),
    detail: str(e.detail),
    hint: str(e.hint),
    where: str(e.where)
  }
}

/** pgErrorFields for connection errors, where an empty message or code is reported as empty. */
function connectionErrorFields(error: unknown): PgErrorFields {
  const e = pgErrorFields(error)
  const raw = (typeof error === 'object' && error !== null ? error : {}) as {
    code?: unknown
    message?: unknown
  }
  if (raw.code === '') e.code = ''
  if (raw.message === '') e.message = ''
  return e
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ECONNRESET'
])

function isServerRefusesSsl(e: PgErrorFields): boolean {
  return /does not support SSL/iu.test(e.message)
}

function isServerRequiresSsl(e: PgErrorFields): boolean {
  return (
    (e.code === '28000' || e.code === '28P01') &&
    /no encryption|SSL (?:off|required)/iu.test(e.message)
  )
}

function isTimeout(e: PgErrorFields): boolean {
  return e.code === 'ETIMEDOUT' || /timeout|timed out/iu.test(e.message)
}

/** Removes the password (raw and percent-encoded) and every registered secret. */
function scrub(text: string, t: Pick<DatabaseTarget, 'password'>): string {
  addSecret(t.password)
  return redact(text)
}

/**
 * The database cannot be reached or takes no more connections right now: an
 * outage (or a full pool), not something the configuration can fix.
 */
export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError'
  constructor(
    message: string,
    /** `unreachable` (refused, timed out, hung up, starting up) or `exhausted` (no connection slot). */
    readonly kind: 'unreachable' | 'exhausted'
  ) {
    super(message)
  }
}

const OUTAGE_CODES = new Set([
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ECONNRESET',
  'EPIPE'
])

/** A server that took the TCP connection and closed it before the session started. */
function isHangUp(e: PgErrorFields): boolean {
  return /Connection terminated|socket hang up|ended the connection|closed the connection/iu.test(
    e.message
  )
}

function isExhausted(e: PgErrorFields): boolean {
  return (
    e.code === '53300' ||
    /too many (?:clients|connections)|remaining connection slots|max client connections/iu.test(
      e.message
    )
  )
}

/**
 * A clear, password-free explanation of a failed connection. What only the
 * user can fix (URL, host name, password, SSL mode, missing database, the
 * IPv6-only direct host) is a ConfigurationError; a refused, timed-out or
 * hung-up connection, a server starting up and a full server are a
 * DatabaseUnavailableError (an outage); anything else is a plain Error.
 */
export function explainConnectionError(error: unknown, t: DatabaseTarget): Error {
  const e = connectionErrorFields(error)
  const where = describeTarget(t)
  const hostPort = `${t.host}:${t.port}`
  const ref = supabaseDirectRef(t.host)
  const network = NETWORK_CODES.has(e.code ?? '') || isTimeout(e) || isHangUp(e)
  const config = (message: string): Error => new ConfigurationError(scrub(message, t))
  const outage = (message: string, kind: 'unreachable' | 'exhausted' = 'unreachable'): Error =>
    new DatabaseUnavailableError(scrub(message, t), kind)
  if (ref !== undefined && network) {
    return config(
      `Could not reach ${hostPort} (${e.code ?? 'connection failed'}). db.${ref}.supabase.co is the direct database host, ` +
        `which is IPv6-only and unreachable from GitHub-hosted runners; ${POOLER_HINT.replace('<project-ref>', ref)} ` +
        `(user postgres.${ref}).`
    )
  }
  if (isServerRequiresSsl(e))
    return config(
      `The server at ${hostPort} requires an encrypted connection: add sslmode=require to the database URL.`
    )
  if (e.code === '28P01') {
    let message =
      `Password authentication failed for user "${t.user}" at ${hostPort}. Check the password in the database URL ` +
      '(percent-encode special characters).'
    if (/\.pooler\.supabase\.com$/iu.test(t.host) && !t.user.includes('.')) {
      message += ` The Supabase pooler expects the user postgres.<project-ref>, not "${t.user}".`
    }
    return config(message)
  }
  // pg refuses SCRAM without a password before the server can answer 28P01.
  if (!t.password && /client password must be a string/iu.test(e.message))
    return config(
      `The server at ${hostPort} asks for a password for user "${t.user}", but the database URL has none: ` +
        'put it in the URL (postgres://user:<password>@host:port/database, percent-encoded).'
    )
  if (e.code === '28000')
    return config(
      `The server at ${hostPort} rejected user "${t.user}" for database "${t.database}" (pg_hba.conf or role settings): ${e.message}`
    )
  if (/Tenant or user not found/iu.test(e.message))
    return config(
      `The Supabase pooler at ${hostPort} does not know user "${t.user}": use postgres.<project-ref> as the user name.`
    )
  if (isServerRefusesSsl(e))
    return config(
      `The server at ${hostPort} does not accept SSL but the database URL requires it (sslmode=${t.sslmode}). ` +
        'Use sslmode=disable only for a local or private network.'
    )
  if (/certificate|self[- ]signed|CERT_/iu.test(`${e.code ?? ''} ${e.message}`))
    return config(
      `The TLS certificate of ${hostPort} could not be verified (sslmode=${t.sslmode}): ${e.message}. ` +
        'Use sslmode=require to encrypt without verification, or pass the CA file as sslrootcert.'
    )
  if (e.code === '3D000') return config(`Database "${t.database}" does not exist at ${hostPort}.`)
  if (e.code === 'ENOTFOUND')
    return config(`The database host ${t.host} could not be resolved (DNS ${e.code}).`)
  if (isExhausted(e))
    return outage(
      `The server at ${hostPort} has no connection slot left (${e.code ?? 'too many connections'}): the connection pool is exhausted.`,
      'exhausted'
    )
  if (e.code === '57P03')
    return outage(
      `The server at ${hostPort} is not accepting connections yet (starting up, recovering, or a paused project).`
    )
  if (e.code === 'ECONNREFUSED')
    return outage(
      `Connection refused by ${hostPort}: is the database running and accepting TCP connections there?`
    )
  if (e.code === 'EAI_AGAIN')
    return outage(`The database host ${t.host} could not be resolved right now (DNS ${e.code}).`)
  if (e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH' || e.code === 'EADDRNOTAVAIL')
    return outage(`The database host ${hostPort} is unreachable from this runner (${e.code}).`)
  if (isTimeout(e))
    return outage(
      `Timed out connecting to ${hostPort}: the server did not answer (down, overloaded, or a firewall dropping the connection).`
    )
  if (isHangUp(e) || OUTAGE_CODES.has(e.code ?? ''))
    return outage(
      `The server at ${hostPort} closed the connection before the session started (${e.code || e.message || 'no reason given'}).`
    )
  return new Error(scrub(`Could not connect to ${where}: ${e.message}`, t))
}

async function attempt(t: DatabaseTarget, mode: SslMode, opts: ConnectOptions): Promise<pg.Client> {
  // pg is loaded on the first connection, so a run that ends at validation never pays for it.
  const { default: driver } = await import('pg')
  const client = new driver.Client(clientConfig(t, mode, opts))
  // Errors on an idle connection would otherwise crash the process.
  client.on('error', () => undefined)
  try {
    await client.connect()
    return client
  } catch (error) {
    await client.end().catch(() => undefined)
    throw error
  }
}

/**
 * Connects with libpq's sslmode semantics: `prefer` (the default) tries TLS and
 * falls back to plain text when the server has no SSL; `allow` does the opposite.
 */
export async function connect(t: DatabaseTarget, opts: ConnectOptions = {}): Promise<pg.Client> {
  checkTarget(t)
  try {
    try {
      return await attempt(t, t.sslmode, opts)
    } catch (error) {
      const e = connectionErrorFields(error)
      if (t.sslmode === 'prefer' && isServerRefusesSsl(e)) return await attempt(t, 'disable', opts)
      if (t.sslmode === 'allow' && isServerRequiresSsl(e)) return await attempt(t, 'require', opts)
      throw error
    }
  } catch (error) {
    throw explainConnectionError(error, t)
  }
}

export interface ServerInfo {
  version: string
  user: string
  database: string
  /** The session's backend process id (to cancel its statement from another session). */
  pid: number
}

/**
 * Connects and checks the server can take writes. Every failure is explained
 * without the password.
 */
export async function preflight(
  url: DatabaseTarget | string,
  opts: ConnectOptions = {}
): Promise<{ client: pg.Client; target: DatabaseTarget; server: ServerInfo }> {
  const target = typeof url === 'string' ? parseDatabaseUrl(url) : url
  const client = await connect(target, opts)
  try {
    const { rows } = await client.query<{
      version: string
      user: string
      database: string
      recovery: boolean
      pid: number
    }>(
      "SELECT current_setting('server_version') AS version, current_user AS user, current_database() AS database, pg_is_in_recovery() AS recovery, pg_backend_pid() AS pid"
    )
    const row = rows[0]
    if (!row) throw new Error('The server returned no row for the preflight query.')
    if (row.recovery) {
      throw new ConfigurationError(
        `${describeTarget(target)} is a read-only standby; point the database URL at the primary.`
      )
    }
    return {
      client,
      target,
      server: { version: row.version, user: row.user, database: row.database, pid: row.pid }
    }
  } catch (error) {
    await client.end().catch(() => undefined)
    if (error instanceof ConfigurationError) throw error
    throw explainConnectionError(error, target)
  }
}
