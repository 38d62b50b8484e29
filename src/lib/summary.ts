import * as core from '@actions/core'
import type { CheckResult } from './health.js'
import { redact } from './redact.js'

const LIMIT = 1024 * 1024 - 4096

/** Escapes a value for a Markdown table cell. */
export function cell(value: unknown): string {
  if (value === undefined || value === null || value === '') return '—'
  return String(value).replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')
}

export function table(header: string[], rows: unknown[][]): string {
  const line = (cols: unknown[]): string => `| ${cols.map(cell).join(' | ')} |`
  return [line(header), `|${header.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n')
}

export function checksTable(results: CheckResult[]): string {
  if (results.length === 0) return '_No checks ran._'
  return table(
    ['Check', 'URL', 'Status', 'Latency', 'Verdict'],
    results.map(r => [
      r.name,
      r.url,
      r.status ?? r.errorKind ?? '',
      r.latencyMs !== undefined ? `${r.latencyMs} ms` : '',
      r.ok ? '✅ pass' : `❌ ${r.reasons.join('; ')}`
    ])
  )
}

/** A job summary assembled during the run and written once, in `finally`. */
export class Summary {
  private readonly parts: string[] = []

  constructor(private readonly title: string) {}

  add(markdown: string): this {
    if (markdown) this.parts.push(markdown)
    return this
  }

  section(heading: string, markdown: string): this {
    return this.add(`### ${heading}\n\n${markdown}`)
  }

  render(verdict: string): string {
    let md = redact([`## ${this.title}`, verdict, ...this.parts].join('\n\n')) + '\n'
    if (md.length > LIMIT) md = md.slice(0, LIMIT) + '\n\n_Summary truncated at the 1 MiB limit._\n'
    return md
  }

  /** Writes the summary; a failure to write only warns. */
  async write(verdict: string): Promise<void> {
    if (!process.env.GITHUB_STEP_SUMMARY) return
    try {
      await core.summary.emptyBuffer().addRaw(this.render(verdict)).write()
    } catch (error) {
      core.warning(`Could not write the job summary: ${(error as Error).message}`)
    }
  }
}
