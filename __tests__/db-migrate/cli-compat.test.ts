/**
 * The real Supabase CLI (supabase@2.117.0 from npm) is the oracle: the same
 * files applied by `supabase db push` and by this engine must leave identical
 * history rows, and each tool must accept the other's history.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { copyFile, readdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { MigrationError } from '../../src/actions/db-migrate/engine/failure.js'
import { getInputs } from '../../src/actions/db-migrate/inputs.js'
import { migrate, type MigrateOptions } from '../../src/actions/db-migrate/engine/engine.js'
import { MigrationHistoryError } from '../../src/actions/db-migrate/engine/plan.js'
import {
  captureLog,
  createDb,
  historyRows,
  makeProject,
  query,
  removeDir,
  supabase,
  type TestDb
} from './helpers.js'

const FIXTURES = path.resolve('__tests__/db-migrate/fixtures/tricky')

const dbs: TestDb[] = []
const dirs: string[] = []
async function freshDb(): Promise<TestDb> {
  const db = await createDb()
  dbs.push(db)
  return db
}
async function project(
  files: Record<string, string> = {},
  other: Record<string, string> = {}
): Promise<string> {
  const root = await makeProject(files, other)
  dirs.push(root)
  return root
}
afterAll(async () => {
  await Promise.all(dbs.map(d => d.drop()))
  await Promise.all(dirs.map(removeDir))
})

const ours = (db: TestDb, root: string, extra: Partial<MigrateOptions> = {}) =>
  migrate({
    databaseUrl: db.url,
    migrationsDir: path.join(root, 'supabase', 'migrations'),
    log: captureLog(),
    ...extra
  })

/** `supabase migration list` as [local, remote] pairs. */
function listed(stdout: string): [string, string][] {
  const rows: [string, string][] = []
  for (const line of stdout.split('\n')) {
    const m = /^\s*`?(\d*)`?\s*\|\s*`?(\d*)`?\s*\|/u.exec(line)
    if (m && (m[1] || m[2])) rows.push([m[1] ?? '', m[2] ?? ''])
  }
  return rows
}

describe('compatibility with supabase db push', () => {
  let root: string
  let cliDb: TestDb
  let ourDb: TestDb
  let versions: string[]

  beforeAll(async () => {
    root = await project()
    const files = (await readdir(FIXTURES)).filter(f => f.endsWith('.sql')).sort()
    for (const f of files)
      await copyFile(path.join(FIXTURES, f), path.join(root, 'supabase', 'migrations', f))
    versions = files.map(f => f.slice(0, 14))
    cliDb = await freshDb()
    ourDb = await freshDb()
    const cli = await supabase(['db', 'push', '--db-url', cliDb.url, '--yes'], root)
    expect(cli.stderr).toContain('Applying migration 20240101000000_tricky.sql...')
    expect(cli.code).toBe(0)
    const state = await ours(ourDb, root)
    expect(state.applied.map(r => r.version)).toEqual(versions)
  })

  it('records identical history rows (version, name, statements) for tricky files', async () => {
    const cliRows = await historyRows(cliDb.url)
    expect(cliRows.map(r => r.version)).toEqual(versions)
    expect(await historyRows(ourDb.url)).toEqual(cliRows)
    // Dollar quotes, BEGIN ATOMIC, nested comments and quoted semicolons all survived as one statement each.
    expect(cliRows[0]?.statements).toHaveLength(9)
  })

  it('builds the same schema and data', async () => {
    const probe = async (url: string) => ({
      items: await query(url, 'select label, note from public.items order by id'),
      quirks: await query(url, 'select id, body from public.quirks order by id'),
      fns: await query(
        url,
        "select public.add_one(1) as a, public.add_two(1) as b, public.shout('x') as c"
      ),
      bom: await query(url, 'select id from public.bom')
    })
    expect(await probe(ourDb.url)).toEqual(await probe(cliDb.url))
  })

  it('after our run, the CLI lists every migration as applied and has nothing to push', async () => {
    const list = await supabase(['migration', 'list', '--db-url', ourDb.url], root)
    expect(list.code).toBe(0)
    expect(listed(list.stdout)).toEqual(versions.map(v => [v, v]))
    const push = await supabase(['db', 'push', '--db-url', ourDb.url, '--yes'], root)
    expect(push.code).toBe(0)
    expect(push.stdout).toContain('Remote database is up to date.')
  })

  it('after the CLI run, our plan is a no-op without drift warnings', async () => {
    const log = captureLog()
    const state = await ours(cliDb, root, { dryRun: true, log })
    expect(state.pending).toEqual([])
    expect(state.drift).toEqual([])
    expect(log.warnings).toEqual([])
    expect(log.lines).toContain('Remote database is up to date.')
  })
})

describe('mixing both tools', () => {
  it('agrees on out-of-order files and on include-all', async () => {
    const db = await freshDb()
    const root = await project({
      '20240101000000_a.sql': 'create table a (id int);',
      '20240103000000_c.sql': 'create table c (id int);'
    })
    await ours(db, root)
    await writeFile(
      path.join(root, 'supabase', 'migrations', '20240102000000_b.sql'),
      'create table b (id int);'
    )
    await expect(ours(db, root)).rejects.toBeInstanceOf(MigrationHistoryError)
    const refused = await supabase(['db', 'push', '--db-url', db.url, '--yes'], root)
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toContain(
      'Found local migration files to be inserted before the last migration on remote database.'
    )
    const cli = await supabase(['db', 'push', '--db-url', db.url, '--yes', '--include-all'], root)
    expect(cli.code).toBe(0)
    const state = await ours(db, root, { dryRun: true })
    expect(state.pending).toEqual([])
    expect((await historyRows(db.url)).map(r => r.version)).toEqual([
      '20240101000000',
      '20240102000000',
      '20240103000000'
    ])
  })

  it('shares seed_files: each tool skips seeds the other recorded', async () => {
    const db = await freshDb()
    const root = await project(
      { '20240101000000_s.sql': 'create table s (id int);' },
      { 'supabase/seed.sql': 'insert into s values (1);\n' }
    )
    const seeds = [{ path: 'supabase/seed.sql', file: path.join(root, 'supabase', 'seed.sql') }]
    const cli = await supabase(['db', 'push', '--db-url', db.url, '--yes', '--include-seed'], root)
    expect(cli.code).toBe(0)
    expect((await ours(db, root, { seeds, dryRun: true })).seeds).toEqual([])

    await writeFile(seeds[0]!.file, 'insert into s values (1);\ninsert into s values (2);\n')
    const state = await ours(db, root, { seeds })
    expect(state.seeded).toEqual(['supabase/seed.sql'])
    const again = await supabase(
      ['db', 'push', '--db-url', db.url, '--yes', '--include-seed'],
      root
    )
    expect(again.stdout).toContain('Remote database is up to date.')
    expect(await query(db.url, 'select id from s order by id')).toEqual([{ id: 1 }])
  })

  it('seeds the same files with the same seed_files rows as the CLI, from [db.seed] in config.toml', async () => {
    const root = await project(
      { '20240101000000_s.sql': 'create table s (n serial primary key, src text);' },
      {
        'supabase/config.toml': [
          'project_id = "shipgate-test"',
          '',
          '[db.seed]',
          'enabled = true',
          'sql_paths = [',
          '  "./seeds/*.sql",  # a glob',
          "  './seed.sql',",
          '  "seeds/a.sql",',
          ']',
          ''
        ].join('\n'),
        'supabase/seed.sql': "insert into s (src) values ('seed');\n",
        'supabase/seeds/b.sql': "insert into s (src) values ('b');\n",
        'supabase/seeds/a.sql': "insert into s (src) values ('a');\n",
        'supabase/seeds/notes.txt': 'not a seed'
      }
    )
    const cliDb = await freshDb()
    const ourDb = await freshDb()
    const cli = await supabase(
      ['db', 'push', '--db-url', cliDb.url, '--yes', '--include-seed'],
      root
    )
    expect(cli.code).toBe(0)
    const inputs = getInputs(
      root,
      name => ({ 'database-url': ourDb.url, 'include-seed': 'true' })[name] ?? ''
    )
    const state = await ours(ourDb, root, { seeds: inputs.seeds })
    expect(state.seeded).toEqual([
      'supabase/seeds/a.sql',
      'supabase/seeds/b.sql',
      'supabase/seed.sql'
    ])
    const seedRows = (url: string) =>
      query(url, 'select path, hash from supabase_migrations.seed_files order by path')
    const cliRows = await seedRows(cliDb.url)
    expect(cliRows).toHaveLength(3)
    expect(await seedRows(ourDb.url)).toEqual(cliRows)
    // Same files run in the same order.
    const data = (url: string) => query(url, 'select n, src from s order by n')
    expect(await data(ourDb.url)).toEqual(await data(cliDb.url))
  })

  it('fails like the CLI where its splitter cuts a BEGIN ATOMIC body at an "end" inside a word', async () => {
    const sql =
      'create table t (legend text);\ncreate function f() returns text language sql\nbegin atomic\n  select legend from t;\nend;\n'
    const root = await project({ '20240101000000_quirk.sql': sql })
    const cliDb = await freshDb()
    const cli = await supabase(['db', 'push', '--db-url', cliDb.url, '--yes'], root)
    expect(cli.code).not.toBe(0)
    expect(cli.stderr).toContain('SQLSTATE 42601')
    const db = await freshDb()
    const error = await ours(db, root).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MigrationError)
    expect(error).toMatchObject({ sqlState: '42601', statement: 2 })
    // The CLI leaves an empty history table; ours drops the one it created.
    expect(await historyRows(cliDb.url)).toEqual([])
    expect(
      await query(db.url, "select to_regclass('supabase_migrations.schema_migrations') as t")
    ).toEqual([{ t: null }])
  })
})
