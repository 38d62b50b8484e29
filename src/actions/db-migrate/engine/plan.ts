import { ConfigurationError } from '../../../runtime/errors.js'
import type { LoadedMigration, LocalMigration } from './local.js'

/** A row of `supabase_migrations.schema_migrations`. */
export interface RemoteMigration {
  version: string
  name: string
  /** Null for rows written before the CLI stored statements. */
  statements: string[] | null
}

/** Remote and local history disagree in a way only a human can resolve. */
export class MigrationHistoryError extends ConfigurationError {
  override name = 'MigrationHistoryError'
  constructor(
    message: string,
    readonly kind: 'missing-local' | 'missing-remote',
    readonly versions: string[]
  ) {
    super(message)
  }
}

function missingLocal(versions: string[]): MigrationHistoryError {
  return new MigrationHistoryError(
    [
      `Remote migration versions not found in local migrations directory: ${versions.join(', ')}.`,
      'Make sure your local git repo is up-to-date. If the error persists, repair the migration history table:',
      `  supabase migration repair --status reverted ${versions.join(' ')}`,
      'and update local migrations to match the remote database:',
      '  supabase db pull'
    ].join('\n'),
    'missing-local',
    versions
  )
}

function missingRemote(files: LocalMigration[]): MigrationHistoryError {
  return new MigrationHistoryError(
    [
      'Found local migration files to be inserted before the last migration on remote database:',
      ...files.map(f => `  ${f.file}`),
      "Set `include-all: true` (the CLI's `supabase db push --include-all`) to apply them out of order."
    ].join('\n'),
    'missing-remote',
    files.map(f => f.version)
  )
}

/**
 * Pending migrations by the CLI's rules (`db push`): walks remote versions (as
 * stored, `ORDER BY version`) and local files (sorted by version) with two
 * pointers, comparing versions as strings. A remote version missing locally
 * is an error; a local version older than the newest remote one is an error
 * unless `includeAll`, which applies it before the newer local files.
 */
export function findPending<T extends LocalMigration>(
  local: readonly T[],
  remoteVersions: readonly string[],
  includeAll: boolean
): T[] {
  const notLocal: string[] = []
  const notRemote: T[] = []
  let r = 0
  let l = 0
  while (r < remoteVersions.length && l < local.length) {
    const remote = remoteVersions[r] as string
    const file = local[l] as T
    if (remote === file.version) {
      r++
      l++
    } else if (remote < file.version) {
      notLocal.push(remote)
      r++
    } else {
      notRemote.push(file)
      l++
    }
  }
  if (l === local.length) notLocal.push(...remoteVersions.slice(r))
  if (notLocal.length > 0) throw missingLocal(notLocal)
  if (notRemote.length === 0) return local.slice(remoteVersions.length)
  if (!includeAll) throw missingRemote(notRemote)
  return [...notRemote, ...local.slice(remoteVersions.length + notRemote.length)]
}

export interface DriftWarning {
  version: string
  file: string
  message: string
}

/** Applied files whose statements (or name) differ from the recorded history row. */
export function findDrift(
  local: readonly LoadedMigration[],
  remote: readonly RemoteMigration[]
): DriftWarning[] {
  const byVersion = new Map(remote.map(r => [r.version, r]))
  const out: DriftWarning[] = []
  for (const m of local) {
    const row = byVersion.get(m.version)
    if (row === undefined) continue
    if (row.statements !== null) {
      const diff = firstDifference(m.statements, row.statements)
      if (diff !== undefined) {
        out.push({
          version: m.version,
          file: m.file,
          message: `${m.file} was edited after it was applied: ${diff}`
        })
      }
    }
    if (row.name !== '' && row.name !== m.name) {
      out.push({
        version: m.version,
        file: m.file,
        message: `${m.file} is recorded as "${row.name}" in the migration history`
      })
    }
  }
  return out
}

function firstDifference(
  local: readonly string[],
  recorded: readonly string[]
): string | undefined {
  const n = Math.min(local.length, recorded.length)
  for (let i = 0; i < n; i++) {
    if (local[i] !== recorded[i]) return `statement ${i + 1} differs from the recorded one`
  }
  if (local.length !== recorded.length) {
    return `it has ${local.length} statements, the history recorded ${recorded.length}`
  }
  return undefined
}

// --- statements that cannot run in a transaction block ---

/** The CLI's leading-comment skip: whitespace, BOMs, `--` lines and `/* *\/` blocks. */
export function stripLeadingComments(statement: string): string {
  let s = statement.replace(/^[ \t\n\r]+/u, '')
  while (s.charCodeAt(0) === 0xfeff) s = s.slice(1).replace(/^[ \t\n\r]+/u, '')
  for (;;) {
    if (s.startsWith('--')) {
      const eol = s.indexOf('\n')
      if (eol < 0) return ''
      s = s.slice(eol + 1).replace(/^[ \t\n\r]+/u, '')
    } else if (s.startsWith('/*')) {
      const close = s.indexOf('*/')
      if (close < 0) return s
      s = s.slice(close + 2).replace(/^[ \t\n\r]+/u, '')
    } else {
      return s.trim()
    }
  }
}

/**
 * Statements PostgreSQL refuses inside a transaction block. The CLI (TS port,
 * 2.117.0) runs the first six standalone; the rest are from the Go CLI's
 * `isPipelineIncompatible` and fail in a transaction anyway.
 */
const STANDALONE: readonly RegExp[] = [
  /^CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY(?:\s|$)/u,
  /^DROP\s+INDEX\s+CONCURRENTLY(?:\s|$)/u,
  /^REINDEX(?:\s|\().*\sCONCURRENTLY(?:\s|$)/u,
  /^VACUUM(?:\s|\(|$)/u,
  /^ALTER\s+SYSTEM(?:\s|$)/u,
  /^CLUSTER(?:\s|$)/u,
  /^REINDEX\s+(?:\([^)]*\)\s*)?(?:DATABASE|SYSTEM|SCHEMA)(?:\s|$)/u,
  /^(?:CREATE|DROP)\s+(?:DATABASE|TABLESPACE|SUBSCRIPTION)(?:\s|$)/u,
  /^DISCARD\s+ALL(?:\s|$)/u,
  /^ALTER\s+DATABASE\s+\S+\s+SET\s+TABLESPACE(?:\s|$)/u,
  /^ALTER\s+SUBSCRIPTION\s+\S+\s+(?:REFRESH|SET|ADD|DROP)\s+PUBLICATION(?:\s|$)/u,
  /^ALTER\s+TABLE\s[\s\S]*\sDETACH\s+PARTITION\s[\s\S]*\s(?:CONCURRENTLY|FINALIZE)(?:\s|$)/u
]

export function isPipelineIncompatible(statement: string): boolean {
  const s = stripLeadingComments(statement).toUpperCase()
  return STANDALONE.some(re => re.test(s))
}

const TX_CONTROL = /^(?:BEGIN|START\s+TRANSACTION|COMMIT|END|ABORT|PREPARE\s+TRANSACTION)(?:\s|$)/u

/** BEGIN/COMMIT/... or a ROLLBACK that is not `ROLLBACK TO` (CLI rule). */
export function isTransactionControl(statement: string): boolean {
  const s = stripLeadingComments(statement).toUpperCase()
  const words = s.split(/\s+/u)
  if (words[0] === 'ROLLBACK') {
    const i = words[1] === 'WORK' || words[1] === 'TRANSACTION' ? 2 : 1
    return words[i] !== 'TO'
  }
  return TX_CONTROL.test(s)
}

/**
 * How a file runs:
 * - `transactional`: one transaction, standalone statements flush it (CLI);
 * - `sequential`: the file controls its own transactions, statements run as written;
 * - `none`: `-- pg-delta: transaction=false`, statements run one by one.
 */
export type ExecutionMode = 'transactional' | 'sequential' | 'none'

export interface FilePlan {
  mode: ExecutionMode
  /** 0-based indexes of statements that must run outside a transaction. */
  standalone: number[]
  /** False when a failure can leave part of the file applied. */
  atomic: boolean
}

export function planFile(m: Pick<LoadedMigration, 'mode' | 'statements'>): FilePlan {
  if (m.mode === 'none') return { mode: 'none', standalone: [], atomic: m.statements.length <= 1 }
  if (m.statements.some(isTransactionControl))
    return { mode: 'sequential', standalone: [], atomic: false }
  const standalone = m.statements.flatMap((s, i) => (isPipelineIncompatible(s) ? [i] : []))
  // A standalone statement commits whatever ran before it.
  return { mode: 'transactional', standalone, atomic: standalone.length === 0 }
}

// --- destructive changes ---

export interface DestructiveChange {
  version: string
  file: string
  /** 1-based statement number in the file. */
  statement: number
  kind: string
  text: string
}

/**
 * Blanks comments and string literals so keywords inside them do not count.
 * Quoted identifiers become `"q"`. Dollar-quoted bodies are dropped and
 * returned separately (they are only code that runs now in a DO block).
 */
export function maskSql(sql: string): { text: string; bodies: string[] } {
  let out = ''
  const bodies: string[] = []
  let i = 0
  while (i < sql.length) {
    const ch = sql.charAt(i)
    const two = sql.slice(i, i + 2)
    if (two === '--') {
      const eol = sql.indexOf('\n', i)
      i = eol < 0 ? sql.length : eol
      out += ' '
    } else if (two === '/*') {
      let depth = 0
      while (i < sql.length) {
        const w = sql.slice(i, i + 2)
        if (w === '/*') {
          depth++
          i += 2
        } else if (w === '*/') {
          depth--
          i += 2
          if (depth === 0) break
        } else i++
      }
      out += ' '
    } else if (ch === "'") {
      const escapes = /[eE]$/u.test(out) && !/[\p{L}\p{Nd}_$][eE]$/u.test(out)
      i++
      while (i < sql.length) {
        const c = sql.charAt(i)
        if (escapes && c === '\\') i += 2
        else if (c === "'" && sql.charAt(i + 1) === "'") i += 2
        else if (c === "'") break
        else i++
      }
      i++
      out += "''"
    } else if (ch === '"') {
      const end = sql.indexOf('"', i + 1)
      i = end < 0 ? sql.length : end + 1
      out += '"q"'
    } else if (ch === '$' && !/[\p{L}\p{Nd}_$]$/u.test(out)) {
      const tag = /^\$(?:[\p{L}_][\p{L}\p{Nd}_]*)?\$/u.exec(sql.slice(i))?.[0]
      if (tag === undefined) {
        out += ch
        i++
        continue
      }
      const end = sql.indexOf(tag, i + tag.length)
      bodies.push(sql.slice(i + tag.length, end < 0 ? sql.length : end))
      i = end < 0 ? sql.length : end + tag.length
      out += "''"
    } else {
      out += ch
      i++
    }
  }
  return { text: out, bodies }
}

/** Text outside parentheses, so `WHERE` in a subquery does not count. */
function topLevel(text: string): string {
  let depth = 0
  let out = ''
  for (const ch of text) {
    if (ch === '(') depth++
    else if (ch === ')') depth = Math.max(0, depth - 1)
    else if (depth === 0) out += ch
  }
  return out
}

/** Splits on commas outside parentheses. */
function topLevelList(text: string): string[] {
  const parts: string[] = []
  let depth = 0
  let current = ''
  for (const ch of text) {
    if (ch === '(') depth++
    if (ch === ')') depth = Math.max(0, depth - 1)
    if (ch === ',' && depth === 0) {
      parts.push(current.trim())
      current = ''
    } else current += ch
  }
  parts.push(current.trim())
  return parts
}

/** Contents of the parenthesised groups at depth 1 (CTE bodies of a WITH). */
function topLevelGroups(text: string): string[] {
  const groups: string[] = []
  let depth = 0
  let current = ''
  for (const ch of text) {
    if (ch === ')') {
      depth = Math.max(0, depth - 1)
      if (depth === 0) groups.push(current)
    }
    if (depth > 0) current += ch
    if (ch === '(') {
      if (depth === 0) current = ''
      depth++
    }
  }
  return groups
}

/** Object words after DROP that name the kind of object (two words for these). */
const TWO_WORD_OBJECTS =
  /^DROP ((?:MATERIALIZED|FOREIGN|EVENT|TEXT|OPERATOR|ACCESS|USER|PROCEDURAL) \S+|\S+)/u

/** The main statement after a WITH list: the first top-level DML keyword. */
function afterWithList(s: string): string {
  let depth = 0
  for (let i = 0; i < s.length; i++) {
    const ch = s.charAt(i)
    if (ch === '(') depth++
    else if (ch === ')') depth = Math.max(0, depth - 1)
    else if (depth === 0 && i > 0 && /[\s)]/u.test(s.charAt(i - 1))) {
      if (/^(?:DELETE|UPDATE|INSERT|SELECT|MERGE|VALUES|TABLE)\b/u.test(s.slice(i)))
        return s.slice(i)
    }
  }
  return ''
}

/** A statement starting with WITH: its data-modifying CTE bodies and its main statement. */
function withKinds(s: string): string[] {
  return [...topLevelGroups(s).flatMap(clauseKinds), ...clauseKinds(afterWithList(s))]
}

function clauseKinds(clause: string): string[] {
  const s = clause.replace(/\s+/gu, ' ').trim().toUpperCase()
  const kinds: string[] = []
  if (/^WITH\b/u.test(s)) return withKinds(s)
  const drop = /^DROP (TABLE|SCHEMA|DATABASE|OWNED|MATERIALIZED VIEW|SEQUENCE)\b/u.exec(s)
  if (drop) kinds.push(`DROP ${drop[1]}`)
  // Any other DROP ... CASCADE also drops whatever depends on the object.
  else if (/^DROP\b/u.test(s) && /\bCASCADE\b/u.test(s)) {
    kinds.push(`DROP ${TWO_WORD_OBJECTS.exec(s)?.[1] ?? 'object'} CASCADE`)
  }
  if (/^TRUNCATE\b/u.test(s)) kinds.push('TRUNCATE')
  if (/^DELETE FROM\b/u.test(s) && !/\bWHERE\b/u.test(topLevel(s)))
    kinds.push('DELETE without WHERE')
  if (/^UPDATE\b/u.test(s) && !/\bWHERE\b/u.test(topLevel(s))) kinds.push('UPDATE without WHERE')
  const alter = /^ALTER TABLE (?:IF EXISTS )?(?:ONLY )?\S+ (.*)$/u.exec(s)
  if (alter?.[1] !== undefined) {
    for (const action of topLevelList(alter[1])) {
      if (/^DROP (?!CONSTRAINT\b)/u.test(action)) kinds.push('DROP COLUMN')
      if (/^ALTER (?:COLUMN )?\S+ (?:SET DATA )?TYPE\b/u.test(action))
        kinds.push('ALTER COLUMN TYPE')
    }
  }
  return kinds
}

/** Leading PL/pgSQL block words before a statement inside a DO body. */
const PL_PREFIX = /^(?:\s*(?:BEGIN|LOOP|ELSE|(?:IF|ELSIF|WHEN)\b[\s\S]*?\bTHEN|<<\s*\w+\s*>>)\b)+/iu

/** Destructive kinds found in one statement (including DO block bodies). */
export function destructiveKinds(statement: string): string[] {
  const { text, bodies } = maskSql(statement)
  const kinds = clauseKinds(text)
  if (/^\s*DO\b/iu.test(text)) {
    for (const body of bodies) {
      for (const clause of maskSql(body).text.split(';')) {
        kinds.push(...clauseKinds(clause.replace(PL_PREFIX, '')))
      }
    }
  }
  return [...new Set(kinds)]
}

export function findDestructive(
  migrations: readonly Pick<LoadedMigration, 'version' | 'file' | 'statements'>[]
): DestructiveChange[] {
  const out: DestructiveChange[] = []
  for (const m of migrations) {
    m.statements.forEach((text, i) => {
      for (const kind of destructiveKinds(text)) {
        out.push({ version: m.version, file: m.file, statement: i + 1, kind, text })
      }
    })
  }
  return out
}
