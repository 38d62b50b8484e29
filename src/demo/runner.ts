// Runs a built action the way the GitHub runner does: `node dist/<name>/index.js`
// with INPUT_* variables (action.yml defaults, then the step's `with:`), the file
// commands (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY) in a fresh folder, and the
// run's context variables. The demo runs exactly what ships in dist/.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parse } from 'yaml'

export interface StepResult {
  code: number | null
  outputs: Record<string, string>
  summary: string
  log: string
  durationMs: number
}

export interface StepOptions {
  root: string
  token: string
  env: Record<string, string>
  /** Called with each log line as it arrives. */
  onLine?: (line: string) => void
}

/** Reads the `name<<DELIMITER` blocks @actions/core appends to GITHUB_OUTPUT. */
export function parseOutputs(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const m = lines[i].match(/^([^<=]+)<<(.+)$/)
    if (m) {
      const value: string[] = []
      for (i++; i < lines.length && lines[i] !== m[2]; i++) value.push(lines[i])
      out[m[1]] = value.join('\n')
    } else if (lines[i].includes('=')) {
      const j = lines[i].indexOf('=')
      out[lines[i].slice(0, j)] = lines[i].slice(j + 1)
    }
  }
  return out
}

export async function runStep(
  name: string,
  inputs: Record<string, string>,
  o: StepOptions
): Promise<StepResult> {
  const file = path.join(o.root, 'actions', name, 'action.yml')
  const action = parse(readFileSync(file, 'utf8')) as {
    inputs?: Record<string, { default?: unknown }>
    runs: { main: string }
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-step-'))
  const files = {
    GITHUB_OUTPUT: path.join(dir, 'output'),
    GITHUB_STEP_SUMMARY: path.join(dir, 'summary'),
    GITHUB_ENV: path.join(dir, 'env'),
    GITHUB_PATH: path.join(dir, 'path'),
    GITHUB_STATE: path.join(dir, 'state'),
    GITHUB_EVENT_PATH: path.join(dir, 'event.json')
  }
  for (const f of Object.values(files)) writeFileSync(f, '')
  writeFileSync(files.GITHUB_EVENT_PATH, '{}')
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? dir,
    ...files,
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_RUN_ID: '1001',
    GITHUB_RUN_NUMBER: '1',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_WORKFLOW: 'demo',
    GITHUB_JOB: name,
    GITHUB_ACTOR: 'shipgate-demo',
    GITHUB_EVENT_NAME: 'workflow_dispatch',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_REF_NAME: 'main',
    GITHUB_WORKSPACE: dir,
    RUNNER_TEMP: dir,
    RUNNER_OS: 'Linux',
    ...o.env
  }
  const key = (input: string): string => `INPUT_${input.replace(/ /g, '_').toUpperCase()}`
  for (const [input, spec] of Object.entries(action.inputs ?? {}))
    if (spec.default !== undefined)
      env[key(input)] = String(spec.default).replace(/\$\{\{\s*github\.token\s*\}\}/g, o.token)
  for (const [input, value] of Object.entries(inputs)) env[key(input)] = value

  const started = Date.now()
  const child = spawn(process.execPath, [path.resolve(path.dirname(file), action.runs.main)], {
    env,
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let log = ''
  let pending = ''
  const take = (chunk: Buffer): void => {
    const text = pending + chunk.toString('utf8')
    const lines = text.split('\n')
    pending = lines.pop() ?? ''
    for (const line of lines) {
      log += `${line}\n`
      o.onLine?.(line)
    }
  }
  child.stdout.on('data', take)
  child.stderr.on('data', take)
  const code = await new Promise<number | null>(resolve => child.on('close', resolve))
  if (pending) log += pending
  const result: StepResult = {
    code,
    outputs: parseOutputs(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
    summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
    log,
    durationMs: Date.now() - started
  }
  rmSync(dir, { recursive: true, force: true })
  return result
}
