export const SEVERITIES = ['sev1', 'sev2', 'sev3', 'sev4'] as const
export type Severity = (typeof SEVERITIES)[number]

const rank = (s: Severity): number => SEVERITIES.indexOf(s)

/** The most severe of the given levels (sev1 beats sev2). */
export function worst(levels: Array<Severity | undefined>): Severity | undefined {
  const present = levels.filter((s): s is Severity => s !== undefined)
  if (present.length === 0) return undefined
  return present.reduce((a, b) => (rank(a) <= rank(b) ? a : b))
}

/** Environments other than production drop one level, never below sev4. */
/** The less severe of two levels. */
export function leastSevere(a: Severity, b: Severity): Severity {
  return rank(a) >= rank(b) ? a : b
}

export function forEnvironment(level: Severity, environment: string): Severity {
  if (environment === 'production') return level
  return SEVERITIES[Math.min(rank(level) + 1, SEVERITIES.length - 1)]
}

export function isMoreSevere(a: Severity, b: Severity): boolean {
  return rank(a) < rank(b)
}
