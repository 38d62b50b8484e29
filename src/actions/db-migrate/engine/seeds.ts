import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import type { SeedFile } from './seed-apply.js'
import { byBytes } from './local.js'

/** `[db.seed]` of supabase/config.toml, with the CLI's defaults. */
export interface SeedConfig {
  enabled: boolean
  /** Glob patterns relative to the `supabase/` directory. */
  sqlPaths: string[]
}

export const DEFAULT_SEED_CONFIG: SeedConfig = { enabled: true, sqlPaths: ['./seed.sql'] }

// --- a minimal TOML reader: enough to find [db.seed] enabled and sql_paths ---

type TomlValue =
  | { kind: 'string'; value: string }
  | { kind: 'bool'; value: boolean }
  | { kind: 'array'; items: TomlValue[] }
  | { kind: 'table'; entries: Array<[string[], TomlValue]> }
  | { kind: 'other' }

class TomlError extends Error {}

/**
 * Reads TOML key/value pairs into dotted keys (`db.seed.enabled`). Handles
 * comments, table headers, dotted and quoted keys, all four string forms,
 * multi-line arrays and inline tables; other values are skipped, not checked.
 */
class TomlReader {
  private pos = 0
  constructor(private readonly text: string) {}

  private fail(what: string): never {
    const line = this.text.slice(0, this.pos).split('\n').length
    throw new TomlError(`${what} on line ${line}`)
  }

  private peek(n = 1): string {
    return this.text.slice(this.pos, this.pos + n)
  }

  private skipSpaces(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++
  }

  /** Spaces, newlines and comments (between entries and inside arrays). */
  private skipBlank(): void {
    for (;;) {
      const c = this.peek()
      if (c === ' ' || c === '\t' || c === '\r' || c === '\n') this.pos++
      else if (c === '#') this.skipComment()
      else return
    }
  }

  private skipComment(): void {
    const eol = this.text.indexOf('\n', this.pos)
    this.pos = eol < 0 ? this.text.length : eol
  }

  /** After a value or header: only a comment may follow on the line. */
  private endOfLine(): void {
    this.skipSpaces()
    if (this.peek() === '#') this.skipComment()
    const c = this.peek()
    if (c === '\r') this.pos++
    if (this.pos < this.text.length && this.peek() !== '\n')
      this.fail('Expected the end of the line')
  }

  private readString(): string {
    const quote = this.peek()
    const multi = this.peek(3) === quote.repeat(3)
    this.pos += multi ? 3 : 1
    // A newline right after the opening delimiter is trimmed.
    if (multi && this.peek() === '\n') this.pos++
    else if (multi && this.peek(2) === '\r\n') this.pos += 2
    let out = ''
    for (;;) {
      if (this.pos >= this.text.length) this.fail('Unterminated string')
      if (!multi && this.peek() === quote) {
        this.pos++
        return out
      }
      if (multi && this.peek(3) === quote.repeat(3)) {
        // `""""` ends with one quote in the string: up to two belong to it.
        let n = 3
        while (this.text.charAt(this.pos + n) === quote) n++
        out += quote.repeat(Math.min(n - 3, 2))
        this.pos += Math.min(n, 5)
        return out
      }
      const c = this.peek()
      if (!multi && c === '\n') this.fail('Newline in a string')
      if (c === '\\' && quote === '"') {
        out += this.readEscape(multi)
        continue
      }
      out += c
      this.pos++
    }
  }

  private readEscape(multi: boolean): string {
    this.pos++
    const c = this.peek()
    this.pos++
    const simple: Record<string, string> = {
      b: '\b',
      t: '\t',
      n: '\n',
      f: '\f',
      r: '\r',
      e: '\x1b',
      '"': '"',
      '\\': '\\'
    }
    if (c in simple) return simple[c] as string
    if (c === 'u' || c === 'U' || c === 'x') {
      const len = c === 'u' ? 4 : c === 'U' ? 8 : 2
      const hex = this.text.slice(this.pos, this.pos + len)
      if (!/^[0-9a-fA-F]+$/u.test(hex) || hex.length !== len) this.fail('Invalid escape')
      this.pos += len
      return String.fromCodePoint(parseInt(hex, 16))
    }
    // Line-ending backslash in a multi-line string: trim the newline and following blanks.
    if (multi && /[ \t\r\n]/u.test(c)) {
      this.pos--
      while (/[ \t\r\n]/u.test(this.peek())) this.pos++
      return ''
    }
    this.fail('Invalid escape')
  }

  private readKey(): string[] {
    const parts: string[] = []
    for (;;) {
      this.skipSpaces()
      const c = this.peek()
      if (c === '"' || c === "'") parts.push(this.readString())
      else {
        const bare = /^[A-Za-z0-9_-]+/u.exec(this.text.slice(this.pos))?.[0]
        if (bare === undefined) this.fail('Expected a key')
        parts.push(bare)
        this.pos += bare.length
      }
      this.skipSpaces()
      if (this.peek() !== '.') return parts
      this.pos++
    }
  }

  private readValue(): TomlValue {
    this.skipSpaces()
    const c = this.peek()
    if (c === '"' || c === "'") return { kind: 'string', value: this.readString() }
    if (c === '[') {
      this.pos++
      const items: TomlValue[] = []
      for (;;) {
        this.skipBlank()
        if (this.peek() === ']') break
        items.push(this.readValue())
        this.skipBlank()
        if (this.peek() === ',') this.pos++
        else if (this.peek() !== ']') this.fail("Expected ',' or ']' in an array")
      }
      this.pos++
      return { kind: 'array', items }
    }
    if (c === '{') {
      this.pos++
      const entries: Array<[string[], TomlValue]> = []
      for (;;) {
        this.skipBlank()
        if (this.peek() === '}') break
        const key = this.readKey()
        if (this.peek() !== '=') this.fail("Expected '='")
        this.pos++
        entries.push([key, this.readValue()])
        this.skipBlank()
        if (this.peek() === ',') this.pos++
        else if (this.peek() !== '}') this.fail("Expected ',' or '}' in an inline table")
      }
      this.pos++
      return { kind: 'table', entries }
    }
    // Numbers, dates (which may hold a space) and the like: up to the next delimiter.
    const scalar = /^[^,\]}#\r\n]+/u.exec(this.text.slice(this.pos))?.[0]
    if (scalar === undefined || scalar.trim() === '') this.fail('Expected a value')
    this.pos += scalar.trimEnd().length
    const word = scalar.trim()
    if (word === 'true' || word === 'false') return { kind: 'bool', value: word === 'true' }
    return { kind: 'other' }
  }

  /** Every key/value as [dotted key, value]; inline tables are flattened. */
  read(): Map<string, TomlValue> {
    const out = new Map<string, TomlValue>()
    const put = (key: string[], value: TomlValue): void => {
      if (value.kind === 'table') for (const [k, v] of value.entries) put([...key, ...k], v)
      else out.set(key.join('.'), value)
    }
    let table: string[] = []
    for (;;) {
      this.skipBlank()
      if (this.pos >= this.text.length) return out
      if (this.peek() === '[') {
        const array = this.peek(2) === '[['
        this.pos += array ? 2 : 1
        table = this.readKey()
        if (this.peek(array ? 2 : 1) !== (array ? ']]' : ']')) this.fail("Expected ']'")
        this.pos += array ? 2 : 1
        // Entries of an array of tables never are [db.seed]: keep them apart.
        if (array) table = ['[[]]', ...table]
      } else {
        const key = this.readKey()
        if (this.peek() !== '=') this.fail("Expected '='")
        this.pos++
        put([...table, ...key], this.readValue())
      }
      this.endOfLine()
    }
  }
}

/** `[db.seed]` from config.toml text; missing keys keep the CLI's defaults. */
export function parseSeedConfig(toml: string): SeedConfig {
  const values = new TomlReader(toml.replace(/^\uFEFF/u, '')).read()
  const config: SeedConfig = { ...DEFAULT_SEED_CONFIG }
  const enabled = values.get('db.seed.enabled')
  if (enabled !== undefined) {
    if (enabled.kind !== 'bool') throw new TomlError('[db.seed] enabled must be true or false')
    config.enabled = enabled.value
  }
  const paths = values.get('db.seed.sql_paths')
  if (paths !== undefined) {
    if (paths.kind !== 'array' || paths.items.some(i => i.kind !== 'string'))
      throw new TomlError('[db.seed] sql_paths must be an array of strings')
    config.sqlPaths = paths.items.map(i => (i.kind === 'string' ? i.value : ''))
  }
  return config
}

// --- globs, as Go's fs.Glob ---

function escapeRegExp(c: string): string {
  return c.replace(/[\\^$.*+?()[\]{}|/-]/gu, '\\$&')
}

/** Go's path.Match for one path segment: `*`, `?`, `[...]` / `[^...]` classes, `\` escapes. */
export function segmentPattern(pattern: string): RegExp | undefined {
  let re = ''
  const chars = Array.from(pattern)
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string
    if (c === '*') re += '[^/]*'
    else if (c === '?') re += '[^/]'
    else if (c === '\\') {
      i++
      if (i >= chars.length) return undefined
      re += escapeRegExp(chars[i] as string)
    } else if (c === '[') {
      let j = i + 1
      let cls = ''
      if (chars[j] === '^') {
        cls += '^'
        j++
      }
      const start = j
      while (j < chars.length && (chars[j] !== ']' || j === start)) {
        let ch = chars[j] as string
        if (ch === ']') return undefined
        if (ch === '\\') {
          j++
          if (j >= chars.length) return undefined
          ch = chars[j] as string
          cls += escapeRegExp(ch)
        } else cls += ch === '-' ? '-' : escapeRegExp(ch)
        j++
      }
      if (j >= chars.length || j === start) return undefined
      re += `[${cls}]`
      i = j
    } else re += escapeRegExp(c)
  }
  return new RegExp(`^${re}$`, 'u')
}

const hasMeta = (s: string): boolean => /[*?[\\]/u.test(s)

/**
 * Matches `pattern` (forward slashes, relative to `base` unless absolute)
 * like Go's fs.Glob: `*`, `?` and classes within a segment, no `**`.
 * Returns matching paths as written in the pattern, files and directories.
 */
export function glob(base: string, pattern: string): string[] {
  const abs = (p: string): string => path.resolve(base, ...p.split('/'))
  if (!hasMeta(pattern)) return existsSync(abs(pattern)) ? [pattern] : []
  const slash = pattern.lastIndexOf('/')
  const dir = slash < 0 ? '' : pattern.slice(0, slash) || '/'
  const file = pattern.slice(slash + 1)
  const re = segmentPattern(file)
  if (re === undefined) throw new Error(`syntax error in pattern ${pattern}`)
  const dirs = hasMeta(dir) ? glob(base, dir) : [dir]
  const out: string[] = []
  for (const d of dirs) {
    let names: string[]
    try {
      names = readdirSync(abs(d || '.')).sort(byBytes)
    } catch {
      continue
    }
    for (const name of names) {
      if (re.test(name))
        out.push(d === '' ? name : d.endsWith('/') ? `${d}${name}` : `${d}/${name}`)
    }
  }
  return out
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile()
  } catch {
    return false
  }
}

export interface SeedFiles {
  seeds: SeedFile[]
  /** Patterns that matched nothing or were invalid (the CLI warns and goes on). */
  warnings: string[]
  /** False when config.toml sets `[db.seed] enabled = false`. */
  enabled: boolean
}

/**
 * The seed files `supabase db push --include-seed` would use: `[db.seed]
 * sql_paths` from `<supabaseDir>/config.toml` (default `./seed.sql`), each
 * joined to the supabase directory and globbed from the project root. Each
 * pattern's matches are sorted; duplicates keep their first place. Paths are
 * recorded relative to the project root with forward slashes
 * (`supabase/seed.sql`), as the CLI records them.
 */
export function findSeedFiles(root: string, supabaseDir: string): SeedFiles {
  const configFile = path.join(supabaseDir, 'config.toml')
  let config = DEFAULT_SEED_CONFIG
  if (existsSync(configFile)) {
    try {
      config = parseSeedConfig(readFileSync(configFile, 'utf8'))
    } catch (error) {
      const where = path.relative(root, configFile).split(path.sep).join('/')
      throw new Error(`Could not read ${where}: ${(error as Error).message}`)
    }
  }
  if (!config.enabled) return { seeds: [], warnings: [], enabled: false }
  const dirRel = path.relative(root, supabaseDir).split(path.sep).join('/') || '.'
  const seen = new Set<string>()
  const seeds: SeedFile[] = []
  const warnings: string[] = []
  for (const sqlPath of config.sqlPaths) {
    if (sqlPath === '') continue
    // path.Join(supabase dir, pattern) unless absolute, as the CLI resolves it.
    const pattern = path.posix.isAbsolute(sqlPath) ? sqlPath : path.posix.join(dirRel, sqlPath)
    let matches: string[]
    try {
      matches = glob(root, pattern).sort(byBytes)
    } catch (error) {
      warnings.push(`failed to glob files: ${(error as Error).message}`)
      continue
    }
    if (matches.length === 0) warnings.push(`no files matched pattern: ${pattern}`)
    for (const match of matches) {
      if (seen.has(match)) continue
      seen.add(match)
      const file = path.resolve(root, ...match.split('/'))
      if (isFile(file)) seeds.push({ path: match, file })
    }
  }
  return { seeds, warnings, enabled: true }
}
