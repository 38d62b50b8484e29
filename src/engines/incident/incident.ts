import type { RunContext } from '../../runtime/context.js'
import type { Logger } from '../../runtime/logger.js'
import { explainGitHubError, type GitHub, type Issue } from '../../providers/github/client.js'
import { formatDuration } from '../../runtime/inputs.js'
import { redact } from '../../runtime/redact.js'
import { runbookMarkdown, type RunbookKey } from './runbook.js'
import { isMoreSevere, type Severity } from './severity.js'

export interface IncidentSettings {
  action: string
  environment: string
  target: string
  labels: string[]
  assignees: string[]
  open: boolean
  close: boolean
}

export interface FailureReport {
  severity: Severity
  /** One line, for the title. */
  cause: string
  /** Markdown paragraphs: what failed. */
  details: string
  /** Markdown: the evidence (usually a table). */
  evidence: string
  /** What the action did about it. */
  actions: string[]
  runbook: RunbookKey[]
  /** The failing URL, put into the runbook's commands. */
  url?: string
}

export interface IncidentOutcome {
  state: 'opened' | 'updated' | 'closed' | 'unchanged' | 'skipped' | 'failed'
  number?: number
  url?: string
  /** Set when the GitHub API refused: what permission or step is missing. */
  error?: string
}

export function fingerprint(
  s: Pick<IncidentSettings, 'action' | 'environment' | 'target'>
): string {
  return `${s.action}/${s.environment}/${s.target}`
}

/** The first line of every incident body Shipgate writes, and the only place it is matched. */
export function marker(fp: string): string {
  return `<!-- shipgate:incident ${fp.replace(/-->/g, '--&gt;')} -->`
}

/** Whether `body` is the incident of `fp`: its first line is the marker, nothing else counts. */
export function hasMarker(body: string | null, fp: string): boolean {
  return (body ?? '').split(/\r?\n/, 1)[0].trim() === marker(fp)
}

/** Code blocks and code spans, told apart from prose (odd items after a split). */
const CODE = /(^```[^\n]*\n[\s\S]*?^```[ \t]*$|`[^`\n]+`)/m

/**
 * Makes text that quotes what an endpoint or platform said safe to put in an issue:
 * in prose, no HTML (so no comment, tag or forged marker) and no @mention; inside
 * code, no comment opener (a marker an old matcher or a reader could take for real).
 */
export function neutralizeMarkup(markdown: string): string {
  return markdown
    .split(CODE)
    .map((part, i) =>
      i % 2
        ? part.replace(/<!--/g, '<!-\u200b-')
        : part.replace(/</g, '&lt;').replace(/(^|[^\w@`])@(?=[A-Za-z0-9])/g, '$1@\u200b')
    )
    .join('')
}

const SEV_LABEL = /^sev[1-4]$/

function labelNames(issue: Issue): string[] {
  return issue.labels.map(l => (typeof l === 'string' ? l : (l.name ?? '')))
}

function currentSeverity(issue: Issue): Severity | undefined {
  const fromLabel = labelNames(issue).find(l => SEV_LABEL.test(l))
  if (fromLabel) return fromLabel as Severity
  const m = issue.title.match(/^\[SEV([1-4])\]/)
  return m ? (`sev${m[1]}` as Severity) : undefined
}

export function incidentTitle(s: IncidentSettings, severity: Severity, cause: string): string {
  const line = cause.replace(/\s+/g, ' ').trim()
  const title = `[${severity.toUpperCase()}] ${s.environment}: ${s.action} failed for ${s.target}: ${line}`
  return redact(title.length > 240 ? `${title.slice(0, 237)}...` : title)
}

function linksMarkdown(ctx: RunContext): string {
  const links = [
    ctx.runUrl && `[workflow run](${ctx.runUrl})`,
    ctx.commitUrl && `commit [\`${ctx.sha.slice(0, 7)}\`](${ctx.commitUrl})`,
    ctx.refName && `ref \`${ctx.refName}\``,
    ctx.actor && `triggered by @${ctx.actor}`
  ].filter(Boolean)
  return links.join(' · ')
}

function reportMarkdown(r: FailureReport, ctx: RunContext, heading: string): string {
  // Details, evidence and actions quote endpoints and platforms: neutralised.
  const parts = [
    `### ${heading}`,
    neutralizeMarkup(r.details),
    '#### Evidence',
    neutralizeMarkup(r.evidence),
    '#### What Shipgate did',
    neutralizeMarkup(r.actions.map(a => `- ${a}`).join('\n')),
    `#### Links\n${linksMarkdown(ctx)}`
  ]
  const steps = runbookMarkdown(r.runbook, r.url)
  if (steps) parts.push('#### Runbook', steps)
  return parts.filter(Boolean).join('\n\n')
}

export function incidentBody(s: IncidentSettings, r: FailureReport, ctx: RunContext): string {
  const fp = fingerprint(s)
  const head = `${marker(fp)}\n**${r.severity.toUpperCase()}** · environment \`${s.environment}\` · target \`${s.target}\` · opened by Shipgate \`${s.action}\``
  return redact(`${head}\n\n${reportMarkdown(r, ctx, 'What failed')}`)
}

/**
 * The open incident issue for this fingerprint, if any: open issues carrying
 * the first label, every page, pull requests skipped, matched by the marker.
 */
export async function findIncident(
  github: GitHub,
  s: IncidentSettings
): Promise<Issue | undefined> {
  const label = s.labels[0] ?? 'incident'
  const fp = fingerprint(s)
  const issues = await github.listOpenIssues(label)
  return issues.filter(i => hasMarker(i.body, fp)).sort((a, b) => a.number - b.number)[0]
}

/** Opens the incident, or comments on the open one (raising its severity when it rose). */
export async function reportFailure(
  github: GitHub | undefined,
  s: IncidentSettings,
  r: FailureReport,
  ctx: RunContext,
  log: Logger
): Promise<IncidentOutcome> {
  if (!s.open) return { state: 'skipped' }
  if (!github) {
    const message = 'no github-token was given, so no incident issue was opened'
    log.warning(message)
    return { state: 'failed', error: message }
  }
  try {
    const existing = await findIncident(github, s)
    if (!existing) {
      const issue = await github.createIssue({
        title: incidentTitle(s, r.severity, r.cause),
        body: incidentBody(s, r, ctx),
        labels: [...new Set([...s.labels, r.severity])],
        assignees: s.assignees
      })
      log.info(`Opened incident #${issue.number}: ${issue.html_url}`)
      return { state: 'opened', number: issue.number, url: issue.html_url }
    }
    const comment = redact(
      `${reportMarkdown(r, ctx, `Failed again (${r.severity.toUpperCase()})`)}`
    )
    await github.comment(existing.number, comment)
    const was = currentSeverity(existing)
    if (!was || isMoreSevere(r.severity, was)) {
      const labels = labelNames(existing).filter(l => !SEV_LABEL.test(l))
      await github.updateIssue(existing.number, {
        title: incidentTitle(s, r.severity, r.cause),
        labels: [...new Set([...labels, r.severity])]
      })
      log.info(`Incident #${existing.number} raised to ${r.severity.toUpperCase()}`)
    }
    log.info(`Updated incident #${existing.number}: ${existing.html_url}`)
    return { state: 'updated', number: existing.number, url: existing.html_url }
  } catch (error) {
    return refused(
      log,
      `could not open or update the incident issue: ${explainGitHubError(error, 'issues: write')}`
    )
  }
}

/** Closes the open incident for this fingerprint, if any, with a resolution comment. */
export async function resolveIncident(
  github: GitHub | undefined,
  s: IncidentSettings,
  ctx: RunContext,
  log: Logger,
  now = Date.now()
): Promise<IncidentOutcome> {
  if (!s.close || !github) return { state: 'skipped' }
  try {
    const existing = await findIncident(github, s)
    if (!existing) return { state: 'unchanged' }
    const after = formatDuration(Math.max(0, now - Date.parse(existing.created_at)))
    const run = ctx.runUrl ? ` ([run](${ctx.runUrl}))` : ''
    await github.comment(existing.number, redact(`Resolved: healthy again after ${after}${run}.`))
    await github.updateIssue(existing.number, { state: 'closed', state_reason: 'completed' })
    log.info(`Closed incident #${existing.number}: healthy again after ${after}`)
    return { state: 'closed', number: existing.number, url: existing.html_url }
  } catch (error) {
    return refused(
      log,
      `could not close the incident issue: ${explainGitHubError(error, 'issues: write')}`
    )
  }
}

/**
 * Comments on the open incident of each `{action, target}` (this environment and
 * labels), leaving it open: a rollback reports recovery, the post-mortem closes it.
 * Each issue is commented once, even when several fingerprints name it.
 */
export async function commentOnIncidents(
  github: GitHub | undefined,
  s: Omit<IncidentSettings, 'action' | 'target'>,
  targets: Array<Pick<IncidentSettings, 'action' | 'target'>>,
  body: string,
  log: Logger
): Promise<{ commented: Issue[]; error?: string }> {
  const commented: Issue[] = []
  if (!github) return { commented }
  try {
    for (const t of targets) {
      const issue = await findIncident(github, { ...s, ...t })
      if (!issue || commented.some(i => i.number === issue.number)) continue
      // The body quotes gates and platforms: neutralised like every report.
      await github.comment(issue.number, redact(neutralizeMarkup(body)))
      log.info(`Commented on incident #${issue.number}: ${issue.html_url}`)
      commented.push(issue)
    }
    return { commented }
  } catch (error) {
    const message = `could not comment on the open incident: ${explainGitHubError(error, 'issues: write')}`
    log.error(message)
    return { commented, error: message }
  }
}

function refused(log: Logger, message: string): IncidentOutcome {
  log.error(message)
  return { state: 'failed', error: message }
}
