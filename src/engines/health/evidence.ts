import { table } from '../../runtime/summary.js'
import type { RunbookKey } from '../incident/runbook.js'
import type { GateResult } from './gate.js'
import type { CheckResult } from './probe.js'

/** The JSON `report` output: one entry per check. */
export function reportJson(results: CheckResult[]): string {
  return JSON.stringify(
    results.map(r => ({
      name: r.name,
      url: r.url,
      ok: r.ok,
      status: r.status ?? null,
      latencyMs: r.latencyMs ?? null,
      error: r.ok ? null : (r.error ?? r.reasons.join('; '))
    }))
  )
}

/** The runbook sections that fit the failing checks. */
export function runbookFor(results: CheckResult[]): RunbookKey[] {
  const keys: RunbookKey[] = []
  for (const r of results.filter(x => !x.ok)) {
    if (r.errorKind) keys.push('outage')
    else if (r.status === 401 || r.status === 403) keys.push('auth')
    else if (r.status !== undefined && r.status >= 500) keys.push('http-503')
    if (r.reasons.some(x => /memory|heap/i.test(x))) keys.push('memory')
    if (r.slowOnly || r.reasons.some(x => x.startsWith('latency'))) keys.push('slow')
  }
  if (keys.includes('http-503') && keys.includes('outage')) keys.push('database')
  return keys
}

/** One line naming the worst failing check, for an issue title. */
export function causeLine(results: CheckResult[]): string {
  const failing = results.filter(r => !r.ok)
  const first = failing.find(r => !r.slowOnly) ?? failing[0]
  if (!first) return 'not confirmed healthy: too few consecutive passing rounds before the deadline'
  const more = failing.length > 1 ? ` (+${failing.length - 1} more)` : ''
  return `${first.name}: ${first.reasons[0]}${more}`
}

/** The evidence table plus the body excerpts of failing checks. */
export function evidenceMarkdown(gate: GateResult): string {
  const excerpts = gate.results
    .filter(r => !r.ok && r.excerpt)
    .map(r => `**${r.name}** answered:\n\n\`\`\`\n${r.excerpt!.replace(/`{3,}/g, "'''")}\n\`\`\``)
  const rounds = `${gate.rounds} round(s) in ${Math.round(gate.durationMs / 100) / 10} s; ${gate.passedRounds} passed; ${gate.required} consecutive passing round(s) required, ${gate.consecutive} at the end.`
  return [checksTable(gate.results), rounds, ...excerpts].join('\n\n')
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
