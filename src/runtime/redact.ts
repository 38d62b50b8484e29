/**
 * Every secret the action has seen. Values are masked in the log at once and
 * replaced by `***` in anything written elsewhere (issues, summaries, records).
 */
const secrets = new Set<string>()
/** The same, longest first, so a secret that contains another is replaced whole. */
let ordered: string[] = []
/** Where a new secret is masked in the log (the host sets it: `core.setSecret` on a runner). */
let maskSink: (value: string) => void = () => {}

export function setMaskSink(sink: (value: string) => void): void {
  maskSink = sink
}

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
      maskSink(trimmed)
      if (trimmed.length >= 3 && !secrets.has(trimmed)) {
        secrets.add(trimmed)
        ordered = [...secrets].sort((a, b) => b.length - a.length)
      }
    }
  }
}

/**
 * A header value is a secret, and so is the credential inside it: `Bearer <token>`
 * echoed back without its scheme word, or the user:password of Basic auth.
 */
export function addHeaderSecret(value: string): void {
  addSecret(value)
  const m = value.match(/^(Bearer|Basic|Token|Bot|Digest|ApiKey)\s+(.+)$/i)
  if (!m) return
  addSecret(m[2])
  if (/^basic$/i.test(m[1])) {
    const decoded = Buffer.from(m[2], 'base64').toString('utf8')
    addSecret(decoded)
    addSecret(decoded.split(':').slice(1).join(':'))
  }
}

/** Secrets carried in a URL: the userinfo password and credential-like query values. */
export function addUrlSecrets(url: string): void {
  // Even a value that is not a valid URL may carry `user:password@`: register it first.
  const userinfo = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)@/i.exec(url.trim())?.[1]
  if (userinfo?.includes(':')) addSecret(userinfo.slice(userinfo.indexOf(':') + 1))
  try {
    const u = new URL(url)
    // Raw as written, and (in addSecret) decoded when it decodes: `p%ZZ` is not encoding.
    if (u.password) addSecret(u.password)
    for (const [k, v] of u.searchParams)
      if (/key|token|secret|sig|pass|auth|code/i.test(k)) addSecret(v)
  } catch {
    // not a URL: nothing more to register
  }
}

/**
 * A URL (or text holding URLs) for a table, output, issue or error: every
 * userinfo password replaced by `***` whatever its length (short ones are not in
 * the redaction list), then redacted.
 */
export function redactUrl(text: string): string {
  return redact(text.replace(/([a-z][a-z0-9+.-]*:\/\/[^\s/?#@:]*):[^\s/?#]*@/gi, '$1:***@'))
}

export function redact(text: string): string {
  let out = text
  for (const s of ordered) {
    out = out.split(s).join('***')
  }
  return out
}

/** For tests: forget every registered secret. */
export function clearSecrets(): void {
  secrets.clear()
  ordered = []
}
