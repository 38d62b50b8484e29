import { table } from '../../runtime/summary.js'
import type { BackupInputs } from './inputs.js'
import type { BackupState } from './engine/backup.js'

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let v = n / 1024
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`
}

/** The shell commands that decrypt and restore the backup with standard tools only. */
export function restoreCommand(inputs: BackupInputs, fileName: string): string {
  const decrypt =
    inputs.encryption === 'age'
      ? `age -d -i key.txt ${fileName}`
      : inputs.encryption === 'openssl'
        ? `openssl enc -d -aes-256-cbc -pbkdf2 -iter ${inputs.iterations} -md sha256 -pass env:BACKUP_PASSPHRASE -in ${fileName}`
        : undefined
  const target = '"$TARGET_DATABASE_URL"'
  if (inputs.format === 'custom') {
    const restore = `pg_restore --no-owner --no-acl --exit-on-error --dbname=${target}`
    return decrypt ? `${decrypt} | ${restore}` : `${restore} ${fileName}`
  }
  const psql = `psql -X -v ON_ERROR_STOP=1 --single-transaction ${target}`
  return decrypt ? `${decrypt} | gunzip | ${psql}` : `gunzip -c ${fileName} | ${psql}`
}

export function summaryMarkdown(
  inputs: BackupInputs,
  s: BackupState,
  extra: { artifactId?: number; runId: string; repository: string; durationSeconds: number }
): string {
  const parts: string[] = []
  const rows: unknown[][] = [
    ['Database', s.target ? `\`${s.target}\`` : 'not connected'],
    ['Server', s.serverVersion ? `PostgreSQL ${s.serverVersion}` : ''],
    ['pg_dump', s.client ? `${s.client.version} (\`${s.client.pgDump}\`)` : ''],
    ['Format', inputs.format === 'custom' ? 'custom (pg_restore)' : 'plain SQL, gzip'],
    [
      'Encryption',
      inputs.encryption === 'age'
        ? `age, ${inputs.recipients.length} recipient(s)`
        : inputs.encryption === 'openssl'
          ? `AES-256-CBC, PBKDF2-SHA256 ${inputs.iterations} iterations (OpenSSL format)`
          : '**none**'
    ],
    ['File', s.file ? `\`${s.fileName}\`` : '_none: no verified backup_'],
    ['Size', s.file && s.bytes !== undefined ? formatBytes(s.bytes) : ''],
    ['SHA-256', s.file && s.sha256 ? `\`${s.sha256}\`` : ''],
    ['Dump time', s.dumpSeconds !== undefined ? `${s.dumpSeconds.toFixed(1)} s` : ''],
    ['Total time', `${extra.durationSeconds.toFixed(1)} s`]
  ]
  if (extra.artifactId !== undefined)
    rows.push([
      'Artifact',
      `\`${s.fileName}\` (id ${extra.artifactId}, kept ${inputs.retentionDays} days)`
    ])
  parts.push(`### Backup\n\n${table(['Backup', 'Value'], rows)}`)
  if (s.verification)
    parts.push(`### Verification\n\n${s.verification.checks.map(c => `- ✅ ${c}`).join('\n')}`)
  if (s.drill) {
    const shown = s.drill.restored.slice(0, 50)
    const source = new Map((s.expected ?? s.tables ?? []).map(t => [`${t.schema}.${t.name}`, t]))
    parts.push(
      `### Restore drill\n\nRestored into the scratch database in ${s.drill.seconds.toFixed(1)} s; ${s.drill.mismatches.length === 0 ? 'every table and row count matches the source' : `**${s.drill.mismatches.length} table(s) differ**`}.\n\n` +
        table(
          ['Table', 'Source rows', 'Restored rows', 'Compared'],
          shown.map(t => {
            const src = source.get(`${t.schema}.${t.name}`)
            return [`${t.schema}.${t.name}`, src?.rows, t.rows, src?.exact ? 'exact' : 'estimate']
          })
        ) +
        (s.drill.restored.length > shown.length
          ? `\n\n_${s.drill.restored.length - shown.length} more table(s) not shown._`
          : '')
    )
  }
  if (s.file) {
    const download =
      inputs.destination === 'artifact' && extra.artifactId !== undefined
        ? `gh run download ${extra.runId} --repo ${extra.repository} --name ${s.fileName}\n`
        : ''
    parts.push(
      '### Restore\n\n' +
        'Decrypt and restore with standard tools (no Shipgate needed):\n\n' +
        '```sh\n' +
        download +
        `echo "${s.sha256}  ${s.fileName}" | sha256sum -c -\n` +
        `${restoreCommand(inputs, s.fileName)}\n` +
        '```' +
        (inputs.encryption === 'openssl'
          ? '\n\nThe OpenSSL format has no authentication of its own: check the SHA-256 above before restoring.'
          : '')
    )
  }
  if (s.warnings.length) parts.push(`### Warnings\n\n${s.warnings.map(w => `- ${w}`).join('\n')}`)
  return parts.join('\n\n')
}
