/**
 * `extra-args` for pg_dump: split like a shell would (quotes, no expansion) and
 * checked against the options that only choose what is dumped or how it is
 * written as SQL. Anything that changes the output target, the format, the
 * connection or the snapshot belongs to another input and is refused.
 */

/** Options allowed in extra-args; `true` when the option takes a value. */
const ALLOWED: Record<string, boolean> = {
  '-n': true,
  '--schema': true,
  '-N': true,
  '--exclude-schema': true,
  '-t': true,
  '--table': true,
  '-T': true,
  '--exclude-table': true,
  '--exclude-table-and-children': true,
  '--exclude-table-data': true,
  '--exclude-table-data-and-children': true,
  '--table-and-children': true,
  '-e': true,
  '--extension': true,
  '--exclude-extension': true,
  '-E': true,
  '--encoding': true,
  '--lock-wait-timeout': true,
  '--rows-per-insert': true,
  '--section': true,
  '--extra-float-digits': true,
  '--include-foreign-data': true,
  '--role': true,
  '-S': true,
  '--superuser': true,
  '-O': false,
  '--no-owner': false,
  '-x': false,
  '--no-privileges': false,
  '--no-acl': false,
  '-b': false,
  '--blobs': false,
  '--large-objects': false,
  '-B': false,
  '--no-blobs': false,
  '--no-large-objects': false,
  '-c': false,
  '--clean': false,
  '-C': false,
  '--create': false,
  '--if-exists': false,
  '--inserts': false,
  '--column-inserts': false,
  '--on-conflict-do-nothing': false,
  '--disable-triggers': false,
  '--disable-dollar-quoting': false,
  '--enable-row-security': false,
  '--load-via-partition-root': false,
  '--no-comments': false,
  '--no-publications': false,
  '--no-subscriptions': false,
  '--no-security-labels': false,
  '--no-tablespaces': false,
  '--no-table-access-method': false,
  '--no-toast-compression': false,
  '--no-unlogged-table-data': false,
  '--quote-all-identifiers': false,
  '--strict-names': false,
  '--use-set-session-authorization': false,
  '-v': false,
  '--verbose': false
}

/** Options that narrow which tables are dumped: the expected table list is then pg_dump's. */
export const SELECTING = new Set(['-n', '--schema', '-t', '--table', '--table-and-children'])

/** Why a refused option is refused, for the error message. */
function refusal(option: string): string {
  if (/^-(f|-file)$/.test(option) || option === '-j' || option === '--jobs')
    return 'it changes where the output goes (the action writes and encrypts the file itself)'
  if (/^-(F|-format)/.test(option)) return "it changes the format (use the 'format' input)"
  if (/^-(s|a|-schema-only|-data-only)$/.test(option))
    return "use the 'schema-only' or 'data-only' input"
  if (/^-(Z|-compress)/.test(option))
    return 'compression is chosen by the format (custom compresses, plain is gzipped)'
  if (/^-(d|h|p|U|w|W|-dbname|-host|-port|-username|-password|-no-password)$/.test(option))
    return "the connection comes from 'database-url'"
  if (option === '--snapshot' || option === '--serializable-deferrable')
    return 'the action takes the snapshot itself (to count rows in it)'
  return 'it is not an option the action accepts in extra-args'
}

/** Shell-like words: whitespace separates, single and double quotes group, backslash escapes. */
export function splitWords(text: string): string[] | string {
  const words: string[] = []
  let word = ''
  let inWord = false
  let quote: '"' | "'" | undefined
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (quote) {
      if (c === quote) quote = undefined
      else if (c === '\\' && quote === '"' && i + 1 < text.length) word += text[++i]
      else word += c
    } else if (c === '"' || c === "'") {
      quote = c
      inWord = true
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i]
      inWord = true
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word)
      word = ''
      inWord = false
    } else {
      word += c
      inWord = true
    }
  }
  if (quote) return `unterminated ${quote} quote`
  if (inWord) words.push(word)
  return words
}

export interface ExtraArgs {
  args: string[]
  /** Whether they narrow the dump to some schemas or tables. */
  selecting: boolean
  /** Table patterns they exclude (-T and friends). */
  excludeTables: string[]
  /** Schema patterns they exclude (-N). */
  excludeSchemas: string[]
  /** Tables whose rows they leave out (--exclude-table-data). */
  excludeData: string[]
}

const EXCLUDE_TABLE = new Set(['-T', '--exclude-table', '--exclude-table-and-children'])
const EXCLUDE_SCHEMA = new Set(['-N', '--exclude-schema'])
const EXCLUDE_DATA = new Set(['--exclude-table-data', '--exclude-table-data-and-children'])

/** Parses and checks extra-args; a string is the reason they are refused. */
export function parseExtraArgs(text: string): ExtraArgs | string {
  const words = splitWords(text)
  if (typeof words === 'string') return words
  const args: string[] = []
  const excludeTables: string[] = []
  const excludeSchemas: string[] = []
  const excludeData: string[] = []
  let selecting = false
  for (let i = 0; i < words.length; i++) {
    const word = words[i]
    // A quoted line break or NUL is no name pg_dump should see (and NUL cannot reach it at all).
    if ([...word].some(c => c < ' ' || c === '\x7f'))
      return `${JSON.stringify(word.slice(0, 40))} holds a line break or control character: put each option on its own line, unquoted`
    if (!word.startsWith('-') || word === '-' || word === '--')
      return `'${word.slice(0, 40)}' is not an option (the database comes from 'database-url')`
    const eq = word.startsWith('--') ? word.indexOf('=') : -1
    // `--name=value`, `-nvalue` or `-n value`.
    const name = eq > 0 ? word.slice(0, eq) : word.startsWith('--') ? word : word.slice(0, 2)
    const takesValue = ALLOWED[name]
    if (takesValue === undefined) return `${name} is not allowed: ${refusal(name)}`
    if (SELECTING.has(name)) selecting = true
    const attached = eq > 0 || (!word.startsWith('--') && word.length > 2)
    if (!takesValue) {
      if (attached) return `${name} takes no value`
      args.push(word)
      continue
    }
    let value: string | undefined
    if (attached) {
      value = eq > 0 ? word.slice(eq + 1) : word.slice(2)
      args.push(word)
    } else {
      value = words[i + 1]
      if (value === undefined) return `${name} needs a value`
      args.push(word, value)
      i++
    }
    if (EXCLUDE_TABLE.has(name)) excludeTables.push(value)
    if (EXCLUDE_SCHEMA.has(name)) excludeSchemas.push(value)
    if (EXCLUDE_DATA.has(name)) excludeData.push(value)
  }
  return { args, selecting, excludeTables, excludeSchemas, excludeData }
}

/**
 * A pg_dump table pattern (`schema.table`, `*` and `?` wildcards, unquoted names
 * folded to lower case) as a test on schema and name. Unqualified patterns match
 * in every schema: the expected-table check then expects fewer tables, never more.
 */
export function tablePattern(pattern: string): (schema: string, name: string) => boolean {
  const parts: string[] = ['']
  let quoted = false
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]
    if (c === '"') {
      if (quoted && pattern[i + 1] === '"') {
        parts[parts.length - 1] += '"'
        i++
      } else quoted = !quoted
    } else if (c === '.' && !quoted) parts.push('')
    else parts[parts.length - 1] += quoted ? escapeRegex(c) : globChar(c.toLowerCase())
  }
  const re = (p: string): RegExp => new RegExp(`^${p}$`, 's')
  const name = re(parts[parts.length - 1])
  const schema = parts.length > 1 ? re(parts[parts.length - 2]) : undefined
  return (s, n) => name.test(n) && (!schema || schema.test(s))
}

function escapeRegex(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

function globChar(c: string): string {
  if (c === '*') return '.*'
  if (c === '?') return '.'
  return escapeRegex(c)
}
