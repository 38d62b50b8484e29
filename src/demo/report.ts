// The demo's report folder: each job summary as Markdown, the fake GitHub's
// issues with their comments, results.json, and report.html rendered by marked.
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { marked } from 'marked'
import type { FakeIssue } from '../fakes/github.js'
import { table } from '../runtime/summary.js'
import type { ScenarioRun } from './main.js'

export function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
}

export const MARK: Record<ScenarioRun['outcome'], string> = {
  passed: '✅ as expected',
  partial: '✅ as expected (part skipped)',
  failed: '❌ NOT as expected',
  skipped: '⏭️ skipped'
}

export function issuesMarkdown(issues: FakeIssue[]): string {
  if (issues.length === 0) return '_No issues were opened._\n'
  return issues
    .map(i => {
      const labels = i.labels.map(l => `\`${l.name}\``).join(' ')
      const comments = i.comments.map((c, n) => `#### Comment ${n + 1}\n\n${c.body}`)
      return [
        `<a id="issue-${i.number}"></a>\n\n## #${i.number} ${i.title}`,
        `**${i.state}**${i.state_reason ? ` (${i.state_reason})` : ''} · labels ${labels || '—'} · opened ${i.created_at}${i.closed_at ? ` · closed ${i.closed_at}` : ''}`,
        i.body ?? '',
        ...comments
      ].join('\n\n')
    })
    .join('\n\n---\n\n')
}

const CSS = `body{font:15px/1.5 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#1f2328}
h1,h2{border-bottom:1px solid #d1d9e0;padding-bottom:.3em}
table{border-collapse:collapse;margin:1em 0;display:block;overflow:auto}
th,td{border:1px solid #d1d9e0;padding:6px 13px}tr:nth-child(2n){background:#f6f8fa}
code,pre{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;background:#eff1f3;border-radius:6px}
code{padding:.2em .4em}pre{padding:16px;overflow:auto}pre code{padding:0;background:none}
blockquote{margin:0;padding:0 1em;color:#59636e;border-left:.25em solid #d1d9e0}
section.job{border:1px solid #d1d9e0;border-radius:6px;padding:0 1.5em;margin:1.5em 0}
section.issue{border:1px solid #d1d9e0;border-radius:6px;padding:0 1.5em;margin:1.5em 0;background:#fff}`

/** Writes every file of the report; returns the path of report.html. */
export function writeReport(
  dir: string,
  runs: ScenarioRun[],
  issues: FakeIssue[],
  header: string
): string {
  const overview = table(
    ['', 'Scenario', 'Outcome', 'Steps', 'Time'],
    runs.map((r, i) => [
      i + 1,
      r.title,
      MARK[r.outcome],
      r.steps.map(s => `${s.label}: exit ${s.code}`).join('; '),
      `${(r.durationMs / 1000).toFixed(1)} s`
    ])
  )
  const parts: string[] = [header, overview]
  runs.forEach((r, i) => {
    const n = i + 1
    const checks = r.checks.map(c => `- ${c.ok ? '✅' : '❌'} ${c.what}`).join('\n')
    parts.push(
      [
        `## ${n}. ${r.title}: ${MARK[r.outcome]}`,
        `Expected: ${r.expected}.`,
        r.skipped ? `> [!NOTE]\n> ${r.skipped}` : '',
        checks
      ]
        .filter(Boolean)
        .join('\n\n')
    )
    r.steps.forEach((s, j) => {
      const file = `${String(n).padStart(2, '0')}-${j + 1}-${slug(s.label)}.md`
      writeFileSync(path.join(dir, file), s.summary)
      parts.push(
        `<section class="job">\n\n_Job summary of **${s.label}** (${(s.durationMs / 1000).toFixed(1)} s, exit ${s.code}, [${file}](${file}))_\n\n${s.summary}\n\n</section>`
      )
    })
  })
  const issuesMd = issuesMarkdown(issues)
  writeFileSync(path.join(dir, 'issues.md'), `# Issues in the fake GitHub\n\n${issuesMd}`)
  writeFileSync(path.join(dir, 'issues.json'), `${JSON.stringify(issues, null, 2)}\n`)
  parts.push(
    `# Issues in the fake GitHub\n\n<section class="issue">\n\n${issuesMd.split('\n\n---\n\n').join('\n\n</section>\n\n<section class="issue">\n\n')}\n\n</section>`
  )
  // Links to the fake GitHub's issues go to their copy further down the page.
  const local = parts
    .join('\n\n')
    .replace(/https:\/\/github\.com\/[\w.-]+\/[\w.-]+\/issues\/(\d+)/g, '#issue-$1')
  const body = marked.parse(local, { gfm: true, async: false })
  const html = `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Shipgate demo report</title><style>${CSS}</style></head><body>\n${body}\n</body></html>\n`
  const file = path.join(dir, 'report.html')
  writeFileSync(file, html)
  return file
}
