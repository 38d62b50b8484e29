import { spawn, type ChildProcess } from 'node:child_process'

export interface ExecResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** Runs a program to completion (no shell), killing it after `timeoutMs`; output kept up to 1 MiB. */
export function exec(
  file: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let stdout = ''
    let stderr = ''
    const keep = (acc: string, chunk: Buffer): string =>
      acc.length < 1 << 20 ? acc + chunk.toString('utf8') : acc
    child.stdout.on('data', (c: Buffer) => (stdout = keep(stdout, c)))
    child.stderr.on('data', (c: Buffer) => (stderr = keep(stderr, c)))
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000)
    child.on('error', error => {
      clearTimeout(timer)
      reject(error)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

/** Resolves with the exit of a spawned child (its stdio handled elsewhere). */
export function exited(
  child: ChildProcess
): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null || child.signalCode !== null)
      return resolve({ code: child.exitCode, signal: child.signalCode })
    child.once('error', reject)
    child.once('close', (code, signal) => resolve({ code, signal }))
  })
}

/** Collects a child's stderr (bounded) for error messages. */
export function collectStderr(child: ChildProcess, limit = 64 * 1024): () => string {
  let text = ''
  child.stderr?.on('data', (c: Buffer) => {
    if (text.length < limit) text += c.toString('utf8')
  })
  return () => text.trim()
}
