// One generator for every document derived from actions/*/action.yml, so none can drift:
// - the root action.yml (every input of every action plus `command`),
// - the inputs/outputs tables in README.md (between the docs markers),
// - actions/<name>/README.md: description, a full example workflow, inputs, outputs.
// Each example below is checked against its action.yml: an input it names that the
// action does not declare, or a required input it leaves out, stops the generator.
// `node script/docs.mjs --check` fails when any generated file is out of date.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { parse } from 'yaml'
import { actionNames } from './registry.mjs'

// The order of src/actions/registry.ts, the one list of actions.
const ORDER = await actionNames()
const OWNER_NOTE =
  'Replace `owner` with the GitHub account that holds Shipgate. `@v1` is the major tag, moved to every v1.x.y release; pin a full commit SHA to freeze a version.'

// A complete workflow per action, the way the runbook uses it.
const EXAMPLES = {
  'deploy-api': `name: deploy-api
on:
  workflow_dispatch:
permissions:
  contents: read
  issues: write
  deployments: write
jobs:
  deploy:
    runs-on: ubuntu-latest
    timeout-minutes: 60
    concurrency:
      group: shipgate-production
      cancel-in-progress: false
    steps:
      - uses: owner/shipgate/actions/deploy-api@v1
        with:
          render-api-key: \${{ secrets.RENDER_API_KEY }}
          service-id: \${{ vars.RENDER_SERVICE_ID }}
          environment: production
          health-url: https://api.lma.com/health
          health-checks: |
            - path: /health/ready
            - name: metrics
              path: /health/metrics
              json:
                memory.heapUsedPercent: { lt: 90 }
          health-successes: 3
          issue-assignees: backend-oncall
`,
  'deploy-web': `name: deploy-web
on:
  workflow_dispatch:
permissions:
  contents: read
  issues: write
  deployments: write
jobs:
  deploy:
    runs-on: ubuntu-latest
    timeout-minutes: 45
    concurrency:
      group: shipgate-production
      cancel-in-progress: false
    steps:
      - uses: owner/shipgate/actions/deploy-web@v1
        with:
          vercel-token: \${{ secrets.VERCEL_TOKEN }}
          project-id: \${{ vars.WEB_VERCEL_PROJECT_ID }}
          team-id: \${{ vars.VERCEL_TEAM_ID }}
          app: web
          production-url: https://www.lma.com
          health-paths: /, /login
          protection-bypass: \${{ secrets.WEB_VERCEL_PROTECTION_BYPASS }}
          environment: production
          issue-assignees: frontend-oncall
`,
  rollback: `name: rollback
on:
  workflow_dispatch:
    inputs:
      reason:
        type: string
        required: false
permissions:
  contents: read
  issues: write
  deployments: write
# Both jobs share the deploys' group, so a rollback never races a deploy.
concurrency:
  group: shipgate-production
  cancel-in-progress: false
jobs:
  api:
    runs-on: ubuntu-latest
    timeout-minutes: 45
    steps:
      - uses: owner/shipgate/actions/rollback@v1
        with:
          platform: render
          render-api-key: \${{ secrets.RENDER_API_KEY }}
          service-id: \${{ vars.RENDER_SERVICE_ID }}
          health-url: https://api.lma.com/health
          reason: \${{ inputs.reason }}
          environment: production
          issue-assignees: backend-oncall
  web:
    runs-on: ubuntu-latest
    timeout-minutes: 45
    steps:
      - uses: owner/shipgate/actions/rollback@v1
        with:
          platform: vercel
          vercel-token: \${{ secrets.VERCEL_TOKEN }}
          project-id: \${{ vars.WEB_VERCEL_PROJECT_ID }}
          team-id: \${{ vars.VERCEL_TEAM_ID }}
          name: web
          production-url: https://www.lma.com
          reason: \${{ inputs.reason }}
          environment: production
          issue-assignees: frontend-oncall
`,
  'db-migrate': `name: db-migrate
on:
  pull_request:
    paths: ['supabase/migrations/**']
  workflow_dispatch:
permissions:
  contents: read
  issues: write
jobs:
  migrate:
    runs-on: ubuntu-latest
    timeout-minutes: 60
    concurrency:
      group: shipgate-production
      cancel-in-progress: false
    steps:
      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1
        with:
          persist-credentials: false
      - uses: owner/shipgate/actions/db-migrate@v1
        with:
          database-url: \${{ secrets.DATABASE_URL }}
          environment: production
          # A pull request gets the plan only.
          dry-run: \${{ github.event_name == 'pull_request' }}
          destructive: fail
          health-url: https://api.lma.com/health
`,
  'db-backup': `name: db-backup
on:
  schedule:
    - cron: '17 3 * * *'
  workflow_dispatch:
permissions:
  contents: read
  issues: write
jobs:
  backup:
    runs-on: ubuntu-latest
    timeout-minutes: 120
    steps:
      - uses: owner/shipgate/actions/db-backup@v1
        with:
          database-url: \${{ secrets.DATABASE_URL }}
          # Public keys only: a leaked CI secret cannot decrypt a backup.
          recipients: \${{ vars.BACKUP_RECIPIENTS }}
          restore-test-url: \${{ secrets.RESTORE_TEST_DATABASE_URL }}
          retention-days: 14
          environment: production
`,
  'smoke-health': `name: smoke-health
on:
  schedule:
    - cron: '*/10 * * * *'
  workflow_dispatch:
permissions:
  contents: read
  issues: write
jobs:
  smoke:
    runs-on: ubuntu-latest
    timeout-minutes: 10
    steps:
      - uses: owner/shipgate/actions/smoke-health@v1
        with:
          name: api
          url: https://api.lma.com/health, https://api.lma.com/health/live, https://api.lma.com/health/ready
          environment: production
          successes: 2
          checks: |
            - name: metrics
              url: /health/metrics
              json:
                status: ok
                memory.heapUsedPercent: { lt: 90 }
          issue-assignees: backend-oncall
`
}

const check = process.argv.includes('--check')
const names = readdirSync('actions').sort((a, b) => rank(a) - rank(b))
function rank(name) {
  const i = ORDER.indexOf(name)
  if (i < 0) throw new Error(`actions/${name} is not in src/actions/registry.ts`)
  return i
}
const actions = names.map(name => ({
  name,
  spec: parse(readFileSync(`actions/${name}/action.yml`, 'utf8'))
}))

const q = v => `'${String(v).replace(/'/g, "''")}'`
const flat = v => String(v ?? '').replace(/\s*\n\s*/g, ' ')
const cell = v =>
  String(v ?? '')
    .replace(/\|/g, '\\|')
    .replace(/\s*\n\s*/g, ' ')

function rootYaml() {
  const inputs = new Map()
  for (const { name, spec } of actions) {
    for (const [input, def] of Object.entries(spec.inputs ?? {})) {
      const entry = inputs.get(input) ?? { users: [], description: def.description, token: false }
      entry.users.push(name)
      if (String(def.default ?? '').includes('github.token')) entry.token = true
      inputs.set(input, entry)
    }
  }
  let out = `# Generated by \`npm run docs\` from actions/*/action.yml: do not edit by hand.
name: 'Shipgate'
description: 'Deploy-safety actions: health-gated Render and Vercel deploys, rollbacks, Supabase migrations, verified backups and smoke checks, with one GitHub issue per incident.'
author: 'Shipgate'
branding:
  icon: 'shield'
  color: 'green'
inputs:
  command:
    description: ${q(`The action to run: ${ORDER.join(', ')}. Every other input is passed to it unchanged; defaults are that action's own.`)}
    required: true
`
  for (const [input, e] of [...inputs].sort(([a], [b]) => a.localeCompare(b))) {
    out += `  ${input}:\n    description: ${q(`(${e.users.join(', ')}) ${flat(e.description)}`)}\n    required: false\n`
    if (e.token) out += `    default: '\${{ github.token }}'\n`
  }
  const outputs = new Map()
  for (const { name, spec } of actions)
    for (const [o, def] of Object.entries(spec.outputs ?? {})) {
      const e = outputs.get(o) ?? { users: [], description: def.description }
      e.users.push(name)
      outputs.set(o, e)
    }
  out += 'outputs:\n'
  for (const [o, e] of [...outputs].sort(([a], [b]) => a.localeCompare(b)))
    out += `  ${o}:\n    description: ${q(`(${e.users.join(', ')}) ${flat(e.description)}`)}\n`
  out += `runs:\n  using: 'node24'\n  main: 'dist/main/index.js'\n`
  return out
}

function inputTable(spec) {
  return [
    '| Input | Required | Default | Description |',
    '|---|---|---|---|',
    ...Object.entries(spec.inputs ?? {}).map(
      ([k, v]) =>
        `| \`${k}\` | ${v.required ? 'yes' : 'no'} | ${v.default !== undefined ? `\`${cell(v.default)}\`` : ''} | ${cell(v.description)} |`
    )
  ]
}

function outputTable(spec) {
  return [
    '| Output | Description |',
    '|---|---|',
    ...Object.entries(spec.outputs ?? {}).map(([k, v]) => `| \`${k}\` | ${cell(v.description)} |`)
  ]
}

function tables() {
  return actions
    .map(({ name, spec }) =>
      [
        `### ${name}`,
        '',
        cell(spec.description),
        '',
        `Full example: [actions/${name}/README.md](actions/${name}/README.md).`,
        '',
        ...inputTable(spec),
        '',
        ...outputTable(spec)
      ].join('\n')
    )
    .join('\n\n')
}

/** The example's uses of this action pass only declared inputs, and every required one. */
function checkedExample(name, spec) {
  const text = EXAMPLES[name]
  if (!text) throw new Error(`script/docs.mjs has no example for ${name}`)
  const workflow = parse(text)
  const uses = Object.values(workflow.jobs)
    .flatMap(job => job.steps ?? [])
    .filter(step => step.uses === `owner/shipgate/actions/${name}@v1`)
  if (uses.length === 0)
    throw new Error(`the ${name} example does not use owner/shipgate/actions/${name}@v1`)
  const declared = Object.keys(spec.inputs ?? {})
  const required = Object.entries(spec.inputs ?? {})
    .filter(([, def]) => def.required)
    .map(([k]) => k)
  for (const step of uses) {
    const given = Object.keys(step.with ?? {})
    const unknown = given.filter(k => !declared.includes(k))
    const missing = required.filter(k => !given.includes(k))
    if (unknown.length || missing.length)
      throw new Error(
        `the ${name} example is out of step with actions/${name}/action.yml:` +
          `${unknown.length ? ` unknown input(s) ${unknown.join(', ')};` : ''}` +
          `${missing.length ? ` missing required input(s) ${missing.join(', ')}` : ''}`
      )
  }
  return text
}

function actionReadme({ name, spec }) {
  return [
    `<!-- Generated by npm run docs from action.yml and script/docs.mjs: do not edit by hand. -->`,
    `# Shipgate ${name}`,
    '',
    cell(spec.description),
    '',
    '## Example',
    '',
    '```yaml',
    checkedExample(name, spec).trimEnd(),
    '```',
    '',
    OWNER_NOTE,
    '',
    `To run it the runbook's way from your app's repository (environments, secrets, one`,
    `concurrency group per environment), call the reusable workflow instead: copy`,
    `[examples/workflows/${name}.yml](../../examples/workflows/${name}.yml), which calls`,
    `\`owner/shipgate/.github/workflows/${name}.yml@v1\`. The secrets and variables each`,
    `workflow reads are listed in the root README, "Using Shipgate from your repository".`,
    '',
    '## Inputs',
    '',
    ...inputTable(spec),
    '',
    '## Outputs',
    '',
    'Set on every path, failures and cancellation included.',
    '',
    ...outputTable(spec),
    ''
  ].join('\n')
}

const BEGIN = '<!-- docs:begin (generated by npm run docs) -->'
const END = '<!-- docs:end -->'
const readme = readFileSync('README.md', 'utf8')
const start = readme.indexOf(BEGIN)
const end = readme.indexOf(END)
if (start < 0 || end < 0) throw new Error(`README.md needs the markers ${BEGIN} and ${END}`)

const current = file => {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return null
  }
}
const wanted = new Map([
  ['README.md', `${readme.slice(0, start + BEGIN.length)}\n\n${tables()}\n\n${readme.slice(end)}`],
  ['action.yml', rootYaml()],
  ...actions.map(a => [`actions/${a.name}/README.md`, actionReadme(a)])
])
const stale = [...wanted].filter(([file, text]) => current(file) !== text).map(([file]) => file)

if (check) {
  if (stale.length) {
    console.error(`Out of date: ${stale.join(', ')}. Run npm run docs and commit the result.`)
    process.exit(1)
  }
  console.log(`docs are up to date (${wanted.size} files)`)
} else {
  for (const file of stale) writeFileSync(file, wanted.get(file))
  console.log(stale.length ? `updated ${stale.join(', ')}` : 'docs were up to date')
}
