import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { mkdir, symlink, writeFile } from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import { FakeGitHub } from '../src/fakes/github.js'
import { FakeHealth } from '../src/fakes/health.js'
import { runAction, type ActionRun } from './support/harness.js'
import { closedPort } from '../src/fakes/http-server.js'
import {
  createDb,
  historyRows,
  makeProject,
  query,
  refusingServer,
  removeDir,
  startupError,
  supabase,
  tables,
  tcpServer,
  type TestDb
} from './db-migrate/helpers.js'

const FILES = {
  '20240101000000_create_users.sql':
    'create table public.users (id bigint primary key, email text not null);\ncreate index users_email on public.users (email);',
  '20240102000000_create_orders.sql':
    "create table public.orders (id bigint primary key, user_id bigint references public.users (id), note text default 'a;b');",
  '20240103000000_fn.sql':
    'create function public.add(a int, b int) returns int language sql as $$ select a + b; $$;'
}

describe('db-migrate (dist bundle through the runner harness, real Postgres)', () => {
  let db: TestDb
  let project: string
  let github: FakeGitHub
  let health: FakeHealth

  beforeAll(async () => {
    health = await new FakeHealth().start()
  })
  afterAll(async () => {
    await health.stop()
  })
  beforeEach(async () => {
    db = await createDb()
    github = await new FakeGitHub().start()
  })
  afterEach(async () => {
    await github.stop()
    await db.drop()
    if (project) await removeDir(project)
  })

  const migrateRun = (inputs: Record<string, string>, workspace = project): Promise<ActionRun> =>
    runAction(
      'db-migrate',
      { 'database-url': db.url, ...inputs },
      { token: github.token, env: { GITHUB_API_URL: github.url, GITHUB_WORKSPACE: workspace } }
    )

  it('applies from empty, is a no-op on rerun, and the real CLI agrees the database is up to date', async () => {
    project = await makeProject(FILES)
    const first = await migrateRun({})
    expect(first.code).toBe(0)
    expect(first.outputs).toMatchObject({
      applied: '3',
      'applied-versions': '20240101000000,20240102000000,20240103000000',
      pending: '3',
      'current-version': '20240103000000'
    })
    expect(await tables(db.url)).toEqual(expect.arrayContaining(['public.users', 'public.orders']))
    const rows = await historyRows(db.url)
    expect(rows.map(r => [r.version, r.name])).toEqual([
      ['20240101000000', 'create_users'],
      ['20240102000000', 'create_orders'],
      ['20240103000000', 'fn']
    ])
    expect(rows[0].statements).toEqual([
      'create table public.users (id bigint primary key, email text not null)',
      'create index users_email on public.users (email)'
    ])
    expect(first.summary).toContain('✅ applied')

    const again = await migrateRun({})
    expect(again.code).toBe(0)
    expect(again.outputs).toMatchObject({
      applied: '0',
      pending: '0',
      'current-version': '20240103000000'
    })

    const cli = await supabase(['db', 'push', '--db-url', db.url, '--yes'], project)
    expect(`${cli.stdout}${cli.stderr}`).toContain('Remote database is up to date')
  })

  it('dry-run plans in the summary and outputs and writes nothing', async () => {
    project = await makeProject(FILES)
    const run = await migrateRun({ 'dry-run': 'true' })
    expect(run.code).toBe(0)
    expect(run.outputs).toMatchObject({ applied: '0', pending: '3', 'applied-versions': '' })
    expect(run.summary).toContain('Would apply')
    expect(run.summary).toContain('20240102000000_create_orders.sql')
    expect(await tables(db.url)).toEqual([])
  })

  it('a failing file leaves schema and history untouched, opens a SEV2 incident and names file, statement and position', async () => {
    project = await makeProject({
      ...FILES,
      '20240104000000_broken.sql':
        'create table public.a (id int);\ncreate table public.b (id int);\nselect * from\n  public.missing_table;',
      '20240105000000_after.sql': 'create table public.after (id int);'
    })
    const run = await migrateRun({})
    expect(run.code).toBe(1)
    expect(run.errors[0]).toMatch(
      /Migration 20240104000000_broken\.sql failed at statement 3 of 3 \(line 4, column 3 of the file/
    )
    expect(run.errors[0]).toContain('relation "public.missing_table" does not exist')
    expect(run.outputs).toMatchObject({
      applied: '3',
      'current-version': '20240103000000',
      pending: '5'
    })
    const names = await tables(db.url)
    expect(names).not.toContain('public.a')
    expect(names).not.toContain('public.after')
    expect((await historyRows(db.url)).map(r => r.version)).toEqual([
      '20240101000000',
      '20240102000000',
      '20240103000000'
    ])
    const issue = github.openIssues()[0]
    expect(issue.title).toMatch(
      /^\[SEV2\] production: db-migrate failed for postgres@127\.0\.0\.1:5432\/shipgate_t_\w+: 20240104000000_broken\.sql failed at statement 3/
    )
    expect(issue.body).toContain('Migration failed')
    expect(run.outputs['issue-number']).toBe(String(issue.number))

    // Fixed forward: the next good run closes the incident.
    await removeDir(`${project}/supabase/migrations/20240104000000_broken.sql`)
    const fixed = await migrateRun({})
    expect(fixed.code).toBe(0)
    expect(issue.state).toBe('closed')
  })

  it('destructive: fail blocks before anything is written', async () => {
    project = await makeProject({
      '20240101000000_drop.sql': 'create table t (id int);\ndrop table t;'
    })
    const run = await migrateRun({ destructive: 'fail' })
    expect(run.code).toBe(1)
    expect(run.errors[0]).toContain('20240101000000_drop.sql statement 2')
    expect(await tables(db.url)).toEqual([])
    expect(github.writes()).toBe(0)
  })

  it('runs the health gate after applying and opens a SEV1 incident when the API is unhealthy', async () => {
    project = await makeProject(FILES)
    health.set('/after', { kind: 'status', status: 503 })
    const run = await migrateRun({
      'health-url': `${health.url}/after`,
      'health-timeout': '500ms',
      'health-interval': '100ms'
    })
    expect(run.code).toBe(1)
    expect(run.outputs.applied).toBe('3')
    expect(github.openIssues()[0].title).toMatch(
      /^\[SEV1\] production: db-migrate failed .*API unhealthy after migrating/
    )
  })

  it('gives clear connection errors and never prints the password', async () => {
    project = await makeProject(FILES)
    const port = await closedPort()
    const password = 'Sup3r:S3cret/p@ss'
    const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres?sslmode=disable`
    const run = await runAction(
      'db-migrate',
      { 'database-url': url },
      { token: github.token, env: { GITHUB_API_URL: github.url, GITHUB_WORKSPACE: project } }
    )
    expect(run.code).toBe(1)
    expect(run.errors[0]).toMatch(/127\.0\.0\.1/)
    expect(run.errors[0]).toMatch(/refused|unreachable|could not connect/i)
    const logged = run.stdout
      .split('\n')
      .filter(l => !l.startsWith('::add-mask::'))
      .join('\n')
    for (const s of [password, encodeURIComponent(password), 'S3cret']) {
      expect(logged).not.toContain(s)
      expect(run.summary).not.toContain(s)
    }
    const missing = await migrateRun({ 'database-url': db.url.replace(db.name, `${db.name}_nope`) })
    expect(missing.errors[0]).toMatch(/does not exist/)
  })

  it('never puts the database password in the incident, the summary or the log', async () => {
    project = await makeProject({
      ...FILES,
      '20240104000000_broken.sql': 'create table public.a (id int);\nselect 1/0;'
    })
    // Trust authentication ignores the password, so this URL really connects.
    const password = 'Pa:ss/w@rd%41 S3cretPart'
    const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:5432/${db.name}?sslmode=disable`
    const runs = [
      await migrateRun({ 'database-url': url }),
      await migrateRun({ 'database-url': url })
    ]
    const issue = github.openIssues()[0]
    expect(issue.title).toMatch(/^\[SEV2\] .*20240104000000_broken\.sql failed at statement 2/)
    expect(issue.comments.length).toBeGreaterThan(0)
    const texts = [issue.title, issue.body ?? '', ...issue.comments.map(c => c.body)]
    for (const run of runs) {
      expect(run.code).toBe(1)
      const logged = `${run.stdout}\n${run.stderr}`
        .split('\n')
        .filter(l => !l.startsWith('::add-mask::'))
        .join('\n')
      texts.push(logged, run.summary, ...Object.values(run.outputs))
    }
    const forms = [
      password,
      encodeURIComponent(password),
      decodeURIComponent(password),
      'S3cretPart'
    ]
    for (const text of texts) for (const form of forms) expect(text).not.toContain(form)
  })

  it('a dry run against an existing history writes nothing, seeds included', async () => {
    project = await makeProject(
      { ...FILES, '20240104000000_s.sql': 'create table public.s (id int);' },
      { 'supabase/seed.sql': 'insert into public.s values (1);\n' }
    )
    expect((await migrateRun({ 'include-seed': 'true' })).code).toBe(0)
    // Now: one more migration, a changed seed and a new seed file from config.toml.
    await writeFile(
      path.join(project, 'supabase/migrations/20240105000000_more.sql'),
      'create table public.more (id int);'
    )
    await writeFile(path.join(project, 'supabase/seed.sql'), 'insert into public.s values (2);\n')
    await mkdir(path.join(project, 'supabase/seeds'))
    await writeFile(
      path.join(project, 'supabase/seeds/extra.sql'),
      'insert into public.s values (3);\n'
    )
    await writeFile(
      path.join(project, 'supabase/config.toml'),
      '[db.seed]\nsql_paths = ["./seed.sql", "./seeds/*.sql"]\n'
    )
    const snapshot = async () => ({
      tables: await tables(db.url),
      history: await query(
        db.url,
        'select version, name, statements from supabase_migrations.schema_migrations order by version'
      ),
      seeds: await query(
        db.url,
        'select path, hash from supabase_migrations.seed_files order by path'
      ),
      data: await query(db.url, 'select id from public.s order by id')
    })
    const before = await snapshot()
    expect(before.seeds).toHaveLength(1)
    expect(before.history).toHaveLength(4)
    const dry = await migrateRun({ 'dry-run': 'true', 'include-seed': 'true' })
    expect(dry.code).toBe(0)
    expect(dry.outputs).toMatchObject({
      applied: '0',
      pending: '1',
      'current-version': '20240104000000'
    })
    expect(dry.summary).toContain('20240105000000_more.sql')
    expect(dry.summary).toContain('`supabase/seed.sql` (changed: hash updated only')
    expect(dry.summary).toContain('`supabase/seeds/extra.sql`')
    expect(await snapshot()).toEqual(before)
  })

  it('a file with its own COMMIT that fails part-way opens a SEV1 incident saying it may be partially applied', async () => {
    project = await makeProject({
      ...FILES,
      '20240104000000_seq.sql': 'begin;\ncreate table public.x (id int);\ncommit;\nselect 1/0;'
    })
    const run = await migrateRun({})
    expect(run.code).toBe(1)
    expect(await tables(db.url)).toContain('public.x')
    const issue = github.openIssues()[0]
    expect(issue.title).toMatch(
      /^\[SEV1\] production: db-migrate failed .*20240104000000_seq\.sql failed at statement 4/
    )
    expect(issue.body).toContain('may be partially applied: statements 1-3 were committed')
    expect(issue.body).not.toContain('rolled back completely')
  })

  it('refuses bad inputs before connecting', async () => {
    project = await makeProject(FILES)
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ 'database-url': 'mysql://x@h/db' }, /Input 'database-url' \(secret, not shown\)/],
      [
        { destructive: 'maybe' },
        /Input 'destructive' has an invalid value "maybe": expected one of warn, fail, allow/
      ],
      [{ 'lock-timeout': 'forever' }, /Input 'lock-timeout' .*duration/],
      [{ 'migrations-dir': 'db/nowhere' }, /Input 'migrations-dir' .*no such directory/]
    ]
    for (const [inputs, message] of cases) {
      const run = await migrateRun(inputs)
      expect(run.code).toBe(1)
      expect(run.errors).toHaveLength(1)
      expect(run.errors[0]).toMatch(message)
    }
    expect(await tables(db.url)).toEqual([])
  })

  describe('cancelled mid-run', () => {
    const sleepy = (): Record<string, string> => ({
      ...FILES,
      '20240104000000_slow.sql': 'create table public.slow (id int);\nselect pg_sleep(60);',
      '20240105000000_after.sql': 'create table public.after (id int);'
    })

    /** Sessions of the action still connected to the test database, and who holds its lock. */
    const leftovers = async (): Promise<{ sessions: number; locks: number }> => {
      const [row] = await query<{ sessions: number; locks: number }>(
        db.url,
        `SELECT (SELECT count(*)::int FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'shipgate%') AS sessions,
                (SELECT count(*)::int FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())) AS locks`
      )
      return row
    }

    /** Resolves once `sql` returns a row (polled), or after 20 s. */
    const when = async (sql: string): Promise<void> => {
      for (let i = 0; i < 400; i++) {
        // The table may not exist yet.
        if ((await query(db.url, sql).catch(() => [])).length > 0) return
        await new Promise(r => setTimeout(r, 50))
      }
    }

    it('reports exactly what the history holds and cancels the running statement (SIGINT then SIGTERM)', async () => {
      project = await makeProject(sleepy())
      const run = await runAction(
        'db-migrate',
        { 'database-url': db.url },
        {
          token: github.token,
          env: { GITHUB_API_URL: github.url, GITHUB_WORKSPACE: project },
          onStart: signal =>
            void when(
              "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'select pg_sleep%'"
            ).then(() => {
              signal('SIGINT')
              setTimeout(() => signal('SIGTERM'), 300)
            })
        }
      )
      expect(run.code).toBe(1)
      // The runner would have waited out the 60 s sleep; the statement was cancelled instead.
      expect(run.durationMs).toBeLessThan(30_000)
      expect(run.outputs).toMatchObject({
        applied: '3',
        'applied-versions': '20240101000000,20240102000000,20240103000000',
        'current-version': '20240103000000',
        pending: '5'
      })
      expect((await historyRows(db.url)).map(r => r.version)).toEqual([
        '20240101000000',
        '20240102000000',
        '20240103000000'
      ])
      expect(await tables(db.url)).not.toContain('public.slow')
      expect(run.summary).toMatch(
        /\*\*Cancelled:\*\* 3 migration\(s\) applied \(the history now ends at `20240103000000`\); 2 not applied/
      )
      expect(run.summary).toMatch(/cancelled/)
      // No orphaned statement keeps the migration lock once the step has ended.
      expect(await leftovers()).toEqual({ sessions: 0, locks: 0 })
      expect(github.openIssues()).toEqual([])
    })

    it('a cancel that interrupts a non-atomic file says it may be partially applied, and opens no incident', async () => {
      project = await makeProject({
        ...FILES,
        '20240104000000_slow.sql':
          'create table public.slow (id int);\ncreate index concurrently slow_i on public.slow (id);\nselect pg_sleep(60);'
      })
      const run = await runAction(
        'db-migrate',
        { 'database-url': db.url },
        {
          token: github.token,
          env: { GITHUB_API_URL: github.url, GITHUB_WORKSPACE: project },
          onStart: signal =>
            void when(
              "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'select pg_sleep%'"
            ).then(() => signal('SIGINT'))
        }
      )
      expect(run.code).toBe(1)
      expect(run.outputs).toMatchObject({ applied: '3', 'current-version': '20240103000000' })
      expect(await tables(db.url)).toContain('public.slow')
      expect(run.summary).toMatch(
        /20240104000000_slow\.sql was interrupted and may be partially applied \(Statements 1-2 stayed committed/
      )
      expect(await leftovers()).toEqual({ sessions: 0, locks: 0 })
      expect(github.openIssues()).toEqual([])
    })

    it('cancelled while still connecting: the summary and outputs show the whole plan as not applied', async () => {
      project = await makeProject(FILES)
      let signalled: (() => void) | undefined
      // Holds each connection 1 s before passing it to the real server.
      const slow = await tcpServer(socket => {
        signalled?.()
        setTimeout(() => {
          const upstream = net.connect(5432, '127.0.0.1')
          upstream.on('error', () => socket.destroy())
          socket.pipe(upstream).pipe(socket)
        }, 1000)
      })
      try {
        const run = await runAction(
          'db-migrate',
          { 'database-url': db.url.replace(':5432/', `:${slow.port}/`) },
          {
            token: github.token,
            env: { GITHUB_API_URL: github.url, GITHUB_WORKSPACE: project },
            // Once: the cancel's own connection must not signal again.
            onStart: signal =>
              void (signalled = () => {
                signalled = undefined
                signal('SIGINT')
              })
          }
        )
        expect(run.code).toBe(1)
        expect(run.outputs).toMatchObject({ applied: '0', pending: '3', 'current-version': '' })
        expect(run.summary).toMatch(
          /\*\*Cancelled:\*\* 0 migration\(s\) applied .*; 3 not applied\./
        )
        expect(await tables(db.url)).toEqual([])
        expect(github.openIssues()).toEqual([])
      } finally {
        await slow.close()
      }
    })

    it('between files of a long queue, the outputs equal the history', async () => {
      const many: Record<string, string> = {}
      for (let i = 1; i <= 3000; i++)
        many[`${20240000000000 + i}_m${i}.sql`] =
          `create table public.t${i} (id int primary key);\ninsert into public.t${i} values (${i});`
      project = await makeProject(many)
      const run = await runAction(
        'db-migrate',
        { 'database-url': db.url },
        {
          token: github.token,
          env: { GITHUB_API_URL: github.url, GITHUB_WORKSPACE: project },
          onStart: signal =>
            void when(
              'SELECT 1 FROM supabase_migrations.schema_migrations HAVING count(*) >= 20'
            ).then(() => signal('SIGINT'))
        }
      )
      expect(run.code).toBe(1)
      const history = (await historyRows(db.url)).map(r => r.version)
      expect(history.length).toBeGreaterThanOrEqual(20)
      expect(history.length).toBeLessThan(3000)
      expect(run.outputs.applied).toBe(String(history.length))
      expect(run.outputs['applied-versions']).toBe(history.join(','))
      expect(run.outputs['current-version']).toBe(history.at(-1))
      expect(run.summary).toContain(`**Cancelled:** ${history.length} migration(s) applied`)
      expect(await leftovers()).toEqual({ sessions: 0, locks: 0 })
    })
  })

  describe('the database cannot be reached: an outage with an incident, not a configuration error', () => {
    it.each([
      [
        'too many connections (53300)',
        'connection pool exhausted',
        startupError('53300', 'sorry, too many clients already')
      ],
      [
        'starting up (57P03)',
        'database unreachable',
        startupError('57P03', 'the database system is starting up')
      ],
      ['a hang-up during the handshake', 'database unreachable', undefined]
    ])('%s', async (_what, cause, reply) => {
      project = await makeProject(FILES)
      const server = reply ? await refusingServer(reply) : await refusingServer(Buffer.alloc(0))
      try {
        const url = `postgres://postgres:pw@127.0.0.1:${server.port}/postgres?sslmode=disable`
        const run = await migrateRun({ 'database-url': url })
        expect(run.code).toBe(1)
        expect(run.summary).toMatch(/❌ failed: /)
        expect(run.summary).not.toMatch(/configuration error/)
        const [issue] = github.openIssues()
        expect(issue?.title).toMatch(
          new RegExp(`^\\[SEV1\\] production: db-migrate failed .*: ${cause}`)
        )
        expect(issue?.body).toContain('Database connection issues')
        expect(run.outputs['issue-number']).toBe(String(issue?.number))
      } finally {
        await server.close()
      }
    })

    it('a port nobody listens on', async () => {
      project = await makeProject(FILES)
      const port = await closedPort()
      const run = await migrateRun({
        'database-url': `postgres://postgres@127.0.0.1:${port}/postgres?sslmode=disable`
      })
      expect(run.code).toBe(1)
      expect(run.errors[0]).toMatch(/Connection refused by 127\.0\.0\.1/)
      expect(run.summary).toMatch(/❌ failed: /)
      expect(github.openIssues()[0]?.title).toMatch(/database unreachable/)
    })
  })

  it('a migration that is a symlink (here to a directory) is a one-line configuration error, no incident', async () => {
    project = await makeProject(FILES)
    await mkdir(path.join(project, 'elsewhere'))
    await symlink(
      path.join(project, 'elsewhere'),
      path.join(project, 'supabase', 'migrations', '20240104000000_link.sql')
    )
    const run = await migrateRun({})
    expect(run.code).toBe(1)
    expect(run.errors).toEqual([
      'db-migrate: Migration migrations/20240104000000_link.sql is a symbolic link: replace it with the SQL file itself.'
    ])
    expect(run.summary).toMatch(/configuration error/)
    expect(github.openIssues()).toEqual([])
    expect(await historyRows(db.url).catch(() => [])).toEqual([])
  })
})
