import { ACTION_NAMES } from '../actions/registry.js'
import { actionYaml, isBooleanInput } from './actions.js'
import { envName, GLOBAL_FLAGS } from './args.js'

function wrap(text: string, indent: number, cols = 96): string {
  const words = text.replace(/\s+/g, ' ').trim().split(' ')
  const lines: string[] = []
  let line = ''
  for (const w of words) {
    if (line && line.length + w.length + 1 > cols - indent) {
      lines.push(line)
      line = w
    } else line = line ? `${line} ${w}` : w
  }
  if (line) lines.push(line)
  return lines.map(l => ' '.repeat(indent) + l).join('\n')
}

export function mainHelp(): string {
  const rows = ACTION_NAMES.map(n => {
    const a = actionYaml(n)
    return `  ${n.padEnd(14)}${a.description}`
  })
  return [
    'shipgate: run a Shipgate action from a terminal, with the same inputs and checks as on a runner.',
    '',
    'Usage: shipgate <command> [--input-name value ...] [--json] [--verbose] [--repo owner/name]',
    '       shipgate <command> --help',
    '',
    'Commands:',
    ...rows,
    '',
    'Inputs come from flags, else SHIPGATE_<INPUT_NAME> variables (SHIPGATE_RENDER_API_KEY), else',
    "the action's defaults. The GitHub token: --github-token, SHIPGATE_GITHUB_TOKEN, GITHUB_TOKEN, or",
    '`gh auth token`; without one, no incident issues are opened or closed.',
    '',
    'Exit status: 0 ok, 1 failed (or cancelled), 2 bad input.',
    '',
    'Example: shipgate smoke-health --url https://api.lma.com/health'
  ].join('\n')
}

export function commandHelp(name: string): string {
  const a = actionYaml(name)
  const inputs = Object.entries(a.inputs).map(([input, spec]) => {
    const value = isBooleanInput(spec) ? '' : ' <value>'
    const facts = [
      spec.required ? 'required' : '',
      spec.default !== undefined && !spec.default.includes('${{') ? `default: ${spec.default}` : '',
      input === 'github-token' ? 'default: GITHUB_TOKEN or `gh auth token`' : '',
      `env: ${envName(input)}`
    ].filter(Boolean)
    return `  --${input}${value}\n${wrap(`${spec.description} (${facts.join('; ')})`, 6)}`
  })
  const outputs = Object.entries(a.outputs).map(
    ([o, spec]) => `  ${o}\n${wrap(spec.description, 6)}`
  )
  const globals = Object.entries(GLOBAL_FLAGS).map(
    ([f, d]) => `  --${f}${f === 'repo' ? ' <owner/name>' : ''}\n${wrap(d, 6)}`
  )
  return [
    `shipgate ${name}: ${a.description}`,
    '',
    `Usage: shipgate ${name} [--input-name value ...]`,
    '',
    'Inputs (from actions/' + name + '/action.yml):',
    ...inputs,
    '',
    'Outputs (printed as name=value):',
    ...outputs,
    '',
    'Options:',
    ...globals
  ].join('\n')
}
