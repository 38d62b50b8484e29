import { existsSync } from 'node:fs'
import path from 'node:path'
import { ConfigurationError } from '../../runtime/errors.js'
import {
  connectionFields,
  healthConfig,
  healthFields,
  type HealthConfig
} from '../../engines/health/inputs.js'
import {
  bool,
  duration,
  field,
  oneOf,
  optionalDuration,
  readInputs,
  required,
  secret,
  text
} from '../../runtime/inputs.js'
import { commonFields, commonInputs, type CommonInputs } from '../../engines/incident/inputs.js'
import {
  checkTarget,
  parseDatabaseUrl,
  type DatabaseTarget
} from '../../providers/postgres/client.js'
import type { SeedFile } from './engine/seed-apply.js'
import type { DestructivePolicy } from './engine/engine.js'
import { findSeedFiles, type SeedFiles } from './engine/seeds.js'

export const spec = {
  'database-url': secret(
    required('a Postgres connection URL (postgres://user:password@host:port/database)')
  ),
  'migrations-dir': field(text('supabase/migrations')),
  'dry-run': field(bool(false)),
  'include-all': field(bool(false)),
  'include-seed': field(bool(false)),
  destructive: field(oneOf(['warn', 'fail', 'allow'] as const, 'warn')),
  'lock-timeout': field(duration('60s', { max: 6 * 3_600_000 })),
  'statement-timeout': field(optionalDuration()),
  ...healthFields('health-', { timeout: '2m', interval: '5s', successes: 1 }),
  ...connectionFields('health-'),
  ...commonFields()
}

export interface MigrateInputs extends CommonInputs {
  databaseUrl: string
  /** `databaseUrl` parsed, for describeTarget and migrate (no second parse). */
  target: DatabaseTarget
  /** Absolute path of the migrations directory. */
  migrationsDir: string
  /** As given, for messages. */
  migrationsDirInput: string
  dryRun: boolean
  includeAll: boolean
  /** Seed files from `[db.seed]` (empty unless `include-seed`). */
  seeds: SeedFile[]
  /** sql_paths patterns that matched nothing, for the log. */
  seedWarnings: string[]
  destructive: DestructivePolicy
  lockTimeoutMs: number
  statementTimeoutMs?: number
  health?: HealthConfig
}

/** Reads every input; `workspace` is where relative paths start (the checkout). */
export function getInputs(
  workspace: string,
  read: (name: string) => string,
  debug?: (message: string) => void
): MigrateInputs {
  const v = readInputs(spec, read, debug)
  const databaseUrl = v['database-url']
  let target: DatabaseTarget
  try {
    // Registers the password (raw and decoded) as a secret before anything else.
    target = parseDatabaseUrl(databaseUrl)
    checkTarget(target)
  } catch (error) {
    throw new ConfigurationError(
      `Input 'database-url' (secret, not shown) is not usable: ${(error as Error).message}`
    )
  }
  const dirInput = v['migrations-dir']
  const migrationsDir = path.resolve(workspace, dirInput)
  if (!existsSync(migrationsDir))
    throw new ConfigurationError(
      `Input 'migrations-dir' has an invalid value ${JSON.stringify(dirInput)}: no such directory in the workspace (${migrationsDir}); check out the repository first (actions/checkout)`
    )
  // `<root>/supabase/migrations`: seeds come from `[db.seed]` in `<root>/supabase/config.toml`.
  const supabaseDir = path.dirname(migrationsDir)
  // No seeds unless asked for (and, in findSeedFiles, unless [db.seed] is enabled).
  let found: Pick<SeedFiles, 'seeds' | 'warnings'> = { seeds: [], warnings: [] }
  if (v['include-seed']) {
    try {
      found = findSeedFiles(path.dirname(supabaseDir), supabaseDir)
    } catch (error) {
      throw new ConfigurationError(`Input 'include-seed': ${(error as Error).message}`)
    }
  }
  return {
    ...commonInputs(v),
    databaseUrl,
    target,
    migrationsDir,
    migrationsDirInput: dirInput,
    dryRun: v['dry-run'],
    includeAll: v['include-all'],
    seeds: found.seeds,
    seedWarnings: found.warnings,
    destructive: v.destructive,
    lockTimeoutMs: v['lock-timeout'],
    statementTimeoutMs: v['statement-timeout'],
    health: healthConfig('health-', v)
  }
}
