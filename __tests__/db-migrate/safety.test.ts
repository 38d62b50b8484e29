/**
 * Failure reporting and cleanup the reviewer reproduced: files with their own
 * transaction control, the advisory lock released by a migration, and a
 * history table created by a run that then failed.
 */
import { describe, expect, it } from '@jest/globals'
import path from 'node:path'
import pg from 'pg'
import { MigrationError } from '../../src/actions/db-migrate/engine/failure.js'
import { LOCK_KEY } from '../../src/actions/db-migrate/engine/lock.js'
import {
  APPLICATION_NAME,
  migrate,
  newState,
  type MigrateOptions
} from '../../src/actions/db-migrate/engine/engine.js'
import { historyRows, makeProject, query, removeDir, tables, engineFixture } from './helpers.js'

const fx = engineFixture()
const opts = fx.opts

async function failure(o: MigrateOptions = opts()): Promise<MigrationError> {
  const error = await migrate(o).catch((e: unknown) => e)
  expect(error).toBeInstanceOf(MigrationError)
  return error as MigrationError
}

async function schemaExists(name: string): Promise<boolean> {
  const rows = await query<{ n: number }>(
    fx.db.url,
    'select count(*)::int as n from pg_namespace where nspname = $1',
    [name]
  )
  return rows[0]?.n === 1
}

const OK = { '20240101000000_ok.sql': 'create table ok (id int);' }

describe('files with their own transaction control', () => {
  it('a sequential file that fails after its own COMMIT is reported as possibly partial', async () => {
    await fx.project({
      ...OK,
      '20240102000000_seq.sql': 'begin;\ncreate table x (id int);\ncommit;\nselect 1/0;\n',
      '20240103000000_later.sql': 'create table later (id int);'
    })
    const e = await failure()
    expect(e).toMatchObject({ statement: 4, statementCount: 4, sqlState: '22012' })
    expect(e.partial).toBe(true)
    expect(e.committed).toBe(3)
    expect(e.message).toContain('may be partially applied')
    expect(e.message).toContain('statements 1-3 were committed')
    expect(e.message).not.toContain('rolled back completely')
    // Reality: x stayed, no history row, later files not attempted.
    expect(await tables(fx.db.url)).toEqual([
      'public.ok',
      'public.x',
      'supabase_migrations.schema_migrations'
    ])
    expect((await historyRows(fx.db.url)).map(r => r.version)).toEqual(['20240101000000'])
  })

  it('says partial even when the failure comes before any COMMIT (sequential and none modes)', async () => {
    await fx.project({ ...OK, '20240102000000_seq.sql': 'begin;\nselect 1/0;\ncommit;' })
    const seq = await failure()
    expect(seq).toMatchObject({ partial: true, committed: 0, statement: 2 })
    expect(seq.message).toContain('may be partially applied')

    await removeDir(path.join(fx.root, 'supabase', 'migrations', '20240102000000_seq.sql'))
    await fx.project({
      ...OK,
      '20240102000000_none.sql':
        '-- pg-delta: transaction=false\ncreate table n1 (id int);\nselect 1/0;'
    })
    const none = await failure()
    expect(none).toMatchObject({ partial: true, committed: 1, statement: 2 })
    expect(none.message).toContain('statements 1-1 were committed')
    expect(await tables(fx.db.url)).toContain('public.n1')
  })

  it('a transactional file that rolls back cleanly is not partial', async () => {
    await fx.project({
      ...OK,
      '20240102000000_bad.sql': 'create table half (id int);\nselect 1/0;'
    })
    const e = await failure()
    expect(e).toMatchObject({ partial: false, committed: 0 })
    expect(e.message).toContain('The file was rolled back completely.')
  })

  it('a failing standalone statement marks the file partial', async () => {
    await fx.project({
      ...OK,
      '20240102000000_idx.sql':
        'create table t (id int);\ninsert into t values (1), (1);\ncreate unique index concurrently t_u on t (id);'
    })
    const e = await failure()
    expect(e).toMatchObject({ statement: 3, committed: 2, partial: true })
  })

  it('refuses a file that leaves its transaction open and never records it inside it', async () => {
    await fx.project({
      ...OK,
      '20240102000000_open.sql': 'begin;\ncreate table y (id int);',
      '20240103000000_later.sql': 'create table later (id int);'
    })
    const state = newState()
    const error = await migrate(opts(), state).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MigrationError)
    const e = error as MigrationError
    expect(e.message).toContain('leaves a transaction open')
    expect(e).toMatchObject({ file: '20240102000000_open.sql', partial: true })
    expect(state.applied.map(r => r.version)).toEqual(['20240101000000'])
    expect(await tables(fx.db.url)).toEqual(['public.ok', 'supabase_migrations.schema_migrations'])
    expect((await historyRows(fx.db.url)).map(r => r.version)).toEqual(['20240101000000'])
  })

  it('a sequential file that commits is recorded outside its transactions', async () => {
    await fx.project({
      '20240101000000_tx.sql':
        'begin;\ncreate table tx (id int);\ncommit;\nbegin;\ninsert into tx values (1);\nend;'
    })
    const state = await migrate(opts())
    expect(state.applied.map(r => r.mode)).toEqual(['sequential'])
    expect((await historyRows(fx.db.url)).map(r => r.version)).toEqual(['20240101000000'])
    expect(await query(fx.db.url, 'select id from tx')).toEqual([{ id: 1 }])
  })
})

/** A migration that fails unless this session still holds the migration lock. */
const KEY = BigInt(LOCK_KEY)
const ASSERT_LOCK = `do $$ begin
  if not exists (select 1 from pg_locks where locktype = 'advisory' and pid = pg_backend_pid() and granted
                 and classid = ${KEY >> 32n} and objid = ${KEY & 0xffffffffn} and objsubid = 1) then
    raise exception 'migration lock not held';
  end if;
end $$;`

describe('the advisory lock stays held', () => {
  it.each([
    ['a standalone DISCARD ALL', 'create table d (id int);\ndiscard all;'],
    ['a sequential file', 'begin;\nselect pg_advisory_unlock_all();\ncommit;'],
    ['a none-mode file', '-- pg-delta: transaction=false\nselect pg_advisory_unlock_all();'],
    ['a transactional file', 'select pg_advisory_unlock_all();\ncreate table u (id int);']
  ])('takes the lock again after %s releases it', async (_, sql) => {
    await fx.project({
      '20240101000000_release.sql': sql,
      '20240102000000_check.sql': ASSERT_LOCK,
      '20240103000000_check_again.sql': `${ASSERT_LOCK}\ncreate table after_check (id int);`
    })
    const state = await migrate(opts())
    expect(state.applied).toHaveLength(3)
    expect(await tables(fx.db.url)).toContain('public.after_check')
  })

  it('stops with a clear error when another session took the lock meanwhile', async () => {
    await fx.project({
      '20240101000000_release.sql':
        '-- pg-delta: transaction=false\nselect pg_advisory_unlock_all();\nselect pg_sleep(0.6);',
      '20240102000000_later.sql': 'create table later (id int);'
    })
    const other = new pg.Client({ connectionString: fx.db.url, application_name: 'lock-thief' })
    await other.connect()
    try {
      let stop = false
      const grab = (async () => {
        // Wait until the run holds the lock (or already released it and is
        // in the file's pg_sleep: the lock is held only briefly before that),
        // then take it as soon as it is released.
        while (!stop) {
          const { rows } = await other.query<{ n: number }>(
            // Advisory locks are per database: other test files lock the same key elsewhere.
            `select (select count(*)::int from pg_locks where locktype = 'advisory' and objid = ${KEY & 0xffffffffn} and database = (select oid from pg_database where datname = current_database()))` +
              ` + (select count(*)::int from pg_stat_activity where datname = current_database() and application_name = '${APPLICATION_NAME}' and state = 'active' and query like '%pg_sleep%') as n`
          )
          if (rows[0]?.n) break
          await new Promise(r => setTimeout(r, 10))
        }
        while (!stop) {
          const { rows } = await other.query<{ ok: boolean }>(
            `select pg_try_advisory_lock(${LOCK_KEY}) as ok`
          )
          if (rows[0]?.ok) return true
          await new Promise(r => setTimeout(r, 20))
        }
        return false
      })()
      const error = await migrate(opts({ lockTimeoutMs: 5000 })).catch((e: unknown) => e)
      stop = true
      expect(await grab).toBe(true)
      expect(error).toBeInstanceOf(MigrationError)
      const e = error as MigrationError
      expect(e.message).toContain('another session took the migration lock')
      expect(e.message).toContain('lock-thief')
      expect(e.partial).toBe(true)
      expect(await tables(fx.db.url)).not.toContain('public.later')
    } finally {
      await other.end()
    }
  })
})

describe('a failed run leaves no history table it created', () => {
  it('drops the schema and table it created when no file was applied', async () => {
    await fx.project({ '20240101000000_bad.sql': 'create table a (id int);\nselect 1/0;' })
    await failure()
    expect(await tables(fx.db.url)).toEqual([])
    expect(await schemaExists('supabase_migrations')).toBe(false)
  })

  it('keeps a schema that existed before and drops only the table', async () => {
    await query(fx.db.url, 'create schema supabase_migrations')
    await query(fx.db.url, 'create table supabase_migrations.other (id int)')
    await fx.project({ '20240101000000_bad.sql': 'select 1/0;' })
    await failure()
    expect(await tables(fx.db.url)).toEqual(['supabase_migrations.other'])
  })

  it('keeps a history table that existed before, even when empty', async () => {
    await query(fx.db.url, 'create schema supabase_migrations')
    await query(
      fx.db.url,
      'create table supabase_migrations.schema_migrations (version text not null primary key, statements text[], name text)'
    )
    await fx.project({ '20240101000000_bad.sql': 'select 1/0;' })
    await failure()
    expect(await tables(fx.db.url)).toEqual(['supabase_migrations.schema_migrations'])
  })

  it('keeps the table once a file was applied', async () => {
    await fx.project({ ...OK, '20240102000000_bad.sql': 'select 1/0;' })
    await failure()
    expect((await historyRows(fx.db.url)).map(r => r.version)).toEqual(['20240101000000'])
  })
})

describe('seeds', () => {
  it('applies statement-timeout to seed statements', async () => {
    fx.root = await makeProject(
      { '20240101000000_a.sql': 'create table s (id int);' },
      { 'supabase/seed.sql': 'insert into s values (1);\nselect pg_sleep(2);\n' }
    )
    fx.dirs.push(fx.root)
    const seeds = [{ path: 'supabase/seed.sql', file: path.join(fx.root, 'supabase', 'seed.sql') }]
    const started = Date.now()
    const error = await migrate(opts({ seeds, statementTimeoutMs: 200 })).catch((e: unknown) => e)
    expect(Date.now() - started).toBeLessThan(1500)
    expect((error as Error).message).toMatch(
      /^Seed supabase\/seed\.sql failed at statement 2 of 2: .*statement timeout \(SQLSTATE 57014\)/u
    )
    expect(await query(fx.db.url, 'select count(*)::int as n from s')).toEqual([{ n: 0 }])
  })
})
