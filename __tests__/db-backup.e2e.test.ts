// db-backup end to end: the built bundle through the runner harness, the real
// Postgres, pg_dump, pg_restore, psql, openssl and age of this machine, the
// GitHub fake for incidents and the results-service fake for artifacts.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { execFileSync, execSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { FakeResults } from '../src/fakes/artifact.js'
import { FakeGitHub } from '../src/fakes/github.js'
import { runAction, type ActionRun } from './support/harness.js'
import { createDb, query, type TestDb } from './db-migrate/helpers.js'

const PASSWORD = 'S3cret/pw@x'
const withPassword = (url: string): string =>
  url.replace('postgres@', `postgres:${encodeURIComponent(PASSWORD)}@`)

const SCHEMA = `
CREATE SCHEMA "Odd Schema";
CREATE TABLE "Odd Schema"."weird name" ("x y" text, "Ünïcode" int);
INSERT INTO "Odd Schema"."weird name" VALUES (E'tab\\there', 1), (E'new\\nline', 2), ('quote''s "and" \\\\ back', NULL), (NULL, 4);
CREATE TABLE public.users (id bigint PRIMARY KEY, email text NOT NULL);
INSERT INTO public.users SELECT g, 'user' || g || '@example.com' FROM generate_series(1, 2500) g;
CREATE TABLE public."select" (id int);
INSERT INTO public."select" VALUES (1), (2), (3);
CREATE TABLE public.empty_one (id int);
CREATE TABLE public.events (id int, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE public.events_2025 PARTITION OF public.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE public.events_2026 PARTITION OF public.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO public.events SELECT g, DATE '2025-06-01' + (g % 400) FROM generate_series(1, 800) g;
`

/** Exact row counts of every table (partitions included), by schema.name. */
async function counts(url: string): Promise<Record<string, number>> {
  const tables = await query<{ s: string; n: string }>(
    url,
    "SELECT schemaname AS s, tablename AS n FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
  )
  const out: Record<string, number> = {}
  for (const t of tables) {
    const [r] = await query<{ c: string }>(
      url,
      `SELECT count(*) AS c FROM "${t.s.replace(/"/g, '""')}"."${t.n.replace(/"/g, '""')}"`
    )
    out[`${t.s}.${t.n}`] = Number(r.c)
  }
  return out
}

const EXPECTED = {
  'Odd Schema.weird name': 4,
  'public.users': 2500,
  'public.select': 3,
  'public.empty_one': 0,
  'public.events': 800,
  'public.events_2025': 428,
  'public.events_2026': 372
}

describe('db-backup (dist bundle through the runner harness, real Postgres and tools)', () => {
  let source: TestDb
  let github: FakeGitHub
  let out: string
  const dbs: TestDb[] = []
  const scratch = async (): Promise<TestDb> => {
    const d = await createDb()
    dbs.push(d)
    return d
  }

  beforeAll(async () => {
    source = await createDb()
    await query(source.url, SCHEMA)
    expect(await counts(source.url)).toEqual(EXPECTED)
  })
  afterAll(async () => {
    await source.drop()
  })
  beforeEach(async () => {
    github = await new FakeGitHub().start()
    out = mkdtempSync(path.join(tmpdir(), 'shipgate-dbb-out-'))
  })
  afterEach(async () => {
    await github.stop()
    rmSync(out, { recursive: true, force: true })
    for (const d of dbs.splice(0)) await d.drop()
  })

  const backup = (
    inputs: Record<string, string>,
    env: Record<string, string> = {}
  ): Promise<ActionRun> =>
    runAction(
      'db-backup',
      {
        'database-url': withPassword(source.url),
        destination: 'path',
        'output-dir': out,
        name: 'nightly',
        ...inputs
      },
      { token: github.token, env: { GITHUB_API_URL: github.url, ...env } }
    )

  /** Nothing secret in what the run printed (masks aside), its summary, outputs or GitHub calls. */
  function expectNoSecrets(run: ActionRun, ...secrets: string[]): void {
    const printed = run.stdout
      .split('\n')
      .filter(l => !l.startsWith('::add-mask::'))
      .join('\n')
    const sent = github.requests.map(r => r.body).join('\n')
    for (const s of [PASSWORD, encodeURIComponent(PASSWORD), ...secrets]) {
      expect(printed).not.toContain(s)
      expect(run.stderr).not.toContain(s)
      expect(run.summary).not.toContain(s)
      expect(JSON.stringify(run.outputs)).not.toContain(s)
      expect(sent).not.toContain(s)
    }
    expect(run.stdout).toContain(`::add-mask::${PASSWORD}`)
  }

  it('refuses destination artifact without the runner artifact service, before dumping anything', async () => {
    const run = await backup({ destination: 'artifact' })
    expect(run.code).toBe(1)
    expect(run.errors).toEqual([
      expect.stringMatching(
        /^db-backup: Input 'destination' is 'artifact', but this run has no GitHub artifact service/
      )
    ])
    expect(run.outputs).toMatchObject({ path: '', verified: 'false', 'artifact-id': '' })
    expect(readdirSync(out)).toEqual([])
    expect(github.issues).toHaveLength(0)
  })

  it('custom format round trip with the restore drill; a pg_restore of the file has identical row counts', async () => {
    const drill = await scratch()
    const run = await backup({ 'restore-test-url': drill.url })
    expect(run.errors).toEqual([])
    expect(run.code).toBe(0)
    const file = path.join(out, 'nightly.dump')
    expect(run.outputs).toMatchObject({
      path: file,
      encrypted: 'false',
      verified: 'true',
      'server-version': expect.stringMatching(/^\d+\.\d+/),
      'pg-dump-version': expect.stringMatching(/^\d+\.\d+/),
      sha256: createHash('sha256').update(readFileSync(file)).digest('hex'),
      'size-bytes': String(readFileSync(file).length),
      'artifact-id': ''
    })
    expect(Number(run.outputs['restore-seconds'])).toBeGreaterThan(0)
    expect(Number(run.outputs['duration-seconds'])).toBeGreaterThan(0)
    expect(readdirSync(out)).toEqual(['nightly.dump'])
    // The drill empties its scratch database again.
    expect(await counts(drill.url)).toEqual({})
    expect(run.summary).toContain('every table and row count matches the source')
    expect(run.summary).toContain(
      'pg_restore --no-owner --no-acl --exit-on-error --dbname="$TARGET_DATABASE_URL" nightly.dump'
    )
    expect(run.summary.trim().split('\n').at(-1)).toMatch(/^✅ verified backup nightly\.dump/)

    const target = await scratch()
    execFileSync('pg_restore', ['--no-owner', '--exit-on-error', `--dbname=${target.url}`, file])
    expect(await counts(target.url)).toEqual(EXPECTED)
    const [row] = await query<{ v: string }>(
      target.url,
      `SELECT "x y" AS v FROM "Odd Schema"."weird name" WHERE "Ünïcode" = 2`
    )
    expect(row.v).toBe('new\nline')
    expectNoSecrets(run)
    expect(github.writes()).toBe(0)
  })

  it('exclude-table and extra-args narrow the dump; the drill compares what was dumped', async () => {
    const drill = await scratch()
    const run = await backup({
      'exclude-table': 'public.select',
      'extra-args': '--exclude-table-data=users --no-comments',
      'restore-test-url': drill.url
    })
    expect(run.errors).toEqual([])
    expect(run.outputs.verified).toBe('true')
    const list = execFileSync('pg_restore', ['--list', run.outputs.path]).toString()
    expect(list).not.toContain('TABLE public select ')
    expect(list).toContain('TABLE public users ')
    expect(list).not.toContain('TABLE DATA public users ')
    expect(run.summary).toContain('every table and row count matches the source')
  })

  it('the drill refuses a scratch database that is not empty, and leaves it untouched', async () => {
    const busy = await scratch()
    await query(busy.url, 'CREATE TABLE keep_me (id int); INSERT INTO keep_me VALUES (1)')
    const run = await backup({ 'restore-test-url': busy.url })
    expect(run.code).not.toBe(0)
    expect(run.errors.join('\n')).toMatch(/is not empty \(1 table\(s\), e\.g\. public\.keep_me\)/)
    expect(await counts(busy.url)).toEqual({ 'public.keep_me': 1 })
    expect(readdirSync(out)).toEqual([])
  })

  it('age: the age command line decrypts the backup and it restores; no dump bytes in the file', async () => {
    const key = path.join(out, '..', `${path.basename(out)}.key`)
    execFileSync('age-keygen', ['-o', key], { stdio: 'ignore' })
    const recipient = execFileSync('age-keygen', ['-y', key]).toString().trim()
    const other = execFileSync('sh', ['-c', 'age-keygen 2>/dev/null | age-keygen -y'])
      .toString()
      .trim()
    try {
      const run = await backup({ recipients: `${recipient}\n${other}` })
      expect(run.errors).toEqual([])
      expect(run.outputs).toMatchObject({
        encrypted: 'age',
        verified: 'true',
        path: path.join(out, 'nightly.dump.age')
      })
      const bytes = readFileSync(run.outputs.path)
      expect(bytes.subarray(0, 21).toString()).toBe('age-encryption.org/v1')
      expect(bytes.includes(Buffer.from('PGDMP'))).toBe(false)
      expect(bytes.includes(Buffer.from('user1@example.com'))).toBe(false)
      expect(run.summary).toContain('age -d -i key.txt nightly.dump.age | pg_restore')
      const target = await scratch()
      execSync(
        `age -d -i ${key} ${run.outputs.path} | pg_restore --no-owner --exit-on-error --dbname='${target.url}'`
      )
      expect(await counts(target.url)).toEqual(EXPECTED)
    } finally {
      rmSync(key, { force: true })
    }
  })

  it('passphrase: openssl enc -d decrypts the plain gzip backup and psql restores it; secrets never shown', async () => {
    const passphrase = 'correct horse battery staple 42'
    const drill = await scratch()
    const run = await backup({
      passphrase,
      format: 'plain',
      'pbkdf2-iterations': '200000',
      'restore-test-url': drill.url
    })
    expect(run.errors).toEqual([])
    expect(run.outputs).toMatchObject({
      encrypted: 'openssl',
      verified: 'true',
      path: path.join(out, 'nightly.sql.gz.enc')
    })
    const bytes = readFileSync(run.outputs.path)
    expect(bytes.subarray(0, 8).toString()).toBe('Salted__')
    expect(bytes.includes(Buffer.from('PostgreSQL database dump'))).toBe(false)
    expect(bytes.subarray(16, 18).equals(Buffer.from([0x1f, 0x8b]))).toBe(false)
    const command =
      'openssl enc -d -aes-256-cbc -pbkdf2 -iter 200000 -md sha256 -pass env:BACKUP_PASSPHRASE -in nightly.sql.gz.enc | gunzip | psql'
    expect(run.summary).toContain(command)
    const target = await scratch()
    execSync(
      `openssl enc -d -aes-256-cbc -pbkdf2 -iter 200000 -md sha256 -pass env:BACKUP_PASSPHRASE -in ${run.outputs.path} | gunzip | psql -X -q -v ON_ERROR_STOP=1 '${target.url}'`,
      {
        env: { ...process.env, BACKUP_PASSPHRASE: passphrase },
        stdio: ['ignore', 'ignore', 'pipe']
      }
    )
    expect(await counts(target.url)).toEqual(EXPECTED)
    expectNoSecrets(run, passphrase)
  })

  /** A bin folder whose pg_dump writes part of a dump, then fails as a bad password does. */
  function failingBin(): string {
    const dir = path.join(out, '..', `${path.basename(out)}-bin`)
    mkdirSync(dir, { recursive: true })
    writeFileSync(
      path.join(dir, 'pg_dump'),
      [
        '#!/bin/sh',
        'if [ "$1" = "--version" ]; then echo "pg_dump (PostgreSQL) 99.1"; exit 0; fi',
        'printf "PGDMP partial output"',
        `echo "pg_dump: error: connection to server at \\"127.0.0.1\\", port 5432 failed: FATAL:  password authentication failed for user \\"postgres\\"" >&2`,
        'exit 1',
        ''
      ].join('\n')
    )
    chmodSync(path.join(dir, 'pg_dump'), 0o755)
    symlinkSync(execSync('command -v pg_restore').toString().trim(), path.join(dir, 'pg_restore'))
    return dir
  }

  it('a failing pg_dump leaves no file, says why, opens one SEV3 incident, SEV2 after consecutive failures; success closes it', async () => {
    const bin = failingBin()
    try {
      const first = await backup({ 'pg-dump-path': bin, 'consecutive-failures': '2' })
      expect(first.code).not.toBe(0)
      expect(readdirSync(out)).toEqual([])
      expect(first.outputs).toMatchObject({
        verified: 'false',
        path: '',
        sha256: '',
        'size-bytes': '',
        'pg-dump-version': '99.1'
      })
      expect(first.errors.join('\n')).toContain('password authentication failed for user')
      expect(first.errors.join('\n')).toContain('no verified backup (SEV3)')
      expect(github.openIssues()).toHaveLength(1)
      const issue = github.openIssues()[0]
      expect(issue.title).toMatch(
        /^\[SEV3\] production: db-backup failed for postgres@127\.0\.0\.1:5432\/shipgate_t_\w+: no verified backup/
      )
      expect(issue.body).toContain(
        `<!-- shipgate:incident db-backup/production/postgres@127.0.0.1:5432/${source.name} -->`
      )
      expect(issue.body).toContain('password authentication failed')
      expect(first.outputs['issue-number']).toBe(String(issue.number))

      const second = await backup({ 'pg-dump-path': bin, 'consecutive-failures': '2' })
      expect(second.errors.join('\n')).toContain('no verified backup (SEV2)')
      expect(github.openIssues()).toHaveLength(1)
      expect(github.openIssues()[0].labels.map(l => l.name)).toContain('sev2')
      expect(readdirSync(out)).toEqual([])

      const fixed = await backup({ 'consecutive-failures': '2' })
      expect(fixed.code).toBe(0)
      expect(github.openIssues()).toHaveLength(0)
      expect(github.issues).toHaveLength(1)
      expect(github.issues[0].state).toBe('closed')
      expect(fixed.outputs['issue-number']).toBe(String(issue.number))
      for (const run of [first, second, fixed]) expectNoSecrets(run)
    } finally {
      rmSync(bin, { recursive: true, force: true })
    }
  })

  it('a cancelled run stops pg_dump, removes the partial file and opens no incident', async () => {
    const bin = path.join(out, '..', `${path.basename(out)}-slow`)
    mkdirSync(bin, { recursive: true })
    writeFileSync(
      path.join(bin, 'pg_dump'),
      '#!/bin/sh\nif [ "$1" = "--version" ]; then echo "pg_dump (PostgreSQL) 99.1"; exit 0; fi\nprintf "PGDMP partial"\nexec sleep 30\n'
    )
    chmodSync(path.join(bin, 'pg_dump'), 0o755)
    symlinkSync(execSync('command -v pg_restore').toString().trim(), path.join(bin, 'pg_restore'))
    try {
      const run = await runAction(
        'db-backup',
        {
          'database-url': withPassword(source.url),
          destination: 'path',
          'output-dir': out,
          'pg-dump-path': bin
        },
        { token: github.token, env: { GITHUB_API_URL: github.url }, cancelAfterMs: 2500 }
      )
      expect(run.code).not.toBe(0)
      expect(run.stdout).toContain('cancelled')
      expect(run.outputs.verified).toBe('false')
      // What was known when it stopped is still reported.
      expect(run.outputs).toMatchObject({
        path: '',
        'pg-dump-version': '99.1',
        'server-version': expect.stringMatching(/^\d+\.\d+/),
        'duration-seconds': expect.stringMatching(/^\d+\.\d$/)
      })
      expect(readdirSync(out)).toEqual([])
      expect(github.writes()).toBe(0)
    } finally {
      rmSync(bin, { recursive: true, force: true })
    }
  })

  it('a missing database leaves no file and reports the cause', async () => {
    const run = await runAction(
      'db-backup',
      {
        'database-url': withPassword(source.url.replace(source.name, `${source.name}_gone`)),
        destination: 'path',
        'output-dir': out
      },
      { token: github.token, env: { GITHUB_API_URL: github.url } }
    )
    expect(run.code).not.toBe(0)
    expect(readdirSync(out)).toEqual([])
    expect(run.errors.join('\n')).toMatch(/Database "shipgate_t_\w+_gone" does not exist/)
    expect(run.outputs.verified).toBe('false')
    expect(github.openIssues()).toHaveLength(1)
    expectNoSecrets(run)
  })

  it('an older pg_dump is refused with the version needed', async () => {
    const bin = path.join(out, '..', `${path.basename(out)}-old`)
    mkdirSync(bin, { recursive: true })
    for (const p of ['pg_dump', 'pg_restore']) {
      writeFileSync(path.join(bin, p), `#!/bin/sh\necho "${p} (PostgreSQL) 9.6.24"\n`)
      chmodSync(path.join(bin, p), 0o755)
    }
    try {
      const run = await backup({ 'pg-dump-path': bin, 'install-client': 'false' })
      expect(run.code).not.toBe(0)
      expect(run.errors.join('\n')).toMatch(
        /needs pg_dump \d+ or newer; found .*pg_dump \(pg_dump 9\.6\.24\)/
      )
      expect(run.outputs['server-version']).toMatch(/^\d+/)
      expect(readdirSync(out)).toEqual([])
    } finally {
      rmSync(bin, { recursive: true, force: true })
    }
  })

  it('the drill refuses the source under another name (localhost, ?dbname=) and leaves it whole', async () => {
    // A source with no tables: only the object check stands between the drill and its DROP SCHEMA.
    const bare = await scratch()
    await query(bare.url, 'CREATE FUNCTION keep_me() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$')
    const aliases = [
      bare.url.replace('127.0.0.1', 'localhost'),
      bare.url.replace(`/${bare.name}?`, `/?dbname=${bare.name}&`)
    ]
    for (const alias of aliases) {
      const run = await backup({ 'database-url': bare.url, 'restore-test-url': alias })
      expect(run.code).not.toBe(0)
      expect(run.errors.join('\n')).toContain('points at the database being backed up')
      expect(run.outputs.verified).toBe('false')
      expect(await query(bare.url, 'SELECT keep_me() AS v')).toEqual([{ v: 1 }])
    }
    expect(readdirSync(out)).toEqual([])
  })

  it('the drill refuses a scratch database holding functions or types but no table, and leaves them', async () => {
    const busy = await scratch()
    await query(
      busy.url,
      "CREATE FUNCTION keep_me() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$; CREATE TYPE mood AS ENUM ('ok')"
    )
    const run = await backup({ 'restore-test-url': busy.url })
    expect(run.code).not.toBe(0)
    expect(run.errors.join('\n')).toMatch(
      /is not empty \(2 object\(s\), e\.g\. (function public\.keep_me|type public\.mood)\)/
    )
    expect(await query(busy.url, "SELECT keep_me() AS v, 'ok'::mood::text AS m")).toEqual([
      { v: 1, m: 'ok' }
    ])
    expect(readdirSync(out)).toEqual([])
  })

  it('the drill restores into a scratch database whose name pg_restore would read as a connection string', async () => {
    const name = `shipgate_t_dbname=${path.basename(out).slice(-6)}`
    const admin = source.url.replace(`/${source.name}?`, '/postgres?')
    await query(admin, `CREATE DATABASE "${name}"`)
    try {
      const url = source.url
        .replace(`/${source.name}?`, `/${encodeURIComponent(name)}?`)
        .replace('postgres@', 'postgres:drill%2Fpw%3Dsecret@')
      const run = await backup({ 'restore-test-url': url })
      expect(run.errors).toEqual([])
      expectNoSecrets(run, 'drill/pw=secret', 'drill%2Fpw%3Dsecret')
      expect(run.outputs.verified).toBe('true')
      expect(run.summary).toContain('every table and row count matches the source')
    } finally {
      await query(admin, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
    }
  })

  describe('artifact upload (fake results service)', () => {
    let results: FakeResults
    beforeEach(async () => {
      results = await new FakeResults().start()
    })
    afterEach(async () => {
      await results.stop()
    })

    it('uploads the verified file as is; warns when a public repository gets an unencrypted backup', async () => {
      const event = path.join(out, '..', `${path.basename(out)}-event.json`)
      writeFileSync(
        event,
        JSON.stringify({
          repository: { full_name: 'acme/shop', private: false, visibility: 'public' }
        })
      )
      results.failBlobWrites = 1
      try {
        const run = await backup(
          { destination: 'artifact', 'retention-days': '3' },
          { ...results.env(), GITHUB_EVENT_PATH: event }
        )
        expect(run.errors).toEqual([])
        expect(run.code).toBe(0)
        const [artifact] = results.artifacts
        expect(artifact).toMatchObject({ name: 'nightly.dump', finalized: true })
        expect(run.outputs['artifact-id']).toBe(String(artifact.id))
        expect(createHash('sha256').update(artifact.content!).digest('hex')).toBe(
          run.outputs.sha256
        )
        const days = (Date.parse(artifact.expiresAt!) - Date.now()) / 86_400_000
        expect(days).toBeGreaterThan(2.9)
        expect(days).toBeLessThan(3.1)
        expect(results.requests.map(r => r.path.split('/').pop())).toEqual(
          expect.arrayContaining(['CreateArtifact', 'FinalizeArtifact'])
        )
        expect(run.stdout).toMatch(
          /::warning::The backup is not encrypted and this repository is public/
        )
        expect(run.summary).toContain(`gh run download 4242 --repo acme/shop --name nightly.dump`)
        expectNoSecrets(run)
      } finally {
        rmSync(event, { force: true })
      }
    })

    it('a run cancelled while the upload is under way keeps no file and reports nothing verified', async () => {
      results.holdBlobWrites = true
      const run = await runAction(
        'db-backup',
        {
          'database-url': withPassword(source.url),
          'output-dir': out,
          name: 'nightly'
        },
        {
          token: github.token,
          env: { GITHUB_API_URL: github.url, ...results.env() },
          onStart: signal => (results.onBlobWrite = () => signal('SIGINT'))
        }
      )
      expect(run.code).not.toBe(0)
      expect(run.stdout).toContain('cancelled')
      expect(run.outputs).toMatchObject({ verified: 'false', path: '', 'artifact-id': '' })
      expect(readdirSync(out)).toEqual([])
      expect(results.artifacts.filter(a => a.finalized)).toEqual([])
      expect(github.writes()).toBe(0)
    })

    it('an upload the service refuses fails the run and opens an incident, without a warning for encrypted backups', async () => {
      const run = await backup(
        { destination: 'artifact', passphrase: 'another long passphrase' },
        { ...results.env(), ACTIONS_RUNTIME_TOKEN: 'x.eyJzY3AiOiJBY3Rpb25zLlJlc3VsdHM6YTpiIn0.y' }
      )
      expect(run.code).not.toBe(0)
      expect(run.outputs['artifact-id']).toBe('')
      // Verified but not delivered: no file keeps the backup's name, and no output says verified.
      expect(run.outputs).toMatchObject({ verified: 'false', path: '', sha256: '' })
      expect(readdirSync(out)).toEqual([])
      expect(run.errors.join('\n')).toContain('failed while uploading the verified backup')
      expect(run.stdout).not.toContain('The backup is not encrypted')
      expect(github.openIssues()[0].title).toContain('backup not uploaded')
    })
  })
})
