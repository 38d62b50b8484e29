/**
 * Statement splitter compatible with the Supabase CLI's `SplitAndTrim`
 * (Go `pkg/parser`, and the TypeScript port shipped in supabase@2.117.0).
 *
 * The CLI stores the result in `schema_migrations.statements`, so this must
 * reproduce its quirks, not PostgreSQL's grammar:
 * - `'` and `"` quotes end at the first quote not followed by another one;
 *   backslashes inside quotes are plain characters.
 * - A `\` outside quotes swallows the next character.
 * - `/* *\/` comments nest, and `/*\/` already closes one.
 * - `(` opens a group that the first `)` seen at "ready" level closes, even
 *   when it belongs to a nested pair: `((a)` is already closed.
 * - `BEGIN ATOMIC` opens a body that closes at the first `END` (any case, even
 *   inside a word such as `append`).
 * - `$tag$` quotes compare the closing tag byte for byte.
 * - The text after the last `;` is a statement too, so a trailing comment is
 *   kept as a statement of its own.
 */

type State =
  | { kind: 'ready' }
  | { kind: 'dash' }
  | { kind: 'block'; depth: number }
  | { kind: 'quote'; quote: string; closing: boolean }
  | { kind: 'tag'; start: number }
  | { kind: 'dollar'; delimiter: string }
  | { kind: 'escape' }
  | { kind: 'group'; inner: State; close: string }

const READY: State = { kind: 'ready' }

/** The text of the statement being read: `src[start, end)`. */
interface Cursor {
  src: string
  start: number
  end: number
}

/** The last `n` UTF-16 units of the current statement (all of it if shorter). */
function tail(c: Cursor, n: number): string {
  return c.src.slice(Math.max(c.start, c.end - n), c.end)
}

const identChar = /[\p{L}\p{Nd}_$]/u
const tagChar = /[\p{L}\p{Nd}_]/u
const space = /\s/u

/** True when the statement so far ends with `BEGIN <spaces> ATOMIC` as whole words. */
function endsWithBeginAtomic(c: Cursor): boolean {
  const { src, start, end } = c
  const atomic = end - 6
  if (atomic < start || src.slice(atomic, end).toUpperCase() !== 'ATOMIC') return false
  if (atomic > start && identChar.test(src.charAt(atomic - 1))) return false
  let j = atomic
  while (j > start && space.test(src.charAt(j - 1))) j--
  const begin = j - 5
  if (begin < start || src.slice(begin, j).toUpperCase() !== 'BEGIN') return false
  return begin === start || !identChar.test(src.charAt(begin - 1))
}

function readyNext(ch: string, c: Cursor): State | null {
  switch (ch) {
    case '$':
      return { kind: 'tag', start: c.end - ch.length }
    case "'":
    case '"':
      return { kind: 'quote', quote: ch, closing: false }
    case '-':
      return { kind: 'dash' }
    case '/':
      return { kind: 'block', depth: 0 }
    case '\\':
      return { kind: 'escape' }
    case ';':
      return null
    case '(':
      return { kind: 'group', inner: READY, close: ')' }
    case 'c':
    case 'C':
      return endsWithBeginAtomic(c) ? { kind: 'group', inner: READY, close: 'END' } : READY
    default:
      return READY
  }
}

/** Next state after `ch` (already included in the cursor); null ends the statement. */
function next(s: State, ch: string, c: Cursor): State | null {
  switch (s.kind) {
    case 'ready':
      return readyNext(ch, c)
    case 'dash':
      // `--` starts a line comment; no escapes inside, like a dollar quote ending at \n.
      return ch === '-' ? { kind: 'dollar', delimiter: '\n' } : readyNext(ch, c)
    case 'block': {
      const window = tail(c, 2)
      if (window === '/*') return { kind: 'block', depth: s.depth + 1 }
      if (s.depth === 0) return readyNext(ch, c)
      if (window === '*/') return s.depth === 1 ? READY : { kind: 'block', depth: s.depth - 1 }
      return s
    }
    case 'quote':
      if (s.closing) {
        if (ch === s.quote) return { ...s, closing: false }
        return readyNext(ch, c)
      }
      return ch === s.quote ? { ...s, closing: true } : s
    case 'tag':
      if (ch === '$') return { kind: 'dollar', delimiter: c.src.slice(s.start, c.end) }
      if (tagChar.test(ch)) return s
      return readyNext(ch, c)
    case 'dollar':
      return tail(c, s.delimiter.length) === s.delimiter ? READY : s
    case 'escape':
      return READY
    case 'group': {
      // A `;` at ready level inside the group does not end the statement.
      const inner = next(s.inner, ch, c) ?? s.inner
      if (
        inner.kind === 'ready' &&
        tail(c, s.close.length).toUpperCase() === s.close.toUpperCase()
      ) {
        return READY
      }
      return { ...s, inner }
    }
  }
}

export interface RawChunk {
  /** Text from the end of the previous chunk, including the terminating `;`. */
  text: string
  /** UTF-16 offset of the chunk in the source. */
  offset: number
  terminated: boolean
}

/** Splits on statement-ending `;` without trimming anything. */
export function splitRaw(sql: string): RawChunk[] {
  const chunks: RawChunk[] = []
  const cursor: Cursor = { src: sql, start: 0, end: 0 }
  let state: State = READY
  for (const ch of sql) {
    cursor.end += ch.length
    const after = next(state, ch, cursor)
    if (after === null) {
      chunks.push({
        text: sql.slice(cursor.start, cursor.end),
        offset: cursor.start,
        terminated: true
      })
      cursor.start = cursor.end
      state = READY
    } else {
      state = after
    }
  }
  if (cursor.start < sql.length) {
    chunks.push({ text: sql.slice(cursor.start), offset: cursor.start, terminated: false })
  }
  return chunks
}

/** The CLI's trim: trailing semicolons, then surrounding whitespace. */
function trimStatement(text: string): string {
  return text.replace(/;+$/u, '').trim()
}

export interface Statement {
  text: string
  /** UTF-16 offset of `text` in the source file. */
  offset: number
}

/** Like `splitAndTrim`, with each statement's position in the source. */
export function splitStatements(sql: string): Statement[] {
  const out: Statement[] = []
  for (const chunk of splitRaw(sql)) {
    const text = trimStatement(chunk.text)
    if (text.length === 0) continue
    const lead = chunk.text.length - chunk.text.trimStart().length
    out.push({ text, offset: chunk.offset + lead })
  }
  return out
}

/** The statements the CLI records in `schema_migrations.statements`. */
export function splitAndTrim(sql: string): string[] {
  return splitStatements(sql).map(s => s.text)
}

/** 1-based line and column (in characters) of a UTF-16 offset in `text`. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, offset))
  const lines = before.split('\n')
  const last = lines[lines.length - 1] ?? ''
  return { line: lines.length, column: Array.from(last).length + 1 }
}
