import { describe, expect, it } from '@jest/globals'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import pg from 'pg'
import { MigrationError } from '../../src/actions/db-migrate/engine/failure.js'
import { LOCK_KEY, LockTimeoutError } from '../../src/actions/db-migrate/engine/lock.js'
import {
  DestructiveChangeError,
  migrate,
  newState
} from '../../src/actions/db-migrate/engine/engine.js'
import { MigrationHistoryError } from '../../src/actions/db-migrate/engine/plan.js'
import { captureLog, historyRows, query, tables, engineFixture } from './helpers.js'

const fx = engineFixture()
const opts = fx.opts

async function addFile(name: string, sql: string): Promise<void> {
  await writeFile(path.join(fx.root, 'supabase', 'migrations', name), sql)
}

describe('applying migrations', () => {
  it('applies from empty, records history like the CLI, and is idempotent', async () => {
    await fx.project({
      '20240101000000_users.sql':
        'create table users (id int primary key);\ninsert into users values (1);\n',
      '20240102000000_posts.sql':
        '-- posts\ncreate table posts (id int, user_id int references users);'
    })
    const state = await migrate(opts())
    expect(state.applied.map(r => r.file)).toEqual([
      '20240101000000_users.sql',
      '20240102000000_posts.sql'
    ])
    expect(state.currentVersion).toBe('20240102000000')
    expect(await tables(fx.db.url)).toEqual([
      'public.posts',
      'public.users',
      'supabase_migrations.schema_migrations'
    ])
    expect(await historyRows(fx.db.url)).toEqual([
      {
        version: '20240101000000',
        name: 'users',
        statements: ['create table users (id int primary key)', 'insert into users values (1)']
      },
      {
        version: '20240102000000',
        name: 'posts',
        statements: ['-- posts\ncreate table posts (id int, user_id int references users)']
      }
    ])

    const again = await migrate(opts())
    expect(again.pending).toEqual([])
    expect(again.applied).toEqual([])
    expect(again.currentVersion).toBe('20240102000000')
    expect(fx.log.lines).toContain('Remote database is up to date.')
    expect(await query(fx.db.url, 'select count(*)::int as n from users')).toEqual([{ n: 1 }])
  })

  it('rolls a failing file back completely and does not attempt later files', async () => {
    await fx.project({
      '20240101000000_ok.sql': 'create table ok (id int);',
      '20240102000000_bad.sql':
        'create table half (id int);\ninsert into ok values (1);\nselect\n  nope_col from half;\n',
      '20240103000000_later.sql': 'create table later (id int);'
    })
    const state = newState()
    const error = await migrate(opts(), state).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MigrationError)
    const e = error as MigrationError
    expect(e).toMatchObject({
      file: '20240102000000_bad.sql',
      statement: 3,
      statementCount: 3,
      sqlState: '42703',
      committed: 0
    })
    expect(e.position).toEqual({ line: 2, column: 3 })
    expect(e.message.split('\n')[0]).toBe(
      'Migration 20240102000000_bad.sql failed at statement 3 of 3 (line 4, column 3 of the file; line 2, column 3 of the statement): ' +
        'column "nope_col" does not exist (SQLSTATE 42703)'
    )
    expect(e.message).toContain('    ^')
    expect(e.message).toContain('The file was rolled back completely.')
    expect(await tables(fx.db.url)).toEqual(['public.ok', 'supabase_migrations.schema_migrations'])
    expect(await query(fx.db.url, 'select count(*)::int as n from ok')).toEqual([{ n: 0 }])
    expect((await historyRows(fx.db.url)).map(r => r.version)).toEqual(['20240101000000'])
    expect(state.applied.map(r => r.version)).toEqual(['20240101000000'])
    expect(state.currentVersion).toBe('20240101000000')
  })

  it('names the first failing statement when later ones are already sent, and stays durable-consistent', async () => {
    await fx.project({
      '20240101000000_ok.sql': 'create table ok (id int);\ninsert into ok values (1);',
      '20240102000000_ro.sql': 'set default_transaction_read_only = on;',
      '20240103000000_bad.sql':
        'create table half (id int);\ninsert into missing values (1);\nselec garbage;\ninsert into ok values (2);',
      '20240104000000_later.sql': 'create table later (id int);'
    })
    const state = newState()
    const error = await migrate(opts(), state).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MigrationError)
    expect(error).toMatchObject({
      file: '20240103000000_bad.sql',
      statement: 2,
      statementCount: 4,
      sqlState: '42P01',
      committed: 0
    })
    // RESET ALL before the file: the previous file's read-only default did not apply to it.
    expect((error as Error).message).not.toContain('read-only')
    expect(await tables(fx.db.url)).toEqual(['public.ok', 'supabase_migrations.schema_migrations'])
    expect(await query(fx.db.url, 'select id from ok order by id')).toEqual([{ id: 1 }])
    expect((await historyRows(fx.db.url)).map(r => r.version)).toEqual([
      '20240101000000',
      '20240102000000'
    ])
    expect(state.applied.map(r => r.version)).toEqual(['20240101000000', '20240102000000'])
    expect(fx.log.warnings).toEqual([])
  })

  it('records statements with quotes, backslashes and dollar quotes exactly', async () => {
    const sql =
      "create table q (v text);\ninsert into q values ('it''s \\ back' || E'\\n' || $x$ $y$ ' \" $x$);\n" +
      "comment on table q is 'ünïcödé ✓';"
    await fx.project({ "20240101000000_it's \\odd.sql": sql, '20240102000000_empty.sql': '' })
    const state = await migrate(opts())
    expect(state.applied).toHaveLength(2)
    const rows = await historyRows(fx.db.url)
    expect(rows.map(r => [r.version, r.name, r.statements])).toEqual([
      [
        '20240101000000',
        "it's \\odd",
        [
          'create table q (v text)',
          "insert into q values ('it''s \\ back' || E'\\n' || $x$ $y$ ' \" $x$)",
          "comment on table q is 'ünïcödé ✓'"
        ]
      ],
      ['20240102000000', 'empty', []]
    ])
  })

  it('serialises concurrent runs with the advisory lock', async () => {
    await fx.project({
      '20240101000000_slow.sql':
        'create table slow (id int);\nselect pg_sleep(0.5);\ninsert into slow values (1);'
    })
    const logA = captureLog()
    const logB = captureLog()
    const [a, b] = await Promise.all([migrate(opts({ log: logA })), migrate(opts({ log: logB }))])
    expect(a.applied.length + b.applied.length).toBe(1)
    expect(
      [...logA.lines, ...logB.lines].some(l =>
        l.startsWith('Waiting up to 1m for the migration lock, held by pid')
      )
    ).toBe(true)
    expect(await query(fx.db.url, 'select count(*)::int as n from slow')).toEqual([{ n: 1 }])
    expect((await historyRows(fx.db.url)).length).toBe(1)
  })

  it('times out on the lock and says who holds it', async () => {
    await fx.project({ '20240101000000_a.sql': 'create table a (id int);' })
    const holder = new pg.Client({
      connectionString: fx.db.url,
      application_name: 'lock-holder-test'
    })
    await holder.connect()
    try {
      await holder.query(`select pg_advisory_lock(${LOCK_KEY})`)
      const pid = (await holder.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]
        ?.pid
      const started = Date.now()
      const error = await migrate(opts({ lockTimeoutMs: 400 })).catch((e: unknown) => e)
      expect(Date.now() - started).toBeLessThan(3000)
      expect(error).toBeInstanceOf(LockTimeoutError)
      expect((error as Error).message).toMatch(
        new RegExp(
          `^Timed out after 400ms waiting for the migration lock, held by pid ${pid}, application "lock-holder-test", client 127\\.0\\.0\\.1/32, connected since \\d{4}-`,
          'u'
        )
      )
      expect(await tables(fx.db.url)).toEqual([])
    } finally {
      await holder.end()
    }
  })

  it('refuses out-of-order files unless includeAll', async () => {
    await fx.project({
      '20240101000000_a.sql': 'create table a (id int);',
      '20240103000000_c.sql': 'create table c (id int);'
    })
    await migrate(opts())
    await addFile('20240102000000_b.sql', 'create table b (id int);')
    const error = await migrate(opts()).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MigrationHistoryError)
    expect((error as Error).message).toContain('20240102000000_b.sql')
    expect(await tables(fx.db.url)).not.toContain('public.b')
    const state = await migrate(opts({ includeAll: true }))
    expect(state.applied.map(r => r.version)).toEqual(['20240102000000'])
    expect(state.currentVersion).toBe('20240103000000')
  })

  it('refuses remote versions missing locally with the repair hint', async () => {
    await fx.project({
      '20240101000000_a.sql': 'create table a (id int);',
      '20240102000000_b.sql': 'create table b (id int);'
    })
    await migrate(opts())
    await query(
      fx.db.url,
      "insert into supabase_migrations.schema_migrations(version, name, statements) values ('20240101500000', 'elsewhere', '{}')"
    )
    const error = await migrate(opts()).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MigrationHistoryError)
    expect((error as Error).message).toContain(
      'supabase migration repair --status reverted 20240101500000'
    )
  })

  it('runs CREATE INDEX CONCURRENTLY outside the transaction and marks the file non-atomic', async () => {
    await fx.project({
      '20240101000000_idx.sql':
        'create table t (id int);\ninsert into t select generate_series(1, 100);\ncreate index concurrently t_id_idx on t (id);\nalter table t add column x int;'
    })
    const state = await migrate(opts())
    expect(state.applied[0]).toMatchObject({ mode: 'transactional', atomic: false })
    expect(
      await query(
        fx.db.url,
        "select indisvalid as valid from pg_index where indexrelid = 't_id_idx'::regclass"
      )
    ).toEqual([{ valid: true }])
    expect((await historyRows(fx.db.url))[0]?.statements).toHaveLength(4)
  })

  it('reports which statements stayed committed when a non-atomic file fails', async () => {
    await fx.project({
      '20240101000000_idx.sql':
        'create table t (id int);\ncreate index concurrently t_id_idx on t (id);\ninsert into t values (1);\nselect 1/0;'
    })
    const error = (await migrate(opts()).catch((e: unknown) => e)) as MigrationError
    expect(error).toBeInstanceOf(MigrationError)
    expect(error).toMatchObject({ statement: 4, committed: 2, sqlState: '22012' })
    expect(error.message).toContain('Statements 1-2 stayed committed (the file is not atomic)')
    expect(await query(fx.db.url, 'select count(*)::int as n from t')).toEqual([{ n: 0 }])
    // Nothing recorded; the history table this run created is dropped again.
    expect(await tables(fx.db.url)).toEqual(['public.t'])
  })

  it('dry-run plans without writing anything', async () => {
    await fx.project({ '20240101000000_a.sql': 'create table a (id int);\ndrop table a;' })
    const state = await migrate(opts({ dryRun: true }))
    expect(state.pending.map(p => p.file)).toEqual(['20240101000000_a.sql'])
    expect(state.destructive.map(d => [d.statement, d.kind])).toEqual([[2, 'DROP TABLE']])
    expect(state.applied).toEqual([])
    expect(await tables(fx.db.url)).toEqual([])
    expect(
      await query(
        fx.db.url,
        "select count(*)::int as n from pg_namespace where nspname = 'supabase_migrations'"
      )
    ).toEqual([{ n: 0 }])
  })

  it('fails on destructive changes with destructive: fail, warns by default', async () => {
    await fx.project({
      '20240101000000_a.sql':
        'create table a (id int, b int);\nalter table a drop column b;\ntruncate a;'
    })
    const error = await migrate(opts({ destructive: 'fail' })).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DestructiveChangeError)
    expect((error as Error).message).toContain('20240101000000_a.sql statement 2: DROP COLUMN')
    expect((error as Error).message).toContain('20240101000000_a.sql statement 3: TRUNCATE')
    expect(await tables(fx.db.url)).toEqual([])
    await migrate(opts())
    expect(fx.log.warnings).toContain(
      'Destructive change in 20240101000000_a.sql, statement 2: DROP COLUMN'
    )
    expect(await tables(fx.db.url)).toContain('public.a')
  })

  it('applies statement-timeout and rolls back on it', async () => {
    await fx.project({ '20240101000000_slow.sql': 'create table s (id int);\nselect pg_sleep(2);' })
    const error = (await migrate(opts({ statementTimeoutMs: 150 })).catch(
      (e: unknown) => e
    )) as MigrationError
    expect(error).toMatchObject({ statement: 2, sqlState: '57014' })
    expect(await tables(fx.db.url)).toEqual([])
  })

  it('runs files with their own transaction control as written', async () => {
    await fx.project({
      '20240101000000_tx.sql': 'begin;\ncreate table tx (id int);\ncommit;\n',
      '20240102000000_none.sql':
        '-- pg-delta: transaction=false\ncreate table nt (id int);\ncreate index concurrently nt_idx on nt (id);\n'
    })
    const state = await migrate(opts())
    expect(state.applied.map(r => [r.mode, r.atomic])).toEqual([
      ['sequential', false],
      ['none', false]
    ])
    expect((await historyRows(fx.db.url)).map(r => r.statements)).toEqual([
      ['begin', 'create table tx (id int)', 'commit'],
      [
        '-- pg-delta: transaction=false\ncreate table nt (id int)',
        'create index concurrently nt_idx on nt (id)'
      ]
    ])
  })

  it('warns when an applied file was edited afterwards', async () => {
    await fx.project({ '20240101000000_a.sql': 'create table a (id int);' })
    await migrate(opts())
    await addFile('20240101000000_a.sql', 'create table a (id bigint);')
    const state = await migrate(opts())
    expect(state.drift.map(d => d.message)).toEqual([
      '20240101000000_a.sql was edited after it was applied: statement 1 differs from the recorded one'
    ])
    expect(fx.log.warnings).toContain(state.drift[0]?.message)
  })

  it('seeds with seed_files semantics: new runs, unchanged skips, changed updates the hash only', async () => {
    await fx.project(
      { '20240101000000_a.sql': 'create table s (id int);' },
      { 'supabase/seed.sql': 'insert into s values (1);' }
    )
    const seeds = [{ path: 'supabase/seed.sql', file: path.join(fx.root, 'supabase', 'seed.sql') }]
    const first = await migrate(opts({ seeds }))
    expect(first.seeded).toEqual(['supabase/seed.sql'])
    const second = await migrate(opts({ seeds }))
    expect(second.seeds).toEqual([])
    await writeFile(seeds[0]!.file, 'insert into s values (1);\ninsert into s values (2);\n')
    const third = await migrate(opts({ seeds }))
    expect(third.seeds.map(s => s.dirty)).toEqual([true])
    expect(await query(fx.db.url, 'select id from s order by id')).toEqual([{ id: 1 }])
    expect(await query(fx.db.url, 'select path, hash from supabase_migrations.seed_files')).toEqual(
      [{ path: 'supabase/seed.sql', hash: third.seeds[0]?.hash }]
    )
  })
})
