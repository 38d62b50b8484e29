import type { Clients } from '../../providers/clients.js'
import type { Host } from '../../runtime/host.js'
import { runAction, type Outcome, type RunState } from '../../runtime/run-action.js'
import { ConfigurationError, errorMessage } from '../../runtime/errors.js'
import { DatabaseUnavailableError, describeTarget } from '../../providers/postgres/client.js'
import { forEnvironment } from '../../engines/incident/severity.js'
import { healthStep } from '../../engines/health/step.js'
import { incidents, type Incidents } from '../../engines/incident/lifecycle.js'
import { table } from '../../runtime/summary.js'
import { MigrationError } from './engine/failure.js'
import { LockTimeoutError } from './engine/lock.js'
import { cancelMigration, migrate, newState, type MigrateState } from './engine/engine.js'
import { getInputs, type MigrateInputs } from './inputs.js'

const OUTPUTS = {
  applied: '0',
  'applied-versions': '',
  pending: '0',
  'current-version': '',
  'issue-number': '',
  'issue-url': ''
}
type State = RunState<keyof typeof OUTPUTS, Clients>

export function run(host: Host<Clients>): Promise<Outcome> {
  return runAction(host, 'db-migrate', OUTPUTS, async state => {
    const inputs = getInputs(host.paths.workspace, host.input, host.log.debug)
    const incident = incidents(state, inputs.githubToken, {
      ...inputs.incident,
      action: 'db-migrate',
      target: describeTarget(inputs.target)
    })
    const m = newState()
    // Outputs and the plan, written once the migration has stopped: by the body,
    // or by the cancel hook when the run is cancelled (runAction may return first).
    let reported = false
    const report = (): void => {
      setOutputs(state, m)
      if (!reported) state.summary.add(planMarkdown(inputs, m))
      reported = true
    }
    let running: Promise<unknown> = Promise.resolve()
    let stopping: Promise<void> | undefined
    host.cancellation.onCancel(
      () =>
        (stopping ??= cancelMigration(m, running, { clock: host.clock })
          .catch((error: unknown) =>
            host.log.warning(
              `Could not check the migration history after the cancel: ${errorMessage(error)}`
            )
          )
          .then(report))
    )
    for (const w of inputs.seedWarnings) host.log.warning(`include-seed: ${w}`)
    try {
      running = host.log.group(inputs.dryRun ? 'Migration plan (dry run)' : 'Migrations', () =>
        migrate(
          {
            databaseUrl: inputs.databaseUrl,
            target: inputs.target,
            migrationsDir: inputs.migrationsDir,
            dryRun: inputs.dryRun,
            includeAll: inputs.includeAll,
            seeds: inputs.seeds,
            destructive: inputs.destructive,
            lockTimeoutMs: inputs.lockTimeoutMs,
            statementTimeoutMs: inputs.statementTimeoutMs,
            log: host.log,
            clock: host.clock
          },
          m
        )
      )
      await running
    } catch (error) {
      if (host.cancellation.cancelled) {
        await stopping
        // The cancel interrupted a non-atomic file: say so, it may need fixing by hand.
        const cut =
          error instanceof MigrationError &&
          error.partial &&
          !m.applied.some(a => a.version === error.version)
            ? `; ${error.file} was interrupted and may be partially applied (${error.outcome})`
            : ''
        if (cut) host.log.warning(cut.slice(2))
        return { ok: false, verdict: stoppedVerdict(m) + cut }
      }
      await reportMigrationFailure(incident, inputs, m, error)
      throw error
    } finally {
      report()
    }

    if (inputs.dryRun)
      return {
        ok: true,
        verdict: `📝 dry run: ${m.pending.length} migration(s) would be applied; nothing was written`
      }

    const applied = `${m.applied.length} migration(s) applied, now at ${m.currentVersion || 'no version'}`
    if (inputs.health) {
      const step = await healthStep(
        host,
        state.summary,
        'Health gate',
        'Health after migrating',
        inputs.health
      )
      if (!step.gate.healthy) {
        const severity = forEnvironment('sev1', inputs.environment)
        await incident.fail({
          severity,
          cause: `API unhealthy after migrating: ${step.cause}`,
          details: `${applied}. The health checks that depend on the schema failed afterwards.`,
          evidence: [appliedTable(m), step.evidence].join('\n\n'),
          actions: [
            `Applied ${m.applied.map(a => `\`${a.file}\``).join(', ') || 'no migration'}; each file committed with its history row.`,
            'Ran the health gate; it failed. Migrations are not reverted automatically: decide whether to roll the API back or fix forward.'
          ],
          runbook: ['database', ...step.runbook],
          url: step.url
        })
        return {
          ok: false,
          verdict: `❌ ${applied}, but the API is unhealthy (${severity.toUpperCase()}): ${step.cause}`
        }
      }
    }
    await incident.resolve()
    return { ok: true, verdict: `✅ ${applied}` }
  })
}

/** A cancelled run: what the history holds now. */
function stoppedVerdict(m: MigrateState): string {
  const left = m.pending.length - m.applied.length
  return (
    `stopped with ${m.applied.length} migration(s) applied, now at ${m.currentVersion || 'no version'}` +
    (left > 0 ? `; ${left} not attempted` : '')
  )
}

function setOutputs({ outputs }: State, m: MigrateState): void {
  outputs.set('applied', m.applied.length)
  outputs.set('applied-versions', m.applied.map(a => a.version).join(','))
  outputs.set('pending', m.pending.length)
  outputs.set('current-version', m.currentVersion)
}

/**
 * A failed file is an incident: SEV2 when it rolled back cleanly (production
 * keeps the old schema), SEV1 when part of a non-atomic file stayed applied.
 * Configuration mistakes and a held lock are the user's to fix, not incidents.
 */
async function reportMigrationFailure(
  incident: Incidents,
  inputs: MigrateInputs,
  m: MigrateState,
  error: unknown
): Promise<void> {
  if (error instanceof ConfigurationError || error instanceof LockTimeoutError) return
  if (error instanceof DatabaseUnavailableError) {
    const exhausted = error.kind === 'exhausted'
    await incident.fail({
      severity: forEnvironment('sev1', inputs.environment),
      cause: exhausted ? 'connection pool exhausted' : 'database unreachable',
      details: `${error.message} No migration was applied: the database could not be reached from the runner.`,
      evidence: `\`\`\`\n${error.message.replace(/`{3,}/g, "'''")}\n\`\`\``,
      actions: [
        'Connected to nothing; no migration was attempted. Rerun db-migrate once the database answers.'
      ],
      runbook: ['database']
    })
    return
  }
  const failed = error instanceof MigrationError ? error : undefined
  // Partial: a non-atomic file, or one with its own BEGIN/COMMIT, may have stayed half applied.
  const partial = failed?.partial ?? false
  const severity = forEnvironment(partial ? 'sev1' : 'sev2', inputs.environment)
  const message = errorMessage(error)
  await incident.fail({
    severity,
    cause: failed
      ? `${failed.file} failed ${failed.at}${failed.sqlState ? ` (SQLSTATE ${failed.sqlState})` : ''}`
      : message.split('\n')[0],
    details: failed
      ? `Migration \`${failed.file}\` failed ${failed.at}${failed.position ? `, line ${failed.position.line}, column ${failed.position.column} of the statement` : ''}. ${partial ? `${failed.outcome} The migration history does not record it.` : 'It was rolled back completely: schema and history are as they were before it.'}`
      : 'The migration run failed before it could finish.',
    evidence: `\`\`\`\n${message.replace(/`{3,}/g, "'''")}\n\`\`\``,
    actions: [
      `Applied ${m.applied.length} migration(s) before the failure; later files were not attempted.`,
      'Released the migration lock.'
    ],
    runbook: ['migration', 'database']
  })
}

function appliedTable(m: MigrateState): string {
  if (m.applied.length === 0) return '_No migration was applied._'
  return table(
    ['Version', 'File', 'Statements', 'Atomic', 'Time'],
    m.applied.map(a => [
      a.version,
      a.file,
      a.statements,
      a.atomic ? 'yes' : '**no**',
      `${a.durationMs} ms`
    ])
  )
}

/** The plan and what happened to it, for the job summary. */
function planMarkdown(inputs: MigrateInputs, m: MigrateState): string {
  const applied = new Set(m.applied.map(a => a.version))
  const parts: string[] = []
  parts.push(
    `Database \`${m.target ?? 'not connected'}\`${m.server ? ` (PostgreSQL ${m.server.version})` : ''}, migrations from \`${inputs.migrationsDirInput}\`, current version \`${m.currentVersion || 'none'}\`.`
  )
  if (m.cancelled)
    parts.push(
      `**Cancelled:** ${m.applied.length} migration(s) applied (the history now ends at \`${m.currentVersion || 'none'}\`); ${Math.max(0, m.pending.length - m.applied.length)} not applied.`
    )
  if (m.pending.length === 0) parts.push('No pending migrations: the database is up to date.')
  else
    parts.push(
      `### ${inputs.dryRun ? 'Would apply' : 'Pending migrations'}\n\n` +
        table(
          ['Version', 'File', 'Statements', 'Atomic', 'Result'],
          m.pending.map(p => [
            p.version,
            p.file,
            p.statements,
            p.atomic
              ? 'yes'
              : `**no** (${p.mode === 'transactional' ? 'statements that cannot run in a transaction run on their own' : p.mode})`,
            inputs.dryRun ? 'planned' : applied.has(p.version) ? '✅ applied' : 'not applied'
          ])
        )
    )
  if (m.destructive.length)
    parts.push(
      `### Destructive changes (destructive: ${inputs.destructive})\n\n` +
        table(
          ['File', 'Statement', 'Change', 'SQL'],
          m.destructive.map(d => [d.file, d.statement, d.kind, d.text.slice(0, 120)])
        )
    )
  if (m.drift.length) parts.push(`### Drift\n\n${m.drift.map(d => `- ${d.message}`).join('\n')}`)
  if (m.seeds.length)
    parts.push(
      `### Seeds\n\n${m.seeds.map(s => `- \`${s.path}\`${s.dirty ? ' (changed: hash updated only, as the CLI does)' : ''}`).join('\n')}`
    )
  return parts.join('\n\n')
}
