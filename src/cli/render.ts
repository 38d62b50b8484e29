import { Lexer, type Token, type Tokens } from 'marked'

/** ANSI styles, or none (not a terminal, or NO_COLOR). */
export interface Style {
  bold(s: string): string
  dim(s: string): string
  code(s: string): string
  /** A line of a code block (indented already; no backticks). */
  block(s: string): string
}

export const plain: Style = { bold: s => s, dim: s => s, code: s => `\`${s}\``, block: s => s }

export const ansi: Style = {
  bold: s => `\x1b[1m${s}\x1b[22m`,
  dim: s => `\x1b[2m${s}\x1b[22m`,
  code: s => `\x1b[36m${s}\x1b[39m`,
  block: s => `\x1b[36m${s}\x1b[39m`
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g

/** Width of a string as shown (ANSI codes take none; emoji take two). */
export function width(s: string): number {
  let w = 0
  for (const ch of s.replace(ANSI, '')) {
    const cp = ch.codePointAt(0) ?? 0
    if (cp === 0xfe0f || cp === 0x200d) continue
    w += cp >= 0x1f300 || (cp >= 0x2600 && cp <= 0x27bf) || (cp >= 0x2b00 && cp <= 0x2bff) ? 2 : 1
  }
  return w
}

const ALERTS: Record<string, string> = {
  NOTE: 'ℹ️ ',
  TIP: '💡',
  IMPORTANT: '❗',
  WARNING: '⚠️ ',
  CAUTION: '⛔'
}

function inline(tokens: Token[] | undefined, st: Style): string {
  let out = ''
  for (const t of tokens ?? []) {
    switch (t.type) {
      case 'strong':
        out += st.bold(inline((t as Tokens.Strong).tokens, st))
        break
      case 'em':
      case 'del':
        out += inline((t as Tokens.Em).tokens, st)
        break
      case 'codespan':
        out += st.code(decode((t as Tokens.Codespan).text))
        break
      case 'link': {
        const l = t as Tokens.Link
        const text = inline(l.tokens, st)
        out += text === l.href ? text : `${text} ${st.dim(`<${l.href}>`)}`
        break
      }
      case 'br':
        out += '\n'
        break
      case 'html':
        // Comments (the incident marker) and tags are not shown.
        break
      case 'text':
      case 'escape':
        out += 'tokens' in t && t.tokens ? inline(t.tokens, st) : decode(t.text as string)
        break
      default:
        out += decode(String(t.raw ?? ''))
    }
  }
  return out
}

function decode(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
}

function pad(s: string, w: number): string {
  return s + ' '.repeat(Math.max(0, w - width(s)))
}

function table(t: Tokens.Table, st: Style): string[] {
  const head = t.header.map(c => inline(c.tokens, st))
  const rows = t.rows.map(r => r.map(c => inline(c.tokens, st)))
  const widths = head.map((h, i) => Math.max(width(h), ...rows.map(r => width(r[i] ?? ''))))
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => pad(c, widths[i]))
      .join('  ')
      .trimEnd()
  return [st.bold(line(head)), st.dim(widths.map(w => '─'.repeat(w)).join('  ')), ...rows.map(line)]
}

function blocks(tokens: Token[], st: Style, indent: string): string[] {
  const out: string[] = []
  const add = (lines: string[]): void => {
    if (out.length && out[out.length - 1] !== '') out.push('')
    out.push(...lines.map(l => (l ? indent + l : l)))
  }
  for (const t of tokens) {
    switch (t.type) {
      case 'heading': {
        const h = t as Tokens.Heading
        const text = inline(h.tokens, st)
        add(h.depth <= 2 ? [st.bold(text), st.dim('═'.repeat(width(text)))] : [st.bold(text)])
        break
      }
      case 'paragraph':
        add(inline((t as Tokens.Paragraph).tokens, st).split('\n'))
        break
      case 'table':
        add(table(t as Tokens.Table, st))
        break
      case 'list': {
        const l = t as Tokens.List
        const lines: string[] = []
        l.items.forEach((item, i) => {
          const bullet = l.ordered ? `${Number(l.start || 1) + i}.` : '•'
          const body = blocks(item.tokens, st, '').filter(x => x !== '')
          body.forEach((b, j) =>
            lines.push(j === 0 ? `${bullet} ${b}` : `${' '.repeat(bullet.length + 1)}${b}`)
          )
        })
        add(lines)
        break
      }
      case 'code':
        add((t as Tokens.Code).text.split('\n').map(l => st.block(`    ${l}`)))
        break
      case 'blockquote': {
        // GitHub's alerts: `> [!WARNING]` on its own line, then the text.
        const inner = blocks((t as Tokens.Blockquote).tokens, st, '')
          .join('\n')
          .replace(/^\[!(\w+)\]\s*/, (_, kind: string) => `${ALERTS[kind] ?? kind} `)
        add(
          inner
            .split('\n')
            .filter(l => l !== '')
            .map(l => `${st.dim('│')} ${l}`)
        )
        break
      }
      case 'hr':
        add([st.dim('─'.repeat(40))])
        break
      case 'text':
        add(inline('tokens' in t && t.tokens ? t.tokens : [t], st).split('\n'))
        break
      case 'html': {
        const text = String(t.text ?? '')
          .replace(/<!--[\s\S]*?-->/g, '')
          .replace(/<\/?(details|summary)[^>]*>/g, '')
          .replace(/<[^>]+>/g, '')
          .trim()
        if (text) add(text.split('\n'))
        break
      }
      case 'space':
        break
      default:
        add(String(t.raw).trimEnd().split('\n'))
    }
  }
  return out
}

/** A job summary (GitHub Markdown) as readable terminal text. */
export function renderMarkdown(markdown: string, st: Style = plain): string {
  const lines = blocks(Lexer.lex(markdown, { gfm: true }), st, '')
  return `${lines
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim()}\n`
}
