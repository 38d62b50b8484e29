import { accessSync, constants, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs'
import path from 'node:path'
import { ConfigurationError } from '../../../runtime/errors.js'
import { exec } from './exec.js'

/** The PostgreSQL client programs of one installation. */
export interface PgClient {
  dir: string
  pgDump: string
  pgRestore: string
  psql: string
  /** `15.20`, as `pg_dump --version` prints it. */
  version: string
  major: number
}

export const PG_LIB_DIR = '/usr/lib/postgresql'

/** The major version from `server_version_num` (150020 → 15; 90624 → 9). */
export function serverMajor(versionNum: number): number {
  return Math.floor(versionNum / 10000)
}

/** `pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)` → 15.20, major 15. */
export function parseClientVersion(text: string): { version: string; major: number } | undefined {
  const m = text.match(/\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?(?:\.(\d+))?/)
  if (!m) return undefined
  const version = [m[1], m[2], m[3]].filter(x => x !== undefined).join('.')
  return { version, major: Number(m[1]) }
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK)
    return statSync(file).isFile()
  } catch {
    return false
  }
}

function isPgWrapper(file: string): boolean {
  try {
    return path.basename(realpathSync(file)) === 'pg_wrapper'
  } catch {
    return false
  }
}

/** Candidate pg_dump programs, in the order they are tried. */
export function candidates(
  serverMajor: number,
  o: { pgDumpPath?: string; pathEnv?: string; libDir?: string }
): string[] {
  if (o.pgDumpPath) {
    const p = o.pgDumpPath
    let isDir = false
    try {
      isDir = statSync(p).isDirectory()
    } catch {
      // reported as not found below
    }
    return [isDir ? path.join(p, 'pg_dump') : p]
  }
  const list: string[] = []
  // Debian's pg_wrapper picks a version by the environment: use the versioned programs instead.
  for (const dir of (o.pathEnv ?? '').split(path.delimiter).filter(Boolean))
    if (!isPgWrapper(path.join(dir, 'pg_dump'))) list.push(path.join(dir, 'pg_dump'))
  const lib = o.libDir ?? PG_LIB_DIR
  list.push(path.join(lib, String(serverMajor), 'bin', 'pg_dump'))
  let majors: number[] = []
  try {
    majors = readdirSync(lib)
      .filter(d => /^\d+$/.test(d))
      .map(Number)
      .sort((a, b) => b - a)
  } catch {
    // no versioned installations
  }
  for (const m of majors) list.push(path.join(lib, String(m), 'bin', 'pg_dump'))
  return [...new Set(list)]
}

export interface Found {
  path: string
  version?: string
}

/**
 * The first pg_dump at least as new as the server, with pg_restore (and psql)
 * beside it; or the list of what was found, for the error message.
 */
export async function findClient(
  major: number,
  o: { pgDumpPath?: string; pathEnv?: string; libDir?: string; env?: NodeJS.ProcessEnv }
): Promise<{ client?: PgClient; found: Found[] }> {
  const found: Found[] = []
  for (const file of candidates(major, o)) {
    if (!executable(file)) {
      if (o.pgDumpPath) found.push({ path: file })
      continue
    }
    const r = await exec(file, ['--version'], { env: o.env, timeoutMs: 15_000 }).catch(
      () => undefined
    )
    const v = r && r.code === 0 ? parseClientVersion(r.stdout) : undefined
    found.push({ path: file, version: v?.version })
    if (!v || v.major < major) continue
    const dir = path.dirname(file)
    const pgRestore = path.join(dir, 'pg_restore')
    if (!executable(pgRestore)) continue
    return {
      client: { dir, pgDump: file, pgRestore, psql: path.join(dir, 'psql'), ...v },
      found
    }
  }
  return { found }
}

/** The error when no fitting client exists: what is needed, what was found, how to get it. */
export function noClientError(
  major: number,
  serverVersion: string,
  found: Found[],
  o: { pgDumpPath?: string; installTried: boolean }
): ConfigurationError {
  const seen = found.length
    ? found.map(f => `${f.path} (${f.version ? `pg_dump ${f.version}` : 'not usable'})`).join(', ')
    : 'no pg_dump at all'
  const how = o.pgDumpPath
    ? `point 'pg-dump-path' at a pg_dump ${major} or newer (with pg_restore beside it)`
    : o.installTried
      ? `install postgresql-client-${major} in an earlier step, or pass its bin directory as 'pg-dump-path'`
      : `set 'install-client: true' on a Linux runner, or install postgresql-client-${major} (https://www.postgresql.org/download/) and pass its bin directory as 'pg-dump-path'`
  return new ConfigurationError(
    `The server runs PostgreSQL ${serverVersion}, which needs pg_dump ${major} or newer; found ${seen}. To fix: ${how}.`
  )
}

const KEY_URL = 'https://www.postgresql.org/media/keys/ACCC4CF8.asc'
const KEYRING = '/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc'

/** The distribution codename (`jammy`, `bookworm`) from /etc/os-release. */
export function osCodename(osRelease = '/etc/os-release'): string | undefined {
  try {
    const text = readFileSync(osRelease, 'utf8')
    return (text.match(/^VERSION_CODENAME="?([a-z]+)"?$/m) ??
      text.match(/^UBUNTU_CODENAME="?([a-z]+)"?$/m))?.[1]
  } catch {
    return undefined
  }
}

/**
 * The commands that install postgresql-client-<major> from the PostgreSQL apt
 * repository (apt.postgresql.org), with `sudo -n` when not root.
 */
export function installSteps(
  major: number,
  o: { root: boolean; codename: string }
): Array<[string, ...string[]]> {
  const sudo = (cmd: string, ...args: string[]): [string, ...string[]] =>
    o.root ? [cmd, ...args] : ['sudo', '-n', cmd, ...args]
  const source = `deb [signed-by=${KEYRING}] https://apt.postgresql.org/pub/repos/apt ${o.codename}-pgdg main`
  return [
    sudo('install', '-d', path.dirname(KEYRING)),
    sudo('curl', '-fsSL', '--max-time', '60', '--retry', '3', '-o', KEYRING, KEY_URL),
    sudo('sh', '-c', `echo '${source}' > /etc/apt/sources.list.d/pgdg.list`),
    sudo(
      'apt-get',
      '-o',
      'Acquire::http::Timeout=30',
      '-o',
      'Acquire::Retries=3',
      'update',
      '-o',
      'Dir::Etc::sourcelist=sources.list.d/pgdg.list',
      '-o',
      'Dir::Etc::sourceparts=-',
      '-o',
      'APT::Get::List-Cleanup=0'
    ),
    sudo(
      'env',
      'DEBIAN_FRONTEND=noninteractive',
      'apt-get',
      'install',
      '-y',
      '-q',
      '--no-install-recommends',
      `postgresql-client-${major}`
    )
  ]
}

/** Runs the install steps; throws with the failing step's output. */
export async function installClient(
  major: number,
  log: (line: string) => void,
  env: NodeJS.ProcessEnv
): Promise<void> {
  if (process.platform !== 'linux')
    throw new ConfigurationError(
      `install-client works on Linux runners only; install postgresql-client-${major} yourself and pass 'pg-dump-path'`
    )
  const codename = osCodename()
  if (!codename)
    throw new ConfigurationError(
      'install-client could not tell the Linux distribution (no VERSION_CODENAME in /etc/os-release)'
    )
  const root = typeof process.getuid === 'function' && process.getuid() === 0
  for (const [cmd, ...args] of installSteps(major, { root, codename })) {
    log(`$ ${[cmd, ...args].join(' ')}`)
    const r = await exec(cmd, args, { env, timeoutMs: 5 * 60_000 })
    if (r.code !== 0) {
      const tail = (r.stderr || r.stdout).trim().split('\n').slice(-5).join(' / ')
      throw new Error(
        `Installing postgresql-client-${major} failed at '${cmd} ${args[0] ?? ''}' (exit ${r.code ?? r.signal}): ${tail}`
      )
    }
  }
}
