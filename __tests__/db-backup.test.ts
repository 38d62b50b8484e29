// db-backup engine pieces against the real tools of this machine: pg_dump,
// pg_restore, openssl and age; client selection against fake bin folders.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createWriteStream } from 'node:fs'
import { parseExtraArgs, splitWords, tablePattern } from '../src/actions/db-backup/engine/args.js'
import {
  candidates,
  findClient,
  installSteps,
  noClientError,
  parseClientVersion
} from '../src/actions/db-backup/engine/client.js'
import { DumpError, dumpToFile, pgEnv } from '../src/actions/db-backup/engine/dump.js'
import {
  ageDecrypter,
  ageEncrypter,
  opensslDecrypter,
  opensslEncrypter
} from '../src/actions/db-backup/engine/encrypt.js'
import { verifyBackup } from '../src/actions/db-backup/engine/verify.js'
import { parseDatabaseUrl } from '../src/providers/postgres/client.js'
import { getInputs } from '../src/actions/db-backup/inputs.js'
import { ConfigurationError } from '../src/runtime/errors.js'
import { redact } from '../src/runtime/redact.js'
import { createDb, query, type TestDb } from './db-migrate/helpers.js'

const work = mkdtempSync(path.join(tmpdir(), 'shipgate-dbb-unit-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

/** A fake PostgreSQL bin folder whose programs print `version`. */
function fakeBin(
  name: string,
  version: string,
  programs = ['pg_dump', 'pg_restore', 'psql']
): string {
  const dir = path.join(work, name, 'bin')
  mkdirSync(dir, { recursive: true })
  for (const p of programs) {
    writeFileSync(path.join(dir, p), `#!/bin/sh\necho "${p} (PostgreSQL) ${version}"\n`)
    chmodSync(path.join(dir, p), 0o755)
  }
  return dir
}

describe('pg_dump selection (fake bin folders)', () => {
  it('parses client versions, old and new numbering', () => {
    expect(parseClientVersion('pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)')).toEqual({
      version: '15.20',
      major: 15
    })
    expect(parseClientVersion('pg_dump (PostgreSQL) 9.6.24')).toEqual({
      version: '9.6.24',
      major: 9
    })
    expect(parseClientVersion('pg_dump (PostgreSQL) 17beta1')).toEqual({ version: '17', major: 17 })
    expect(parseClientVersion('something else')).toBeUndefined()
  })

  it('takes the first pg_dump on PATH at least as new as the server, skipping older ones', async () => {
    const old = fakeBin('path-old', '14.11')
    const good = fakeBin('path-good', '16.2')
    const r = await findClient(15, {
      pathEnv: [old, good].join(':'),
      libDir: path.join(work, 'nolib')
    })
    expect(r.client).toMatchObject({
      pgDump: path.join(good, 'pg_dump'),
      version: '16.2',
      major: 16
    })
    expect(r.found.map(f => f.version)).toEqual(['14.11', '16.2'])
  })

  it('falls back to /usr/lib/postgresql/<major>/bin, then the newest there', async () => {
    const lib = path.join(work, 'lib')
    fakeBin('lib/13', '13.9')
    fakeBin('lib/17', '17.1')
    const old = fakeBin('path-old2', '12.1')
    expect(candidates(16, { pathEnv: old, libDir: lib })).toEqual([
      path.join(old, 'pg_dump'),
      path.join(lib, '16', 'bin', 'pg_dump'),
      path.join(lib, '17', 'bin', 'pg_dump'),
      path.join(lib, '13', 'bin', 'pg_dump')
    ])
    const r = await findClient(16, { pathEnv: old, libDir: lib })
    expect(r.client?.pgDump).toBe(path.join(lib, '17', 'bin', 'pg_dump'))
  })

  it("skips Debian's pg_wrapper on PATH for the versioned programs", async () => {
    const dir = path.join(work, 'wrapper', 'bin')
    mkdirSync(dir, { recursive: true })
    writeFileSync(path.join(dir, 'pg_wrapper'), '#!/bin/sh\necho "pg_dump (PostgreSQL) 18.0"\n')
    chmodSync(path.join(dir, 'pg_wrapper'), 0o755)
    symlinkSync('pg_wrapper', path.join(dir, 'pg_dump'))
    const lib = path.join(work, 'wlib')
    fakeBin('wlib/16', '16.4')
    expect(candidates(16, { pathEnv: dir, libDir: lib })).toEqual([
      path.join(lib, '16', 'bin', 'pg_dump')
    ])
    expect((await findClient(16, { pathEnv: dir, libDir: lib })).client?.version).toBe('16.4')
  })

  it('needs pg_restore beside pg_dump', async () => {
    const lone = fakeBin('lone', '16.0', ['pg_dump'])
    const r = await findClient(15, { pathEnv: lone, libDir: path.join(work, 'nolib') })
    expect(r.client).toBeUndefined()
  })

  it('refuses an older client with a message saying what is needed and how to get it', async () => {
    const old = fakeBin('only-old', '14.11')
    const r = await findClient(15, { pathEnv: old, libDir: path.join(work, 'nolib') })
    expect(r.client).toBeUndefined()
    const e = noClientError(15, '15.20', r.found, { installTried: false })
    expect(e).toBeInstanceOf(ConfigurationError)
    expect(e.message).toContain('PostgreSQL 15.20, which needs pg_dump 15 or newer')
    expect(e.message).toContain(`${path.join(old, 'pg_dump')} (pg_dump 14.11)`)
    expect(e.message).toContain('install-client: true')
    expect(e.message).toContain('postgresql-client-15')
  })

  it('uses pg-dump-path alone (a directory or the program) and says when it is too old', async () => {
    const dir = fakeBin('explicit', '13.2')
    const newer = fakeBin('explicit-new', '16.1')
    expect((await findClient(15, { pgDumpPath: newer, pathEnv: dir })).client?.version).toBe('16.1')
    const r = await findClient(15, { pgDumpPath: path.join(dir, 'pg_dump'), pathEnv: newer })
    expect(r.client).toBeUndefined()
    expect(
      noClientError(15, '15.20', r.found, { pgDumpPath: dir, installTried: false }).message
    ).toContain("point 'pg-dump-path' at a pg_dump 15 or newer")
  })

  it('installs from apt.postgresql.org with sudo when not root', () => {
    const steps = installSteps(17, { root: false, codename: 'noble' })
    expect(steps.every(s => s[0] === 'sudo' && s[1] === '-n')).toBe(true)
    expect(steps.at(-1)).toContain('postgresql-client-17')
    expect(steps.map(s => s.join(' ')).join('\n')).toContain(
      'https://apt.postgresql.org/pub/repos/apt noble-pgdg main'
    )
    expect(installSteps(17, { root: true, codename: 'noble' }).some(s => s[0] === 'sudo')).toBe(
      false
    )
  })
})

describe('inputs', () => {
  const read = (values: Record<string, string>) => (name: string) => values[name] ?? ''
  const paths = { workspace: work, temp: path.join(work, 'temp') }
  const now = new Date('2026-01-02T03:04:05.678Z')
  const base = { 'database-url': 'postgres://u:p%40ss@db.example.com:5432/app' }

  it('defaults: custom, no encryption, the temp dir, <environment>-<UTC timestamp>', () => {
    const i = getInputs(paths, now, read(base))
    expect(i).toMatchObject({
      format: 'custom',
      encryption: 'false',
      outputDir: paths.temp,
      name: 'production-20260102T030405Z',
      iterations: 600000,
      retentionDays: 7,
      consecutiveFailures: 3,
      destination: 'artifact'
    })
  })

  it('refuses extra-args that change the output, format or connection, naming the option', () => {
    for (const [args, word] of [
      ['-f /tmp/x', '-f is not allowed'],
      ['--format=plain', '--format is not allowed'],
      ['-Fp', '-F is not allowed'],
      ['--dbname=other', '--dbname is not allowed'],
      ['--snapshot=1', '--snapshot is not allowed'],
      ['otherdb', 'is not an option']
    ]) {
      expect(() => getInputs(paths, now, read({ ...base, 'extra-args': args }))).toThrow(word)
    }
    expect(parseExtraArgs("--schema=public -T 'audit log' --no-owner")).toMatchObject({
      args: ['--schema=public', '-T', 'audit log', '--no-owner'],
      selecting: true,
      excludeTables: ['audit log']
    })
    expect(splitWords(`a "b c" 'd"e' f\\ g`)).toEqual(['a', 'b c', 'd"e', 'f g'])
  })

  it('refuses option words smuggled in quotes, combined short flags and control characters', () => {
    for (const [args, word] of [
      ['-vFp', '-v takes no value'],
      ['-xf/tmp/x', '-x takes no value'],
      ['--schema=public\n-f /tmp/x', '-f is not allowed'],
      ['"-f" x', '-f is not allowed'],
      ['-- -f', "'--' is not an option"],
      ['--fil=x', '--fil is not allowed'],
      ["--schema='a\nb'", 'line break or control character'],
      ['--table="a\u0000b"', 'line break or control character']
    ]) {
      expect(() => getInputs(paths, now, read({ ...base, 'extra-args': args }))).toThrow(word)
    }
    // A value with spaces stays one argument: a pattern, never an option.
    expect(parseExtraArgs('--schema "public -f /tmp/x"')).toMatchObject({
      args: ['--schema', 'public -f /tmp/x']
    })
  })

  it('refuses --create, and --clean without --if-exists, for a plain backup (it would not restore)', () => {
    const plain = { ...base, format: 'plain' }
    expect(() => getInputs(paths, now, read({ ...plain, 'extra-args': '--create' }))).toThrow(
      'has --create'
    )
    expect(() => getInputs(paths, now, read({ ...plain, 'extra-args': '-c' }))).toThrow(
      '--clean without --if-exists'
    )
    expect(
      getInputs(paths, now, read({ ...plain, 'extra-args': '-c --if-exists' })).extra.args
    ).toEqual(['-c', '--if-exists'])
    expect(getInputs(paths, now, read({ ...base, 'extra-args': '--create' })).extra.args).toEqual([
      '--create'
    ])
  })

  it('refuses a restore-test-url that names the source another way', () => {
    for (const url of [
      'postgres://x:y@DB.example.com/app',
      'postgres://x:y@other.example.com/app?host=db.example.com',
      'postgres://x:y@db.example.com:5432/?dbname=app'
    ])
      expect(() => getInputs(paths, now, read({ ...base, 'restore-test-url': url }))).toThrow(
        'points at the database being backed up'
      )
    const local = { 'database-url': 'postgres://u@127.0.0.1:5432/app' }
    expect(() =>
      getInputs(paths, now, read({ ...local, 'restore-test-url': 'postgres://u@localhost/app' }))
    ).toThrow('points at the database being backed up')
    expect(
      getInputs(
        paths,
        now,
        read({ ...local, 'restore-test-url': 'postgres://u@localhost/scratch' })
      ).restoreTestUrl
    ).toContain('scratch')
  })

  it('refuses recipients and passphrase together, secret keys as recipients, and a restore into the source', () => {
    expect(() =>
      getInputs(
        paths,
        now,
        read({
          ...base,
          recipients: 'age1zncuqdgfp7mzjnq2r49pjxl66fwf6aag332uq4yza33xfjtjgc9s6k67pj',
          passphrase: 'x'
        })
      )
    ).toThrow("'recipients' and 'passphrase'")
    // A secret key given as a recipient is refused, and masked wherever the error goes.
    let message = ''
    try {
      getInputs(paths, now, read({ ...base, recipients: 'AGE-SECRET-KEY-1QQQQQQQQ' }))
    } catch (error) {
      message = redact((error as Error).message)
    }
    expect(message).toContain('item 1 is an age SECRET key')
    expect(message).not.toContain('QQQQQQQQ')
    expect(() => getInputs(paths, now, read({ ...base, recipients: 'age1notakey' }))).toThrow(
      'not an age public key'
    )
    expect(() =>
      getInputs(
        paths,
        now,
        read({ ...base, 'restore-test-url': 'postgres://x:y@DB.example.com/app' })
      )
    ).toThrow('points at the database being backed up')
    expect(() =>
      getInputs(paths, now, read({ ...base, 'database-url': 'mysql://u:hunter22@h/db' }))
    ).toThrow(/Input 'database-url' has an invalid value \(secret, not shown\)/)
  })

  it('matches pg_dump table patterns', () => {
    expect(tablePattern('audit*')('public', 'audit_log')).toBe(true)
    expect(tablePattern('public.audit*')('other', 'audit_log')).toBe(false)
    expect(tablePattern('"Odd Schema"."weird name"')('Odd Schema', 'weird name')).toBe(true)
    expect(tablePattern('Users')('public', 'users')).toBe(true)
  })
})

describe('encryption formats (real openssl and age)', () => {
  const data = Buffer.concat([Buffer.from('PGDMP'), Buffer.alloc(300_000, 'abcdefgh')])

  async function encryptTo(file: string, stream: NodeJS.ReadWriteStream): Promise<void> {
    await pipeline(
      Readable.from([data.subarray(0, 100_000), data.subarray(100_000)]),
      stream,
      createWriteStream(file)
    )
  }

  it('writes the OpenSSL Salted__ format that openssl enc -d decrypts, and reads it back', async () => {
    const file = path.join(work, 'x.enc')
    await encryptTo(file, await opensslEncrypter('pässword with spaces', 10000))
    const bytes = readFileSync(file)
    expect(bytes.subarray(0, 8).toString('latin1')).toBe('Salted__')
    expect(bytes.includes(Buffer.from('PGDMP'))).toBe(false)
    const out = execFileSync(
      'openssl',
      [
        'enc',
        '-d',
        '-aes-256-cbc',
        '-pbkdf2',
        '-iter',
        '10000',
        '-md',
        'sha256',
        '-pass',
        'env:PW',
        '-in',
        file
      ],
      { env: { ...process.env, PW: 'pässword with spaces' }, maxBuffer: 1 << 24 }
    )
    expect(out.equals(data)).toBe(true)
    const chunks: Buffer[] = []
    await pipeline(
      Readable.from([bytes]),
      opensslDecrypter('pässword with spaces', 10000),
      async function (src: AsyncIterable<unknown>) {
        for await (const c of src) chunks.push(c as Buffer)
      }
    )
    expect(Buffer.concat(chunks).equals(data)).toBe(true)
    await expect(
      pipeline(
        Readable.from([bytes]),
        opensslDecrypter('wrong', 10000),
        async function (src: AsyncIterable<unknown>) {
          for await (const c of src) void c
        }
      )
    ).rejects.toThrow(/bad decrypt/)
  })

  it('writes age that the age command line decrypts, and decrypts it with the run key', async () => {
    const key = path.join(work, 'age.key')
    execFileSync('age-keygen', ['-o', key], { stdio: 'ignore' })
    const recipient = execFileSync('age-keygen', ['-y', key]).toString().trim()
    const file = path.join(work, 'x.age')
    const age = await ageEncrypter([recipient])
    await encryptTo(file, age.stream)
    const bytes = readFileSync(file)
    expect(bytes.subarray(0, 21).toString()).toBe('age-encryption.org/v1')
    expect(bytes.includes(Buffer.from('PGDMP'))).toBe(false)
    // One stanza: the recipient's; the run's key adds none.
    expect(bytes.toString('latin1').match(/^-> X25519 /gm)).toHaveLength(1)
    const out = execFileSync('age', ['-d', '-i', key, file], { maxBuffer: 1 << 24 })
    expect(out.equals(data)).toBe(true)
    const chunks: Buffer[] = []
    await pipeline(
      Readable.from([bytes]),
      await ageDecrypter(age.fileKey()),
      async function (src: AsyncIterable<unknown>) {
        for await (const c of src) chunks.push(Buffer.from(c as Uint8Array))
      }
    )
    expect(Buffer.concat(chunks).equals(data)).toBe(true)
  })
})

describe('dump and verify (real pg_dump and pg_restore)', () => {
  let db: TestDb
  const client = { pgDump: 'pg_dump', pgRestore: 'pg_restore' }
  beforeAll(async () => {
    db = await createDb()
    await query(
      db.url,
      'CREATE TABLE public.items (id int PRIMARY KEY, note text); INSERT INTO public.items SELECT g, md5(g::text) FROM generate_series(1, 5000) g'
    )
  })
  afterAll(async () => {
    await db.drop()
  })

  const env = (url: string) => pgEnv(process.env, parseDatabaseUrl(url))
  const dump = async (file: string, format: 'custom' | 'plain', encrypt?: NodeJS.ReadWriteStream) =>
    dumpToFile({
      pgDump: client.pgDump,
      args: [`--format=${format}`],
      env: env(db.url),
      gzip: format === 'plain',
      encrypt: encrypt as never,
      file
    })

  it('a tampered or truncated file fails verification; the intact one passes', async () => {
    const file = path.join(work, 'v.dump.enc')
    const passphrase = 'tamper test passphrase'
    const d = await dump(file, 'custom', await opensslEncrypter(passphrase, 10000))
    const opts = {
      file,
      format: 'custom' as const,
      sha256: d.sha256,
      size: d.bytes,
      decrypter: async () => opensslDecrypter(passphrase, 10000),
      pgRestore: client.pgRestore,
      env: env(db.url),
      expected: [{ schema: 'public', name: 'items', kind: 'r' as const, exact: true, bytes: 0 }],
      dataOnly: false
    }
    const ok = await verifyBackup(opts)
    expect(ok.checks.join('\n')).toContain('lists all 1 expected table(s)')

    const bytes = readFileSync(file)
    const flipped = Buffer.from(bytes)
    flipped[Math.floor(bytes.length / 2)] ^= 0x01
    writeFileSync(file, flipped)
    await expect(verifyBackup(opts)).rejects.toThrow(/SHA-256 is [0-9a-f]{64}, not the/)

    writeFileSync(file, bytes)
    truncateSync(file, bytes.length - 100)
    await expect(verifyBackup(opts)).rejects.toThrow(/truncated/)
    // Even with the hash check set aside, a cut file does not decrypt.
    await expect(
      verifyBackup({ ...opts, size: bytes.length - 100, sha256: sha256(file) })
    ).rejects.toThrow(/pg_restore --list failed|bad decrypt/)
  })

  it('a plain dump without its trailer fails verification', async () => {
    const file = path.join(work, 'p.sql.gz')
    const d = await dump(file, 'plain')
    const opts = {
      file,
      format: 'plain' as const,
      sha256: d.sha256,
      size: d.bytes,
      decrypter: async () => undefined,
      pgRestore: client.pgRestore,
      env: env(db.url),
      dataOnly: false
    }
    expect((await verifyBackup(opts)).checks.join('\n')).toContain('dump-complete trailer')
    const cut = execFileSync('sh', ['-c', `gunzip -c ${file} | head -c 2000 | gzip`])
    writeFileSync(file, cut)
    await expect(verifyBackup({ ...opts, size: cut.length, sha256: sha256(file) })).rejects.toThrow(
      /trailer/
    )
  })

  it('a failing pg_dump (missing database) reports the cause from its stderr', async () => {
    const file = path.join(work, 'missing.dump')
    const missing = db.url.replace(db.name, `${db.name}_missing`)
    const e = await dumpToFile({
      pgDump: 'pg_dump',
      args: ['--format=custom'],
      env: env(missing),
      gzip: false,
      file
    }).catch(x => x)
    expect(e).toBeInstanceOf(DumpError)
    expect((e as Error).message).toMatch(
      /pg_dump failed \(exit 1\): .*database "shipgate_t_\w+_missing" does not exist/
    )
    // The caller removes the temporary file (the e2e tests check the output directory).
  })
})

function sha256(file: string): string {
  return execFileSync('sha256sum', [file]).toString().split(' ')[0]
}
