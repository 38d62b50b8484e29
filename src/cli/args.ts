import { isBooleanInput, type ActionYaml } from './actions.js'

/** A mistake on the command line: exit status 2, like a bad input on a runner. */
export class UsageError extends Error {
  override name = 'UsageError'
}

/** Options of the CLI itself, accepted by every command. */
export const GLOBAL_FLAGS = {
  json: 'Print one JSON object (status, verdict, outputs, summary Markdown) on stdout.',
  verbose: 'Also print debug lines.',
  repo: 'The GitHub repository (owner/name) incidents go to. Default: GITHUB_REPOSITORY, else the origin remote.',
  help: 'Show this help.'
} as const

export interface Parsed {
  /** Inputs given as flags (repeated flags joined by newlines). */
  flags: Record<string, string>
  json: boolean
  verbose: boolean
  help: boolean
  repo?: string
}

/** Edit distance, for "did you mean". */
export function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0]
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1))
      diag = row[j]
      row[j] = next
    }
  }
  return row[b.length]
}

/** The closest candidate, when it is close enough to be a typo (or contains the word). */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined
  let score = Infinity
  for (const c of candidates) {
    const d = c.includes(word) || word.includes(c) ? 1 : distance(word, c)
    if (d < score) [best, score] = [c, d]
  }
  return best !== undefined && score <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined
}

export function suggestion(word: string, candidates: readonly string[], prefix = ''): string {
  const c = closest(word, candidates)
  return c ? ` Did you mean ${prefix}${c}?` : ''
}

/**
 * Reads `--name value`, `--name=value`, `--flag` / `--no-flag` (boolean inputs)
 * for one action. Unknown or malformed flags fail with a message naming the flag
 * and, when one is close, the flag that was probably meant.
 */
export function parseFlags(command: string, argv: string[], action: ActionYaml): Parsed {
  const names = Object.keys(action.inputs)
  const globals = Object.keys(GLOBAL_FLAGS)
  const parsed: Parsed = { flags: {}, json: false, verbose: false, help: false }
  const known = [...names, ...globals].map(n => `--${n}`)
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '-h') {
      parsed.help = true
      continue
    }
    const m = arg.match(/^--([^=]+)(?:=([\s\S]*))?$/)
    if (!m) {
      throw new UsageError(
        `Unexpected argument ${JSON.stringify(arg.slice(0, 80))}: ${command} takes only --input-name value flags (see shipgate ${command} --help)`
      )
    }
    const name = m[1]
    let value = m[2]
    if (name === 'json' || name === 'verbose' || name === 'help') {
      if (value !== undefined) throw new UsageError(`Flag --${name} takes no value`)
      parsed[name] = true
      continue
    }
    if (name === 'repo') {
      value ??= argv[++i]
      if (!value || !/^[\w.-]+\/[\w.-]+$/.test(value))
        throw new UsageError('Flag --repo needs owner/name, for example --repo acme/shop')
      parsed.repo = value
      continue
    }
    if (value === undefined && name.startsWith('no-') && !names.includes(name)) {
      const base = name.slice(3)
      const spec = action.inputs[base]
      if (spec && isBooleanInput(spec)) {
        parsed.flags[base] = 'false'
        continue
      }
    }
    const spec = action.inputs[name]
    if (!spec) {
      const underscored = name.replace(/_/g, '-').toLowerCase()
      const hint = action.inputs[underscored]
        ? ` Did you mean --${underscored}?`
        : suggestion(`--${name}`, known)
      throw new UsageError(
        `Unknown flag --${name} for ${command}.${hint} (see shipgate ${command} --help)`
      )
    }
    if (value === undefined) {
      const next = argv[i + 1]
      if (next !== undefined && !(next.startsWith('--') && next.length > 2)) {
        value = next
        i++
      } else if (isBooleanInput(spec)) value = 'true'
      else
        throw new UsageError(`Flag --${name} needs a value: --${name} <value> or --${name}=<value>`)
    }
    parsed.flags[name] = name in parsed.flags ? `${parsed.flags[name]}\n${value}` : value
  }
  return parsed
}

/** The environment variable that can also carry an input: SHIPGATE_RENDER_API_KEY for render-api-key. */
export function envName(input: string): string {
  return `SHIPGATE_${input.replace(/[^A-Za-z0-9]+/g, '_').toUpperCase()}`
}

/**
 * Every input's raw value, as the runner would pass it: the flag, else
 * SHIPGATE_<NAME>, else action.yml's default (`${{ github.token }}` is the token given).
 */
export function resolveInputs(
  action: ActionYaml,
  flags: Record<string, string>,
  env: NodeJS.ProcessEnv,
  token: () => string
): Record<string, string> {
  const inputs: Record<string, string> = {}
  for (const [name, spec] of Object.entries(action.inputs)) {
    const fromEnv = env[envName(name)]
    let value = flags[name] ?? fromEnv ?? spec.default ?? ''
    if (/\$\{\{\s*github\.token\s*\}\}/.test(value))
      value = value.replace(/\$\{\{\s*github\.token\s*\}\}/g, () => token())
    inputs[name] = value
  }
  return inputs
}
