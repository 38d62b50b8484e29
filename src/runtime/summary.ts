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

  /** The Markdown: title, verdict, the sections, and the verdict again as the last line. */
  render(verdict: string): string {
    const last = `\n\n${verdict}\n`
    let md = redact([`## ${this.title}`, verdict, ...this.parts].join('\n\n'))
    if (md.length > LIMIT) md = md.slice(0, LIMIT) + '\n\n_Summary truncated at the 1 MiB limit._'
    return md + redact(last)
  }
}
