// The queued (pipelined) apply: each file its own transaction, sent without waiting
// for the previous COMMIT, with a guard so that nothing after a failure runs.
import { describe, expect, it } from '@jest/globals'
import { ConnectionLostError } from '../../src/actions/db-migrate/engine/apply.js'
import { migrate, newState } from '../../src/actions/db-migrate/engine/engine.js'
import { MigrationError } from '../../src/actions/db-migrate/engine/failure.js'
import { LOCK_KEY } from '../../src/actions/db-migrate/engine/lock.js'
import { engineFixture, historyRows, query, tables } from './helpers.js'

const fx = engineFixture()

const version = (i: number): string => String(20240000000000 + i)

/** `count` two-statement files; `override` replaces the SQL of some of them. */
function files(count: number, override: Record<number, string> = {}): Record<string, string> {
  const out: Record<string, string> = {}
  for (let i = 1; i <= count; i++)
    out[`${version(i)}_m${i}.sql`] =
      override[i] ??
      `create table public.t${i} (id int primary key);\ninsert into public.t${i} values (${i});`
  return out
}

const tableNames = (n: number): string[] =>
  Array.from({ length: n }, (_, i) => `public.t${i + 1}`).sort()

/** Runs the engine, expecting it to fail; returns the error and the state. */
async function failing(count: number, override: Record<number, string>) {
  await fx.project(files(count, override))
  const state = newState()
  const error = await migrate(fx.opts(), state).catch((e: unknown) => e)
  return { error, state }
}

async function expectStoppedAfter(applied: number, state: ReturnType<typeof newState>) {
  expect(state.applied.map(a => a.version)).toEqual(
    Array.from({ length: applied }, (_, i) => version(i + 1))
  )
  expect((await historyRows(fx.db.url)).map(r => r.version)).toEqual(
    state.applied.map(a => a.version)
  )
  const user = (await tables(fx.db.url)).filter(t => t.startsWith('public.'))
  expect(user).toEqual(tableNames(applied))
}

describe('queued files', () => {
  it('applies 300 files, each with its history row, and logs no server warning', async () => {
    await fx.project(files(300))
    const state = await migrate(fx.opts())
    expect(state.applied).toHaveLength(300)
    const rows = await historyRows(fx.db.url)
    expect(rows).toHaveLength(300)
    expect(rows[41]).toEqual({
      version: version(42),
      name: 'm42',
      statements: [
        'create table public.t42 (id int primary key)',
        'insert into public.t42 values (42)'
      ]
    })
    // Server notices reach the log; RESET ALL; COMMIT outside a transaction used to warn once per file.
    expect(fx.log.lines.join('\n')).not.toMatch(/no transaction in progress/u)
    expect(fx.log.warnings).toEqual([])
  })

  it('forwards server notices to the log', async () => {
    await fx.project(files(2, { 2: "do $$ begin raise notice 'hello from %', 'm2'; end $$;" }))
    await migrate(fx.opts())
    expect(fx.log.lines).toContain('NOTICE (00000): hello from m2')
  })

  it('a statement failing mid-queue: that file rolls back completely and no later file runs', async () => {
    const { error, state } = await failing(40, {
      17: 'create table public.t17 (id int primary key);\nselect 1/0;'
    })
    expect(error).toBeInstanceOf(MigrationError)
    const e = error as MigrationError
    expect(e).toMatchObject({
      file: `${version(17)}_m17.sql`,
      statement: 2,
      sqlState: '22012',
      partial: false
    })
    expect(e.message.split('\n')[0]).toMatch(/failed at statement 2 of 2: division by zero/u)
    await expectStoppedAfter(16, state)
  })

  it('the history INSERT failing: reported as such, the file rolled back, nothing after it', async () => {
    const { error, state } = await failing(30, {
      // The file records its own version, so the history row that follows collides.
      12: `create table public.t12 (id int primary key);\ninsert into supabase_migrations.schema_migrations(version) values ('${version(12)}');`
    })
    expect(error).toBeInstanceOf(MigrationError)
    const e = error as MigrationError
    expect(e.sqlState).toBe('23505')
    expect(e.at).toBe('while recording it in the migration history')
    expect(e.partial).toBe(false)
    await expectStoppedAfter(11, state)
  })

  it('a deferred constraint failing at COMMIT is reported at COMMIT, and the guard stops every later file', async () => {
    const { error, state } = await failing(30, {
      9:
        'create table public.t9 (id int primary key, parent int references public.t9 (id) deferrable initially deferred);\n' +
        'insert into public.t9 values (1, 42);'
    })
    expect(error).toBeInstanceOf(MigrationError)
    const e = error as MigrationError
    expect(e.sqlState).toBe('23503')
    expect(e.at).toBe('at COMMIT')
    expect(e.message.split('\n')[0]).toMatch(
      /^Migration 20240000000009_m9\.sql failed at COMMIT: /u
    )
    expect(e.message).not.toMatch(/recording it in the migration history/u)
    await expectStoppedAfter(8, state)
  })

  it('two files with the same version: the second fails on its history row and nothing after it runs', async () => {
    const all = files(12)
    all[`${version(3)}_twin.sql`] = 'create table public.twin (id int);'
    await fx.project(all)
    const state = newState()
    const error = await migrate(fx.opts(), state).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MigrationError)
    expect((error as MigrationError).message.split('\n')[0]).toMatch(
      /^Migration 20240000000003_twin\.sql failed while recording it in the migration history: duplicate key/u
    )
    // The first file's row must not let the files after the twin run.
    await expectStoppedAfter(3, state)
  })

  it('the connection dropping mid-queue: the history (read again) says what committed, later files never ran', async () => {
    await fx.project(
      files(30, { 7: 'create table public.t7 (id int primary key);\nselect pg_sleep(30);' })
    )
    const state = newState()
    const running = migrate(fx.opts(), state).catch((e: unknown) => e)
    let killed = false
    for (let i = 0; i < 200 && !killed; i++) {
      const rows = await query<{ pid: number }>(
        fx.db.url,
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'select pg_sleep%'"
      )
      if (rows[0]) {
        await query(fx.db.url, 'SELECT pg_terminate_backend($1)', [rows[0].pid])
        killed = true
      } else await new Promise(r => setTimeout(r, 50))
    }
    expect(killed).toBe(true)
    const error = await running
    expect(error).toBeInstanceOf(Error)
    expect((error as Error).message).toMatch(
      /connection to the database was lost while applying 20240000000007_m7\.sql/u
    )
    expect((error as Error).message).toMatch(/m7\.sql did not commit; 6 migration\(s\) applied/u)
    expect(error).not.toBeInstanceOf(ConnectionLostError)
    await expectStoppedAfter(6, state)
  })

  it('the connection dropping inside a non-atomic file is reported partial (SEV1), never as a clean rollback', async () => {
    await fx.project(
      files(10, {
        7:
          'create table public.t7 (id int primary key);\ncreate index concurrently t7_i on public.t7 (id);\n' +
          'select pg_sleep(30);'
      })
    )
    const state = newState()
    const running = migrate(fx.opts(), state).catch((e: unknown) => e)
    let pid: number | undefined
    while (pid === undefined) {
      const rows = await query<{ pid: number }>(
        fx.db.url,
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'select pg_sleep(30)%'"
      )
      pid = rows[0]?.pid
      if (pid === undefined) await new Promise(r => setTimeout(r, 20))
    }
    await query(fx.db.url, 'SELECT pg_terminate_backend($1)', [pid])
    const error = await running
    expect(error).toBeInstanceOf(MigrationError)
    const e = error as MigrationError
    expect(e.partial).toBe(true)
    expect(e.message).toMatch(/lost while applying 20240000000007_m7\.sql/u)
    expect(e.message).toMatch(/Statements 1-2 stayed committed \(the file is not atomic\)/u)
    expect(e.message).not.toMatch(/commits completely or not at all/u)
    expect(e.message).toMatch(/m7\.sql did not commit; 6 migration\(s\) applied/u)
    expect((await historyRows(fx.db.url)).map(r => r.version)).toEqual(
      [1, 2, 3, 4, 5, 6].map(version)
    )
    expect(await tables(fx.db.url)).toContain('public.t7')
  })

  it('a non-atomic file between queued ones runs on its own and the queue resumes after it', async () => {
    await fx.project(
      files(12, {
        6: 'create table public.t6 (id int primary key);\ncreate index concurrently t6_i on public.t6 (id);'
      })
    )
    const state = await migrate(fx.opts())
    expect(state.applied.map(a => a.atomic)).toEqual(Array.from({ length: 12 }, (_, i) => i !== 5))
    expect(await historyRows(fx.db.url)).toHaveLength(12)
  })

  it('a lock released after a standalone statement is checked before the history row: another session holding it stops the file', async () => {
    await fx.project(
      files(12, {
        5:
          'create table public.t5 (id int primary key);\ncreate index concurrently t5_i on public.t5 (id);\n' +
          'select pg_advisory_unlock_all();\nselect pg_sleep(1)'
      })
    )
    const state = newState()
    const running = migrate(fx.opts(), state).catch((e: unknown) => e)
    // Once file 5 has released the lock (it sleeps after that), another session takes it.
    const sleeping = async (): Promise<boolean> =>
      (
        await query(
          fx.db.url,
          "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query = 'select pg_sleep(1)'"
        )
      ).length > 0
    while (!(await sleeping())) await new Promise(r => setTimeout(r, 10))
    const other = query(fx.db.url, `SELECT pg_advisory_lock(${LOCK_KEY}), pg_sleep(1.5)`)
    const error = await running
    await other
    expect(error).toBeInstanceOf(MigrationError)
    const e = error as MigrationError
    expect(e.message).toMatch(
      /m5\.sql failed while checking the migration lock: another session took/u
    )
    expect(e.partial).toBe(true)
    expect((await historyRows(fx.db.url)).map(r => r.version)).toEqual([1, 2, 3, 4].map(version))
    expect(state.applied.map(a => a.version)).toEqual([1, 2, 3, 4].map(version))
  })

  it('a file that starts with SET TRANSACTION still gets its isolation level', async () => {
    await fx.project(
      files(5, {
        3: "set transaction isolation level serializable;\ncreate table public.t3 as select current_setting('transaction_isolation') as level;"
      })
    )
    await migrate(fx.opts())
    expect(await query(fx.db.url, 'select level from public.t3')).toEqual([
      { level: 'serializable' }
    ])
    expect(await historyRows(fx.db.url)).toHaveLength(5)
  })
})
