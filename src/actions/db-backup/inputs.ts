import path from 'node:path'
import { z } from 'zod'
import { ConfigurationError } from '../../runtime/errors.js'
import {
  bool,
  field,
  integer,
  list,
  oneOf,
  readInputs,
  secret,
  text
} from '../../runtime/inputs.js'
import { addSecret, addUrlSecrets } from '../../runtime/redact.js'
import { parseDatabaseUrl } from '../../providers/postgres/client.js'
import { commonFields, commonInputs, type CommonInputs } from '../../engines/incident/inputs.js'
import { parseExtraArgs, type ExtraArgs } from './engine/args.js'

/** A postgres:// URL; its password is masked (raw, encoded, decoded) before anything else. */
function databaseUrl(what: string, optional: boolean) {
  return z.string().transform((raw, ctx) => {
    if (raw === '' && optional) return ''
    addSecret(raw)
    addUrlSecrets(raw)
    let ok = false
    try {
      const u = new URL(raw)
      addSecret(u.password)
      ok = u.protocol === 'postgres:' || u.protocol === 'postgresql:'
    } catch {
      ok = false
    }
    if (!ok) {
      ctx.addIssue({
        code: 'custom',
        message: `expected ${what} (postgres://user:password@host:5432/database; percent-encode special characters in the password)`
      })
      return z.NEVER
    }
    return raw
  })
}

const AGE_RECIPIENT = /^age1(?:pq1|tag1|tagpq1)?[02-9ac-hj-np-z]{50,}$/

function recipients() {
  return z.string().transform((raw, ctx) => {
    const keys = raw
      .split(/[\s,]+/)
      .map(k => k.trim())
      .filter(k => k && !k.startsWith('#'))
    // A secret key pasted by mistake is masked before anything can print it.
    for (const k of keys) if (/^AGE-SECRET-KEY-/i.test(k)) addSecret(k)
    const bad = keys.findIndex(k => !AGE_RECIPIENT.test(k))
    if (bad >= 0 && /^AGE-SECRET-KEY-/i.test(keys[bad])) {
      ctx.addIssue({
        code: 'custom',
        message: `item ${bad + 1} is an age SECRET key: give its public key (age-keygen -y key.txt prints it) and keep the secret key out of the workflow`
      })
      return z.NEVER
    }
    if (bad >= 0) {
      ctx.addIssue({
        code: 'custom',
        message: `item ${bad + 1} (${JSON.stringify(keys[bad].slice(0, 20))}...) is not an age public key; expected one or more age1... recipients (age-keygen -y key.txt prints yours), never a secret key`
      })
      return z.NEVER
    }
    return keys
  })
}

function backupName() {
  return z.string().refine(v => v === '' || /^[A-Za-z0-9][A-Za-z0-9._-]{0,150}$/.test(v), {
    message:
      "expected a file name of letters, digits, '.', '_' or '-' (at most 151 characters, no slash)"
  })
}

export const spec = {
  'database-url': secret(databaseUrl('a Postgres connection URL', false)),
  format: field(oneOf(['custom', 'plain'] as const, 'custom')),
  'schema-only': field(bool(false)),
  'data-only': field(bool(false)),
  'exclude-table': field(list()),
  'extra-args': field(text()),
  recipients: field(recipients()),
  passphrase: secret(text()),
  'pbkdf2-iterations': field(integer(600000, 10000, 10_000_000)),
  'pg-dump-path': field(text()),
  'install-client': field(bool(true)),
  'restore-test-url': secret(databaseUrl('a scratch database URL', true)),
  destination: field(oneOf(['artifact', 'path'] as const, 'artifact')),
  'output-dir': field(text()),
  name: field(backupName()),
  'retention-days': field(integer(7, 1, 90)),
  'consecutive-failures': field(integer(3, 1, 1000)),
  ...commonFields()
}

export type Encryption = 'age' | 'openssl' | 'false'

export interface BackupInputs extends CommonInputs {
  databaseUrl: string
  format: 'custom' | 'plain'
  schemaOnly: boolean
  dataOnly: boolean
  excludeTables: string[]
  extra: ExtraArgs
  encryption: Encryption
  recipients: string[]
  passphrase: string
  iterations: number
  pgDumpPath: string
  installClient: boolean
  restoreTestUrl: string
  destination: 'artifact' | 'path'
  /** Absolute directory the backup is written to. */
  outputDir: string
  /** The file name without extension. */
  name: string
  retentionDays: number
  consecutiveFailures: number
}

/** Reads and checks every input; `workspace` resolves a relative output-dir, `temp` is its default. */
export function getInputs(
  paths: { workspace: string; temp: string },
  now: Date,
  read: (name: string) => string,
  debug?: (message: string) => void
): BackupInputs {
  const v = readInputs(spec, read, debug)
  if (v['schema-only'] && v['data-only'])
    throw new ConfigurationError(
      "Inputs 'schema-only' and 'data-only' are both true: choose one (or neither for a full backup)"
    )
  if (v.recipients.length && v.passphrase)
    throw new ConfigurationError(
      "Inputs 'recipients' and 'passphrase' are both set: choose one (recipients, age public keys, are recommended)"
    )
  if (v['data-only'] && v['restore-test-url'])
    throw new ConfigurationError(
      "Input 'restore-test-url' cannot check a 'data-only' backup: it restores into an empty database, which has no tables to load the data into"
    )
  const extra = parseExtraArgs(v['extra-args'])
  if (typeof extra === 'string')
    throw new ConfigurationError(
      `Input 'extra-args' has an invalid value ${JSON.stringify(v['extra-args'].slice(0, 80))}: ${extra}`
    )
  // A plain script replays these as written: --create reconnects (\connect) to the source's name
  // and CREATE DATABASE fails in one transaction; --clean without --if-exists fails on an empty one.
  const clean = extra.args.some(a => a === '-c' || a === '--clean')
  if (v.format === 'plain' && extra.args.some(a => a === '-C' || a === '--create'))
    throw new ConfigurationError(
      "Input 'extra-args' has --create, which a plain backup cannot restore into another database: use format 'custom' (pg_restore --create decides at restore time)"
    )
  if (v.format === 'plain' && clean && !extra.args.includes('--if-exists'))
    throw new ConfigurationError(
      "Input 'extra-args' has --clean without --if-exists: the plain backup would fail to restore into an empty database; add --if-exists"
    )
  if (v['restore-test-url'] && sameDatabase(v['restore-test-url'], v['database-url']))
    throw new ConfigurationError(
      "Input 'restore-test-url' (secret, not shown) points at the database being backed up: give a scratch database the drill may fill and empty"
    )
  const common = commonInputs(v)
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')
  return {
    ...common,
    databaseUrl: v['database-url'],
    format: v.format,
    schemaOnly: v['schema-only'],
    dataOnly: v['data-only'],
    excludeTables: v['exclude-table'],
    extra,
    encryption: v.recipients.length ? 'age' : v.passphrase ? 'openssl' : 'false',
    recipients: v.recipients,
    passphrase: v.passphrase,
    iterations: v['pbkdf2-iterations'],
    pgDumpPath: v['pg-dump-path'],
    installClient: v['install-client'],
    restoreTestUrl: v['restore-test-url'],
    destination: v.destination,
    outputDir: path.resolve(paths.workspace, v['output-dir'] || paths.temp),
    name: v.name || `${common.environment}-${stamp}`,
    retentionDays: v['retention-days'],
    consecutiveFailures: v['consecutive-failures']
  }
}

/** Whether two URLs name one database as libpq resolves them (host, port, dbname and user params). */
function sameDatabase(a: string, b: string): boolean {
  const key = (url: string): string | undefined => {
    try {
      const t = parseDatabaseUrl(url)
      const host = t.host.toLowerCase()
      const local =
        host === 'localhost' || host === '::1' || /^127\./.test(host) || host.startsWith('/')
      return `${local ? 'local' : host}:${t.port}/${t.database}`
    } catch {
      return undefined
    }
  }
  const ka = key(a)
  return ka !== undefined && ka === key(b)
}

/** The file's extension: the format's, then the encryption's. */
export function extension(format: BackupInputs['format'], encryption: Encryption): string {
  const base = format === 'custom' ? '.dump' : '.sql.gz'
  return base + (encryption === 'age' ? '.age' : encryption === 'openssl' ? '.enc' : '')
}

export const OUTPUTS = {
  path: '',
  'size-bytes': '',
  sha256: '',
  encrypted: 'false',
  'server-version': '',
  'pg-dump-version': '',
  verified: 'false',
  'restore-seconds': '',
  'artifact-id': '',
  'duration-seconds': '',
  'issue-number': '',
  'issue-url': ''
}
