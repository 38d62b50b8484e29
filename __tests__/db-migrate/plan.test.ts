import { afterAll, describe, expect, it } from '@jest/globals'
import { mkdir, symlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { ConfigurationError } from '../../src/runtime/errors.js'
import {
  listLocalMigrations,
  transactionMode,
  type LoadedMigration,
  type LocalMigration
} from '../../src/actions/db-migrate/engine/local.js'
import {
  destructiveKinds,
  findDestructive,
  findDrift,
  findPending,
  isPipelineIncompatible,
  isTransactionControl,
  MigrationHistoryError,
  planFile
} from '../../src/actions/db-migrate/engine/plan.js'
import { captureLog, makeProject, removeDir } from './helpers.js'

const loc = (version: string): LocalMigration => ({
  version,
  name: 'x',
  file: `${version}_x.sql`,
  path: `/m/${version}_x.sql`
})
const versions = (ms: LocalMigration[]): string[] => ms.map(m => m.version)

describe('findPending (CLI two-pointer rules)', () => {
  const local = ['20240101', '20240102', '20240103'].map(loc)

  it('returns everything after the applied prefix', () => {
    expect(versions(findPending(local, [], false))).toEqual(['20240101', '20240102', '20240103'])
    expect(versions(findPending(local, ['20240101'], false))).toEqual(['20240102', '20240103'])
    expect(findPending(local, ['20240101', '20240102', '20240103'], false)).toEqual([])
  })

  it('refuses remote versions missing locally, with the repair command', () => {
    const run = () => findPending(local, ['20240101', '20231231', '20240104'].sort(), false)
    expect(run).toThrow(MigrationHistoryError)
    expect(run).toThrow('supabase migration repair --status reverted 20231231 20240104')
  })

  it('refuses a local file older than the newest remote unless includeAll', () => {
    const run = () => findPending(local, ['20240101', '20240103'], false)
    expect(run).toThrow(
      /inserted before the last migration on remote database:\n {2}20240102_x.sql/u
    )
    expect(run).toThrow(/include-all/u)
    expect(versions(findPending(local, ['20240101', '20240103'], true))).toEqual(['20240102'])
    const more = [...local, loc('20240104')]
    expect(versions(findPending(more, ['20240101', '20240103'], true))).toEqual([
      '20240102',
      '20240104'
    ])
  })

  it('compares versions as strings, like the CLI', () => {
    // "9" sorts after "10" as text: a local "9" after remote "10" is out of order.
    expect(() => findPending([loc('10'), loc('9')], ['9'], false)).toThrow(MigrationHistoryError)
  })
})

describe('findDrift', () => {
  const m = (version: string, statements: string[], name = 'x'): LoadedMigration => ({
    ...loc(version),
    name,
    sql: '',
    statements,
    mode: 'transactional'
  })
  it('warns when a file differs from the recorded statements or name', () => {
    const drift = findDrift(
      [m('1', ['a', 'b']), m('2', ['a']), m('3', ['a']), m('4', ['a'], 'renamed'), m('5', ['x'])],
      [
        { version: '1', name: 'x', statements: ['a', 'c'] },
        { version: '2', name: 'x', statements: ['a'] },
        { version: '3', name: 'x', statements: ['a', 'b'] },
        { version: '4', name: 'x', statements: ['a'] },
        { version: '5', name: '', statements: null }
      ]
    )
    expect(drift.map(d => [d.version, d.message])).toEqual([
      ['1', '1_x.sql was edited after it was applied: statement 2 differs from the recorded one'],
      ['3', '3_x.sql was edited after it was applied: it has 1 statements, the history recorded 2'],
      ['4', '4_x.sql is recorded as "x" in the migration history']
    ])
  })
})

describe('destructive detection', () => {
  it.each([
    ['DROP TABLE users', ['DROP TABLE']],
    ['drop   table if exists public.users cascade', ['DROP TABLE']],
    ['DROP SCHEMA old CASCADE', ['DROP SCHEMA']],
    ['TRUNCATE audit_log', ['TRUNCATE']],
    ['ALTER TABLE users DROP COLUMN email', ['DROP COLUMN']],
    ['alter table "Users" drop "Email", add column x int', ['DROP COLUMN']],
    ['ALTER TABLE users ALTER COLUMN age TYPE bigint', ['ALTER COLUMN TYPE']],
    ['ALTER TABLE users ALTER age SET DATA TYPE text USING age::text', ['ALTER COLUMN TYPE']],
    ['DELETE FROM sessions', ['DELETE without WHERE']],
    ['UPDATE users SET active = (SELECT true FROM x WHERE y)', ['UPDATE without WHERE']],
    [
      'DO $$ BEGIN DROP TABLE legacy; IF true THEN DELETE FROM t; END IF; END $$',
      ['DROP TABLE', 'DELETE without WHERE']
    ],
    ['DROP MATERIALIZED VIEW monthly_totals', ['DROP MATERIALIZED VIEW']],
    ['drop materialized view if exists mv cascade', ['DROP MATERIALIZED VIEW']],
    ['drop sequence if exists order_seq', ['DROP SEQUENCE']],
    ['DROP TYPE mood CASCADE', ['DROP TYPE CASCADE']],
    ['drop extension if exists "uuid-ossp" cascade', ['DROP EXTENSION CASCADE']],
    ['DROP FUNCTION f(int, text) CASCADE', ['DROP FUNCTION CASCADE']],
    ['DROP VIEW v1, v2 CASCADE', ['DROP VIEW CASCADE']],
    ['DROP FOREIGN TABLE remote_t CASCADE', ['DROP FOREIGN TABLE CASCADE']],
    [
      'WITH gone AS (DELETE FROM sessions RETURNING id) SELECT count(*) FROM gone',
      ['DELETE without WHERE']
    ],
    [
      'with u as (update users set active = false returning id) insert into log select id from u',
      ['UPDATE without WHERE']
    ],
    [
      'WITH RECURSIVE a(x) AS (SELECT 1), b AS MATERIALIZED (DELETE FROM t RETURNING *) SELECT 1',
      ['DELETE without WHERE']
    ],
    [
      'WITH outer_q AS (WITH inner_q AS (DELETE FROM t RETURNING id) SELECT id FROM inner_q) SELECT 1',
      ['DELETE without WHERE']
    ],
    ['WITH ids AS (SELECT id FROM old) DELETE FROM t', ['DELETE without WHERE']],
    ['WITH ids AS (SELECT 1) UPDATE t SET a = 1', ['UPDATE without WHERE']],
    [
      'DO $$ BEGIN WITH d AS (DELETE FROM t RETURNING 1) SELECT 1 INTO x; END $$',
      ['DELETE without WHERE']
    ]
  ])('%s', (sql, kinds) => {
    expect(destructiveKinds(sql)).toEqual(kinds)
  })

  it.each([
    'ALTER TABLE users DROP CONSTRAINT users_pkey',
    'ALTER TABLE users ALTER COLUMN age DROP NOT NULL',
    "ALTER TYPE mood ADD VALUE 'meh'",
    'DELETE FROM sessions WHERE expires < now()',
    'UPDATE users SET a = 1 WHERE id = 2',
    "-- DROP TABLE users\nSELECT 'DROP TABLE users'",
    'GRANT TRUNCATE ON t TO admin',
    'CREATE FUNCTION f() RETURNS void AS $$ DROP TABLE t $$ LANGUAGE sql',
    'CREATE TABLE "drop table" (id int)',
    'DROP INDEX users_email_idx',
    'DROP TYPE mood',
    'DROP VIEW v',
    'DROP FUNCTION f(text) /* cascade */',
    "COMMENT ON TABLE t IS 'drop type x cascade'",
    'ALTER TABLE t DROP CONSTRAINT c CASCADE',
    'WITH gone AS (DELETE FROM sessions WHERE expires < now() RETURNING id) SELECT count(*) FROM gone',
    'WITH ids AS (SELECT id FROM old) DELETE FROM t WHERE id IN (SELECT id FROM ids)',
    'WITH ids AS (SELECT id FROM old) UPDATE t SET a = 1 WHERE id IN (SELECT id FROM ids)',
    'WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x'
  ])('ignores %s', sql => {
    expect(destructiveKinds(sql)).toEqual([])
  })

  it('lists file and 1-based statement number', () => {
    const found = findDestructive([
      { version: '1', file: '1_a.sql', statements: ['select 1', 'drop table a'] }
    ])
    expect(found).toEqual([
      { version: '1', file: '1_a.sql', statement: 2, kind: 'DROP TABLE', text: 'drop table a' }
    ])
  })
})

describe('statement classification', () => {
  it.each([
    ['CREATE INDEX CONCURRENTLY i ON t (a)', true],
    ['-- build it online\ncreate unique index concurrently i on t (a)', true],
    ['DROP INDEX CONCURRENTLY i', true],
    ['REINDEX (VERBOSE) INDEX CONCURRENTLY i', true],
    ['VACUUM ANALYZE t', true],
    ['ALTER SYSTEM SET work_mem = 1', true],
    ['CREATE DATABASE x', true],
    ['ALTER TABLE p DETACH PARTITION c CONCURRENTLY', true],
    ['CREATE INDEX i ON t (a)', false],
    ["SELECT 'CREATE INDEX CONCURRENTLY'", false]
  ])('pipeline-incompatible: %s', (sql, expected) => {
    expect(isPipelineIncompatible(sql)).toBe(expected)
  })

  it.each([
    ['BEGIN', true],
    ['commit', true],
    ['START TRANSACTION ISOLATION LEVEL SERIALIZABLE', true],
    ['ROLLBACK', true],
    ['ROLLBACK TO SAVEPOINT a', false],
    ['rollback work to a', false],
    ['SAVEPOINT a', false],
    ['BEGINNING', false]
  ])('transaction control: %s', (sql, expected) => {
    expect(isTransactionControl(sql)).toBe(expected)
  })

  it('plans the execution mode of a file', () => {
    expect(
      planFile({
        mode: 'transactional',
        statements: ['create table a()', 'create index concurrently i on a (x)']
      })
    ).toEqual({
      mode: 'transactional',
      standalone: [1],
      atomic: false
    })
    expect(
      planFile({ mode: 'transactional', statements: ['begin', 'select 1', 'commit'] }).mode
    ).toBe('sequential')
    expect(planFile({ mode: 'transactional', statements: ['select 1'] })).toEqual({
      mode: 'transactional',
      standalone: [],
      atomic: true
    })
    expect(transactionMode('\uFEFF-- pg-delta: transaction=false\r\nselect 1')).toBe('none')
    expect(transactionMode('select 1 -- pg-delta: transaction=false')).toBe('transactional')
  })
})

describe('listLocalMigrations', () => {
  const dirs: string[] = []
  afterAll(async () => Promise.all(dirs.map(removeDir)))

  it('lists, skips and sorts like the CLI', async () => {
    const root = await makeProject({
      '20200101000000_init.sql': 'select 1',
      '20240102000000_b.sql': 'select 2',
      '20240101000000_a.sql': 'select 1',
      '20240101000000_a_dup.sql': 'select 1',
      '2_short.sql': 'select 1',
      'README.md': 'no',
      '20240103000000_c.SQL': 'wrong case'
    })
    dirs.push(root)
    const dir = path.join(root, 'supabase', 'migrations')
    await mkdir(path.join(dir, 'archive'))
    const log = captureLog()
    const found = await listLocalMigrations(dir, log)
    // Version strings compare as text: "2" sorts before "20240101000000".
    expect(found.map(m => m.file)).toEqual([
      '2_short.sql',
      '20240101000000_a.sql',
      '20240101000000_a_dup.sql',
      '20240102000000_b.sql'
    ])
    expect(found[1]).toMatchObject({ version: '20240101000000', name: 'a' })
    expect(log.warnings).toEqual([
      'Skipping migration 20200101000000_init.sql... (replace "init" with a different file name to apply this migration)',
      'Skipping migration 20240103000000_c.SQL... (file name must match pattern "<timestamp>_name.sql")',
      'Skipping migration README.md... (file name must match pattern "<timestamp>_name.sql")'
    ])
  })

  it('refuses a directory or a symbolic link named like a migration, naming it', async () => {
    for (const make of ['dir', 'link'] as const) {
      const root = await makeProject({ '20240101000000_a.sql': 'select 1' })
      dirs.push(root)
      const dir = path.join(root, 'supabase', 'migrations')
      if (make === 'dir') await mkdir(path.join(dir, '20240104000000_x.sql'))
      else {
        await writeFile(path.join(root, 'target.sql'), 'select 5')
        await symlink(path.join(root, 'target.sql'), path.join(dir, '20240104000000_x.sql'))
      }
      expect(() => listLocalMigrations(dir, captureLog())).toThrow(
        `Migration migrations/20240104000000_x.sql is a ${make === 'dir' ? 'directory' : 'symbolic link'}: replace it with the SQL file itself.`
      )
    }
  })

  it('refuses a migrations directory that is a file, naming it, as a configuration error', async () => {
    const root = await makeProject({ '20240101000000_a.sql': 'select 1' })
    dirs.push(root)
    const file = path.join(root, 'supabase', 'migrations', '20240101000000_a.sql')
    let error: unknown
    try {
      listLocalMigrations(file, captureLog())
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ConfigurationError)
    expect((error as Error).message).toBe(
      `The migrations directory ${file} is a file: point migrations-dir at the folder that holds the migrations.`
    )
  })

  it('treats a missing directory as empty, with a warning', async () => {
    const log = captureLog()
    expect(await listLocalMigrations('/nonexistent/shipgate/migrations', log)).toEqual([])
    expect(log.warnings[0]).toMatch(/does not exist/u)
  })
})
