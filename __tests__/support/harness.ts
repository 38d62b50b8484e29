// Runs a built action the way the GitHub runner does (shared/reference/runner-protocol.md):
// `node <runs.main>` with INPUT_* from action.yml defaults plus the test's inputs,
// file commands in a temp dir, and the context variables.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parse } from 'yaml'
import { parseOutputs } from '../../src/demo/runner.js'

/** Tests run from the repository root (jest's rootDir). */
export const ROOT = process.cwd()

export interface ActionRun {
  code: number | null
  stdout: string
  stderr: string
  outputs: Record<string, string>
  summary: string
  durationMs: number
  /** Every `::error::` line, message only. */
  errors: string[]
}

export interface RunOptions {
  /** Extra environment (GITHUB_API_URL and the like). */
  env?: Record<string, string>
  /** The value `${{ github.token }}` evaluates to. */
  token?: string
  /** The node binary; defaults to the one running the tests. */
  node?: string
  /** Send SIGINT after this many ms (a cancelled run). */
  cancelAfterMs?: number
  /** Called once the process started, with a function that signals it (to cancel at a chosen moment). */
  onStart?: (signal: (name: NodeJS.Signals) => void) => void
  /** The action.yml to read; defaults to actions/<name>/action.yml. */
  actionFile?: string
}

interface ActionYaml {
  inputs?: Record<string, { default?: string | number | boolean }>
  runs: { using: string; main: string }
}

export function readActionYaml(file: string): ActionYaml {
  return parse(readFileSync(file, 'utf8')) as ActionYaml
}

function evaluateDefault(value: string, token: string): string {
  return value.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_, expr: string) => {
    if (expr === 'github.token') return token
    throw new Error(`harness cannot evaluate the expression ${expr}`)
  })
}

export async function runAction(
  name: string,
  inputs: Record<string, string>,
  options: RunOptions = {}
): Promise<ActionRun> {
  if (process.env.SHIPGATE_BUILD_FAILED)
    throw new Error(
      'dist/ is older than src/ and could not be rebuilt: refusing to test a stale bundle'
    )
  const actionFile = options.actionFile ?? path.join(ROOT, 'actions', name, 'action.yml')
  const action = readActionYaml(actionFile)
  const main = path.resolve(path.dirname(actionFile), action.runs.main)
  const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-run-'))
  const files = {
    GITHUB_OUTPUT: path.join(dir, 'output'),
    GITHUB_STEP_SUMMARY: path.join(dir, 'summary'),
    GITHUB_ENV: path.join(dir, 'env'),
    GITHUB_PATH: path.join(dir, 'path'),
    GITHUB_STATE: path.join(dir, 'state'),
    GITHUB_EVENT_PATH: path.join(dir, 'event.json')
  }
  for (const f of Object.values(files)) writeFileSync(f, '')
  writeFileSync(files.GITHUB_EVENT_PATH, JSON.stringify({ inputs: {} }))

  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? dir,
    ...files,
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    GITHUB_REPOSITORY: 'acme/shop',
    GITHUB_REPOSITORY_OWNER: 'acme',
    GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_REF_NAME: 'main',
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_NUMBER: '7',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_WORKFLOW: 'test',
    GITHUB_JOB: 'test',
    GITHUB_ACTOR: 'octocat',
    GITHUB_EVENT_NAME: 'workflow_dispatch',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_API_URL: 'http://127.0.0.1:9',
    GITHUB_WORKSPACE: dir,
    RUNNER_TEMP: dir,
    RUNNER_OS: 'Linux',
    // .ci/run's coverage: each bundle run writes its V8 coverage there.
    ...(process.env.SHIPGATE_BUNDLE_COVERAGE
      ? { NODE_V8_COVERAGE: process.env.SHIPGATE_BUNDLE_COVERAGE }
      : {}),
    ...options.env
  }
  const token = options.token ?? ''
  for (const [input, spec] of Object.entries(action.inputs ?? {})) {
    if (spec.default !== undefined)
      env[`INPUT_${input.replace(/ /g, '_').toUpperCase()}`] = evaluateDefault(
        String(spec.default),
        token
      )
  }
  for (const [input, value] of Object.entries(inputs))
    env[`INPUT_${input.replace(/ /g, '_').toUpperCase()}`] = value

  const started = Date.now()
  const child = spawn(options.node ?? process.execPath, [main], {
    env,
    cwd: options.env?.GITHUB_WORKSPACE ?? dir
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', d => (stdout += d))
  child.stderr.on('data', d => (stderr += d))
  if (options.cancelAfterMs !== undefined)
    setTimeout(() => child.kill('SIGINT'), options.cancelAfterMs)
  options.onStart?.(name => child.kill(name))
  const code = await new Promise<number | null>(resolve => child.on('close', c => resolve(c)))
  const result: ActionRun = {
    code,
    stdout,
    stderr,
    outputs: parseOutputs(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
    summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
    durationMs: Date.now() - started,
    errors: stdout
      .split('\n')
      .filter(l => l.startsWith('::error'))
      .map(l => l.replace(/^::error[^:]*::/, ''))
  }
  rmSync(dir, { recursive: true, force: true })
  return result
}
