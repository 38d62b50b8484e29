import { rm } from 'node:fs/promises'
import type { Clients } from '../../providers/clients.js'
import type { Host } from '../../runtime/host.js'
import { ConfigurationError, errorMessage } from '../../runtime/errors.js'
import { runAction, type Outcome, type RunState } from '../../runtime/run-action.js'
import { redact } from '../../runtime/redact.js'
import { findIncident, type IncidentSettings } from '../../engines/incident/incident.js'
import { incidents, type Incidents } from '../../engines/incident/lifecycle.js'
import { forEnvironment } from '../../engines/incident/severity.js'
import { getInputs, OUTPUTS, type BackupInputs } from './inputs.js'
import { formatBytes, summaryMarkdown } from './report.js'
import type { BackupState, Stage } from './engine/backup.js'

type State = RunState<keyof typeof OUTPUTS, Clients>

const STAGE_TEXT: Record<Stage, string> = {
  connect: 'connecting to the database',
  client: 'finding a pg_dump that matches the server',
  dump: 'dumping',
  verify: 'verifying the backup',
  restore: 'the restore drill',
  deliver: 'uploading the verified backup',
  done: 'finishing'
}

export function run(host: Host<Clients>): Promise<Outcome> {
  return runAction(host, 'db-backup', OUTPUTS, async state => {
    const started = host.clock.now()
    const inputs = getInputs(host.paths, new Date(started), host.input, host.log.debug)
    state.outputs.set('encrypted', inputs.encryption)
    // An artifact needs the runner's results service; without it, say so before dumping anything.
    if (
      inputs.destination === 'artifact' &&
      !(host.env.ACTIONS_RUNTIME_TOKEN && host.env.ACTIONS_RESULTS_URL)
    )
      throw new ConfigurationError(
        "Input 'destination' is 'artifact', but this run has no GitHub artifact service (ACTIONS_RUNTIME_TOKEN and ACTIONS_RESULTS_URL are not set): use destination: path (and output-dir) outside a GitHub runner"
      )
    // The heavy part (pg, the crypto libraries) loads only once the inputs are valid.
    const engine = await import('./engine/backup.js')
    const target = engine.sourceTarget(inputs)
    const settings: IncidentSettings = { ...inputs.incident, action: 'db-backup', target }
    const incident = incidents(state, inputs.githubToken, settings)
    const s = engine.newBackupState(inputs)
    let artifactId: number | undefined
    let failure: unknown
    let delivered = false
    // A run cancelled before it finished keeps no backup (the dump's partial file has its own hook).
    // The outputs then say what was known (server, client, time), with no file and nothing verified.
    const unhook = host.cancellation.onCancel(async () => {
      if (!delivered) await discard(s)
      setOutputs(state, s, artifactId, (host.clock.now() - started) / 1000)
    })
    try {
      await engine.backup(inputs, s, {
        log: host.log,
        env: host.env as NodeJS.ProcessEnv,
        now: () => host.clock.now(),
        onCancel: hook => host.cancellation.onCancel(hook)
      })
      if (inputs.destination === 'artifact' && s.file) {
        s.stage = 'deliver'
        artifactId = await deliver(host, inputs, s)
      }
      // A cancel that raced the last steps (the rename, the upload) still keeps no backup.
      delivered = !host.cancellation.cancelled
      s.stage = 'done'
    } catch (error) {
      failure = error
    } finally {
      unhook()
      // Only a delivered backup keeps its name: an upload that failed or was cancelled leaves none.
      if (!delivered && s.file) await discard(s)
    }
    const duration = (host.clock.now() - started) / 1000
    setOutputs(state, s, artifactId, duration)
    state.summary.add(
      summaryMarkdown(inputs, s, {
        artifactId,
        runId: host.context.runId,
        repository: `${host.context.owner}/${host.context.repo}`,
        durationSeconds: duration
      })
    )
    for (const w of s.warnings) host.log.warning(w)

    if (failure === undefined) {
      await incident.resolve()
      const drill = s.drill ? `, restore drill passed in ${s.drill.seconds.toFixed(1)} s` : ''
      const where = artifactId !== undefined ? `artifact ${artifactId}` : s.file
      return {
        ok: true,
        verdict: `✅ verified backup ${s.fileName} (${formatBytes(s.bytes ?? 0)}, ${inputs.encryption === 'false' ? 'not encrypted' : `${inputs.encryption}-encrypted`}) in ${where}${drill}`
      }
    }
    const message = redact(errorMessage(failure))
    const severity = await reportFailure(host, incident, settings, inputs, s, message, failure)
    const what = s.stage === 'deliver' ? 'backup verified but not uploaded' : 'no verified backup'
    return {
      ok: false,
      verdict: `❌ ${what} (${severity.toUpperCase()}), failed while ${STAGE_TEXT[s.stage]}: ${message}`
    }
  })
}

async function deliver(host: Host<Clients>, inputs: BackupInputs, s: BackupState): Promise<number> {
  const { repositoryVisibility, uploadArtifact } = await import('./engine/deliver.js')
  const visibility = repositoryVisibility(host.env.GITHUB_EVENT_PATH)
  if (inputs.encryption === 'false' && visibility !== 'private')
    s.warnings.push(
      `The backup is not encrypted and ${visibility === 'public' ? 'this repository is public' : 'the repository may be public'}: anyone who can read the workflow run can download the database. Set 'recipients' (age public keys) or 'passphrase'.`
    )
  const up = await uploadArtifact(s.file!, inputs.retentionDays)
  host.log.info(`Uploaded artifact ${up.name} (id ${up.id}, ${formatBytes(up.size)})`)
  return up.id
}

/** Removes a backup that was not delivered; the outputs then name no file. */
async function discard(s: BackupState): Promise<void> {
  const file = s.file
  s.file = undefined
  if (file) await rm(file, { force: true })
}

function setOutputs(
  state: State,
  s: BackupState,
  artifactId: number | undefined,
  duration: number
): void {
  const { outputs } = state
  outputs.set('path', s.file)
  outputs.set('size-bytes', s.file ? s.bytes : undefined)
  outputs.set('sha256', s.file ? s.sha256 : undefined)
  outputs.set('server-version', s.serverVersion)
  outputs.set('pg-dump-version', s.client?.version)
  outputs.set('verified', s.file !== undefined)
  // Milliseconds shown: a small restore takes under 0.05 s, which one decimal would print as 0.0.
  outputs.set('restore-seconds', s.drill ? s.drill.seconds.toFixed(3) : undefined)
  outputs.set('artifact-id', artifactId)
  outputs.set('duration-seconds', duration.toFixed(1))
}

/** Failed runs recorded on the open incident: the opening plus each "Failed again" comment. */
async function previousFailures(
  incident: Incidents,
  settings: IncidentSettings,
  host: Host<Clients>
): Promise<number> {
  const github = incident.github
  if (!github || !settings.open) return 0
  try {
    const open = await findIncident(github, settings)
    if (!open) return 0
    const { owner, repo } = host.context
    const { data } = await github.call<Array<{ body?: string }>>(
      'GET',
      `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/issues/${open.number}/comments?per_page=100`
    )
    return 1 + (data ?? []).filter(c => (c.body ?? '').startsWith('### Failed again')).length
  } catch (error) {
    host.log.warning(`Could not count earlier failed backups: ${errorMessage(error)}`)
    return 0
  }
}

/** SEV3 "no verified backup"; SEV2 once `consecutive-failures` runs in a row have failed. */
async function reportFailure(
  host: Host<Clients>,
  incident: Incidents,
  settings: IncidentSettings,
  inputs: BackupInputs,
  s: BackupState,
  message: string,
  failure: unknown
): Promise<string> {
  const inARow = (await previousFailures(incident, settings, host)) + 1
  const base = inARow >= inputs.consecutiveFailures ? 'sev2' : 'sev3'
  const severity = forEnvironment(base, inputs.environment)
  const stderr = (failure as { stderr?: string }).stderr
  const delivered = s.stage === 'deliver'
  await incident.fail({
    severity,
    cause: delivered
      ? `backup not uploaded: ${message.split('\n')[0]}`
      : `no verified backup: ${message.split('\n')[0]}`,
    details:
      `The backup of \`${s.target}\` failed while ${STAGE_TEXT[s.stage]}. ` +
      (delivered
        ? 'The backup passed verification but no artifact holds it; the file was removed from the runner (a backup that was not delivered is not kept).'
        : 'No backup file was kept: partial output was removed, so nothing that looks like a good backup is left behind.') +
      ` This is failed run ${inARow} in a row${inARow >= inputs.consecutiveFailures ? ` (at least ${inputs.consecutiveFailures}: raised to SEV2)` : ` (SEV2 after ${inputs.consecutiveFailures})`}.`,
    evidence:
      '```\n' +
      redact(
        [message, stderr ? `\npg_dump/pg_restore said:\n${stderr.slice(-4000)}` : ''].join('')
      ).replace(/`{3,}/g, "'''") +
      '\n```',
    actions: [
      s.serverVersion
        ? `Server PostgreSQL ${s.serverVersion}; pg_dump ${s.client?.version ?? 'not chosen'}.`
        : 'Could not read the server version.',
      'Removed any partial file; the last good backup (if any) is untouched.'
    ],
    runbook: ['database']
  })
  return severity
}
