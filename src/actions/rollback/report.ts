import { table } from '../../runtime/summary.js'

/** One deploy (Render) or deployment (Vercel) looked at while choosing the target. */
export interface Candidate {
  id: string
  status: string
  createdAt: string
  /** What it ships: commit or image, in words. */
  what: string
  verdict: 'current' | 'chosen' | 'skipped'
  /** Why it was skipped, or chosen. */
  reason: string
}

/** What a platform resolved: where production is now and where it goes back to. */
export interface Resolution {
  /** What serves now (rolled back from). */
  current: Candidate
  target: Candidate
  /** Newest first: the current one, each skipped one, and the chosen one. */
  candidates: Candidate[]
  /** Something the reader must know before the change (an in-progress deploy, ...). */
  warnings: string[]
}

export function candidatesTable(candidates: Candidate[]): string {
  const mark = { current: '▶️ current', chosen: '✅ chosen', skipped: '⏭️ skipped' }
  return table(
    ['Candidate', 'Status', 'Created', 'Of', 'Verdict', 'Why'],
    candidates.map(c => [c.id, c.status, c.createdAt, c.what, mark[c.verdict], c.reason])
  )
}

/** The `candidates` output: the same list as JSON. */
export function candidatesJson(candidates: Candidate[]): string {
  return JSON.stringify(
    candidates.map(c => ({
      id: c.id,
      status: c.status,
      createdAt: c.createdAt,
      what: c.what,
      verdict: c.verdict,
      reason: c.reason
    }))
  )
}

/** A GitHub Deployment status description holds at most 140 characters. */
export function shortDescription(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim()
  return line.length > 140 ? `${line.slice(0, 139)}…` : line
}
