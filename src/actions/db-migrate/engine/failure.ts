import { pgErrorFields } from '../../../providers/postgres/client.js'
import { redact } from '../../../runtime/redact.js'
import type { LoadedMigration } from './local.js'
import type { ExecutionMode } from './plan.js'
import { lineColumn, splitStatements } from './split.js'

export interface MigrationErrorOptions {
  message: string
  version: string
  file: string
  /** 1-based; 0 when it failed after its statements. */
  statement: number
  statementCount: number
  sqlState?: string
  position?: { line: number; column: number }
  /** Statements known to have stayed committed. */
  committed: number
  /** True when part of the file may have stayed applied (SEV1), false when it rolled back cleanly. */
  partial: boolean
  /** Where it failed, short: `at statement 3 of 5`, `at COMMIT`, ... */
  at: string
  /** What stayed applied, one sentence for the incident. */
  outcome: string
}

/** A migration file failed. */
export class MigrationError extends Error {
  override name = 'MigrationError'
  readonly version: string
  readonly file: string
  readonly statement: number
  readonly statementCount: number
  readonly sqlState: string | undefined
  readonly position: { line: number; column: number } | undefined
  readonly committed: number
  readonly partial: boolean
  readonly at: string
  readonly outcome: string
  constructor(o: MigrationErrorOptions) {
    super(o.message)
    this.version = o.version
    this.file = o.file
    this.statement = o.statement
    this.statementCount = o.statementCount
    this.sqlState = o.sqlState
    this.position = o.position
    this.committed = o.committed
    this.partial = o.partial
    this.at = o.at
    this.outcome = o.outcome
  }
}

/** Where a file failed: a statement (0-based) or a step around its statements. */
export type FailedAt = number | 'start' | 'history' | 'commit' | 'open' | 'lock'

/** What a failure left behind. */
export interface Outcome {
  committed: number
  partial: boolean
  text: string
}

export const ROLLED_BACK: Outcome = {
  committed: 0,
  partial: false,
  text: 'The file was rolled back completely.'
}

/** What stayed applied after a failure in a file run statement by statement. */
export function outcomeOf(
  mode: ExecutionMode,
  committed: number,
  failedStandalone: number | undefined
): Outcome {
  if (mode !== 'transactional') {
    // The file's own COMMITs (or autocommit) decide; nothing proves the rest is gone.
    const how =
      mode === 'sequential'
        ? 'The file controls its own transactions (BEGIN/COMMIT in the file)'
        : 'The file runs without a transaction (-- pg-delta: transaction=false)'
    const known =
      committed > 0
        ? `statements 1-${committed} were committed before the failure; what ran after that was rolled back`
        : 'no statement was committed before the failure as far as this session can tell'
    return {
      committed,
      partial: true,
      text: `${how}, so it may be partially applied: ${known}. Check the schema before rerunning.`
    }
  }
  const parts: string[] = []
  if (committed > 0)
    parts.push(
      `Statements 1-${committed} stayed committed (the file is not atomic); the rest was rolled back.`
    )
  if (failedStandalone !== undefined)
    parts.push(
      `Statement ${failedStandalone + 1} ran outside a transaction and may have left partial effects (for example an invalid index).`
    )
  if (parts.length === 0) return { ...ROLLED_BACK, committed }
  return { committed, partial: true, text: parts.join(' ') }
}

/** Shows the failing line of the statement with a caret under `offset` (a string index). */
function caret(statement: string, offset: number): string {
  const { line, column } = lineColumn(statement, offset)
  const lines = statement.split('\n')
  const from = Math.max(0, line - 3)
  const shown = lines.slice(from, line).map(l => `  ${l}`)
  return [...shown, `  ${' '.repeat(column - 1)}^`].join('\n')
}

const STEP: Record<Exclude<FailedAt, number>, string> = {
  start: 'before its first statement',
  history: 'while recording it in the migration history',
  commit: 'at COMMIT',
  open: 'because it leaves a transaction open',
  lock: 'while checking the migration lock'
}

/** The error for `m` failing at `index` with `error`, leaving `outcome` behind. */
export function migrationError(
  m: LoadedMigration,
  index: FailedAt,
  error: unknown,
  outcome: Outcome
): MigrationError {
  const e = pgErrorFields(error)
  const count = m.statements.length
  const isStatement = typeof index === 'number'
  const statement = isStatement ? index + 1 : 0
  const text = isStatement ? (m.statements[index] ?? '') : ''
  const at = isStatement ? `at statement ${statement} of ${count}` : STEP[index]
  let position: { line: number; column: number } | undefined
  const lines: string[] = []
  let where = at
  if (isStatement && e.position !== undefined && Number(e.position) > 0) {
    // Postgres counts characters from 1; string indexes count UTF-16 units from 0.
    const offset = Array.from(text)
      .slice(0, Number(e.position) - 1)
      .join('').length
    position = lineColumn(text, offset)
    const start = splitStatements(m.sql)[index]?.offset
    if (start !== undefined) {
      const inFile = lineColumn(m.sql, start + offset)
      where += ` (line ${inFile.line}, column ${inFile.column} of the file; line ${position.line}, column ${position.column} of the statement)`
    }
    lines.push(caret(text, offset))
  } else if (isStatement) {
    lines.push(
      ...text
        .split('\n')
        .slice(0, 5)
        .map(l => `  ${l}`)
    )
  }
  if (e.detail) lines.unshift(`DETAIL: ${e.detail}`)
  if (e.hint) lines.unshift(`HINT: ${e.hint}`)
  if (e.where) lines.unshift(`CONTEXT: ${e.where}`)
  const message = [
    `Migration ${m.file} failed ${where}: ${e.message}${e.code ? ` (SQLSTATE ${e.code})` : ''}`,
    ...lines,
    `${outcome.text} It is not recorded in the migration history; later migrations were not attempted.`
  ].join('\n')
  return new MigrationError({
    message: redact(message),
    version: m.version,
    file: m.file,
    statement,
    statementCount: count,
    sqlState: e.code,
    position,
    committed: outcome.committed,
    partial: outcome.partial,
    at,
    outcome: redact(outcome.text)
  })
}
