import type pg from 'pg'
import type { Clock } from '../../../runtime/host.js'
import { formatDuration } from '../../../runtime/inputs.js'
import type { EngineLogger as Logger } from '../../../runtime/logger.js'
import { redact } from '../../../runtime/redact.js'

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

/** Another session took the migration lock after a migration released it. */
export class LockLostError extends Error {
  override name = 'LockLostError'
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

export interface LockOptions {
  timeoutMs: number
  pollMs?: number
  log: Logger
  clock: Clock
  /** Stops waiting (throws) once this says so, e.g. when the run is cancelled. */
  stopped?: () => boolean
}

/**
 * Takes the session advisory lock, polling until `timeoutMs` on the host's
 * clock. On timeout the error says who holds it.
 */
export async function acquireLock(client: pg.Client, opts: LockOptions): Promise<void> {
  const { clock } = opts
  const deadline = clock.now() + opts.timeoutMs
  let waiting = false
  for (;;) {
    const { rows } = await client.query<{ locked: boolean }>(
      `SELECT pg_try_advisory_lock(${LOCK_KEY}) AS locked`
    )
    if (rows[0]?.locked) return
    if (opts.stopped?.())
      throw new Error('Stopped waiting for the migration lock: the run was cancelled.')
    if (!waiting) {
      waiting = true
      const holders = await lockHolders(client)
      opts.log.info(
        `Waiting up to ${formatDuration(opts.timeoutMs)} for the migration lock` +
          (holders.length > 0 ? `, held by ${describeHolders(holders)}` : '')
      )
    }
    if (clock.now() >= deadline) {
      const holders = await lockHolders(client)
      throw new LockTimeoutError(
        redact(
          `Timed out after ${formatDuration(opts.timeoutMs)} waiting for the migration lock, held by ${describeHolders(holders)}.`
        ),
        holders
      )
    }
    await clock.sleep(Math.max(0, Math.min(opts.pollMs ?? 500, deadline - clock.now())))
  }
}

/**
 * Releases the migration lock however many times this session took it (the
 * per-file check takes it again each time). The session is the run's own, so
 * this releases nothing that belongs to anyone else.
 */
export async function releaseLock(client: pg.Client): Promise<void> {
  await client.query('SELECT pg_catalog.pg_advisory_unlock_all()')
}

/** This session holds the migration lock (a bigint key is classid = high, objid = low 32 bits, objsubid 1). */
export const LOCK_HELD =
  "EXISTS (SELECT 1 FROM pg_catalog.pg_locks WHERE locktype = 'advisory' AND granted " +
  `AND pid = pg_catalog.pg_backend_pid() AND classid = ${LOCK_CLASSID} AND objid = ${LOCK_OBJID} AND objsubid = 1)`

/**
 * Runs inside a file's transaction, after its statements: takes the lock
 * again (a session lock is re-entrant: this succeeds while this session holds
 * it, and takes it back if the file released it), or fails, rolling the file
 * back, when another session took it meanwhile. No pg_locks scan per file.
 */
export const LOCK_CHECK_DO = `DO $shipgate$ BEGIN
  IF NOT pg_catalog.pg_try_advisory_lock(${LOCK_KEY}) THEN
    RAISE EXCEPTION 'another session took the migration lock' USING ERRCODE = '55P03';
  END IF;
END $shipgate$`

export async function lockLost(client: pg.Client, what: string): Promise<LockLostError> {
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
