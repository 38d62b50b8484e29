import * as core from '@actions/core'

/**
 * Every secret the action has seen. Values are masked in the log at once and
 * replaced by `***` in anything written elsewhere (issues, summaries, records).
 */
const secrets = new Set<string>()

export function addSecret(value: string | undefined): void {
  if (!value) return
  const variants = new Set<string>([value])
  try {
    variants.add(decodeURIComponent(value))
  } catch {
    // not URL-encoded
  }
  variants.add(encodeURIComponent(value))
  for (const v of variants) {
    // Very short values would redact ordinary text; the log mask still applies to them.
    for (const line of v.split(/\r?\n/)) {
      const trimmed = line.trim()
      if (!trimmed) continue
      core.setSecret(trimmed)
      if (trimmed.length >= 3) secrets.add(trimmed)
    }
  }
}

export function redact(text: string): string {
  let out = text
  // Longest first, so a secret that contains another is replaced whole.
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) {
    out = out.split(s).join('***')
  }
  return out
}

/** For tests: forget every registered secret. */
export function clearSecrets(): void {
  secrets.clear()
}
