import { execFileSync } from 'node:child_process'
import { ACTION_NAMES, ACTIONS, isActionName } from '../actions/registry.js'
import { createClients } from '../providers/clients.js'
import { closeConnections } from '../providers/http/client.js'
import { errorMessage } from '../runtime/errors.js'
import { addSecret, redact } from '../runtime/redact.js'
import type { Outcome } from '../runtime/run-action.js'
import { createTerminalHost, type TerminalStream } from '../runtime/terminal-host.js'
import { VERSION } from '../runtime/version.js'
import { actionYaml } from './actions.js'
import { envName, parseFlags, resolveInputs, suggestion, UsageError } from './args.js'
import { commandHelp, mainHelp } from './help.js'
import { ansi, plain, renderMarkdown } from './render.js'

export interface CliIO {
  stdout: TerminalStream
  stderr: TerminalStream
  env: NodeJS.ProcessEnv
  /** Install Ctrl-C handling (the binary does; in-process tests do not). */
  signals?: boolean
}

const EXIT: Record<Outcome['status'], number> = { ok: 0, failed: 1, cancelled: 1, configuration: 2 }

function quiet(cmd: string, args: string[], env: NodeJS.ProcessEnv): string {
  try {
    return execFileSync(cmd, args, {
      env,
      encoding: 'utf8',
      timeout: 5000,
      stdio: ['ignore', 'pipe', 'ignore']
    }).trim()
  } catch {
    return ''
  }
}

/** The token for `${{ github.token }}`: GITHUB_TOKEN, else what `gh auth token` prints. */
function githubToken(env: NodeJS.ProcessEnv): string {
  return env.GITHUB_TOKEN || env.GH_TOKEN || quiet('gh', ['auth', 'token'], env)
}

/** owner/name from --repo, GITHUB_REPOSITORY, or the origin remote of the checkout here. */
function repository(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  if (flag) return flag
  if (env.GITHUB_REPOSITORY) return env.GITHUB_REPOSITORY
  const origin = quiet('git', ['remote', 'get-url', 'origin'], env)
  const m = origin.match(/github\.com[:/]([\w.-]+)\/([\w.-]+?)(?:\.git)?\/?$/)
  return m ? `${m[1]}/${m[2]}` : ''
}

/** Runs the CLI; returns the exit status. */
export async function cli(argv: string[], io: CliIO): Promise<number> {
  const say = (line: string): void => void io.stderr.write(`${redact(line)}\n`)
  const [command, ...rest] = argv
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.stdout.write(`${mainHelp()}\n`)
    return command === undefined ? 2 : 0
  }
  if (command === '--version') {
    io.stdout.write(`${VERSION}\n`)
    return 0
  }
  try {
    if (!isActionName(command))
      throw new UsageError(
        `Unknown command ${JSON.stringify(command.slice(0, 40))}.${suggestion(command, ACTION_NAMES)} Commands: ${ACTION_NAMES.join(', ')} (see shipgate --help)`
      )
    const action = actionYaml(command)
    const args = parseFlags(command, rest, action)
    if (args.help) {
      io.stdout.write(`${commandHelp(command)}\n`)
      return 0
    }
    const explicit = (input: string): boolean =>
      input in args.flags || io.env[envName(input)] !== undefined
    let tokenAsked = false
    const inputs = resolveInputs(action, args.flags, io.env, () => {
      tokenAsked = true
      return githubToken(io.env)
    })
    addSecret(inputs['github-token'])
    const repo = repository(args.repo, io.env)
    // Without a token or a repository, incidents are not attempted (said once, here).
    if ('github-token' in inputs) {
      const missing = !inputs['github-token']
        ? `no GitHub token (--github-token, ${envName('github-token')}, GITHUB_TOKEN or \`gh auth token\`)`
        : !repo
          ? 'no GitHub repository (--repo owner/name or GITHUB_REPOSITORY)'
          : ''
      if (missing) {
        for (const input of ['open-issue', 'close-issue'])
          if (input in inputs && !explicit(input)) inputs[input] = 'false'
        say(`Incident issues are off: ${missing}.`)
      } else if (!args.json)
        say(
          `Incidents go to ${repo}${tokenAsked ? ' (token from GITHUB_TOKEN or gh)' : ''}; --no-open-issue turns them off.`
        )
    }
    const env: NodeJS.ProcessEnv = { ...io.env, GITHUB_REPOSITORY: repo }
    if (!env.GITHUB_SHA) {
      const sha = quiet('git', ['rev-parse', 'HEAD'], io.env)
      if (/^[0-9a-f]{40}$/.test(sha)) env.GITHUB_SHA = sha
    }
    const host = createTerminalHost(context => createClients(context), {
      inputs,
      stream: io.stderr,
      verbose: args.verbose,
      quiet: args.json && !args.verbose,
      env,
      signals: io.signals
    })
    let outcome: Outcome
    try {
      const mod = await ACTIONS[command]()
      outcome = await mod.run(host)
    } finally {
      host.finish()
      host.dispose()
      await closeConnections()
    }
    const code = EXIT[outcome.status]
    if (args.json) {
      const result = {
        command,
        status: outcome.status,
        exitCode: code,
        verdict: outcome.verdict,
        ...(outcome.message ? { message: outcome.message } : {}),
        outputs: outcome.outputs,
        summary: outcome.summary
      }
      io.stdout.write(`${redact(JSON.stringify(result, null, 2))}\n`)
      return code
    }
    // A bad input is one error line (already logged), like a bad flag: no summary, no outputs.
    if (outcome.status === 'configuration') return code
    const color = !!io.stdout.isTTY && !io.env.NO_COLOR
    io.stdout.write(`\n${renderMarkdown(outcome.summary, color ? ansi : plain)}\n`)
    for (const [k, v] of Object.entries(outcome.outputs))
      io.stdout.write(`${k}=${v.includes('\n') ? JSON.stringify(v) : v}\n`)
    return code
  } catch (error) {
    if (error instanceof UsageError) {
      say(`shipgate: ${error.message}`)
      // A script asking for JSON gets it for a bad command line too.
      if (rest.includes('--json'))
        io.stdout.write(
          `${JSON.stringify({ command, status: 'configuration', exitCode: 2, message: error.message }, null, 2)}\n`
        )
      return 2
    }
    say(`shipgate: ${errorMessage(error)}`)
    return 1
  }
}
