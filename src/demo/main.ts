// `npm run demo`: the runbook's main scenarios through the real built actions
// (dist/<name>/index.js, spawned as the runner does) against the sandbox world.
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { World } from '../sandbox/world.js'
import { writeReport, MARK } from './report.js'
import { runStep } from './runner.js'
import { SCENARIOS, verdictOf, type Check, type Context, type Step } from './scenarios.js'
import { scratchDatabases } from './database.js'

export interface ScenarioRun {
  title: string
  expected: string
  outcome: 'passed' | 'partial' | 'failed' | 'skipped'
  skipped?: string
  durationMs: number
  steps: Step[]
  checks: Check[]
}

/** Outputs worth a line in the terminal, per action. */
const KEY_OUTPUTS: Record<string, string[]> = {
  'deploy-api': [
    'deploy-id',
    'status',
    'healthy',
    'rolled-back',
    'rollback-deploy-id',
    'issue-number'
  ],
  'smoke-health': ['healthy', 'severity', 'failed', 'issue-number'],
  'deploy-web': ['deployment-id', 'previous-deployment-id', 'healthy', 'promoted', 'issue-number'],
  rollback: ['rolled-back-from', 'rolled-back-to', 'healthy', 'issue-number'],
  'db-backup': ['size-bytes', 'encrypted', 'verified', 'restore-seconds', 'issue-number'],
  'db-migrate': ['applied', 'current-version', 'issue-number']
}

function args(argv: string[]): { out: string; root: string } {
  let out = path.resolve('.tmp/demo')
  for (let i = 0; i < argv.length; i++) if (argv[i] === '--out') out = path.resolve(argv[++i])
  return { out, root: process.cwd() }
}

const tty = !!process.stdout.isTTY
let progressShown = false
function progress(text: string): void {
  if (!tty) return
  const width = Math.max(20, (process.stdout.columns || 80) - 1)
  const line = `   … ${text}`
  process.stdout.write(`\r\x1b[K${line.length > width ? line.slice(0, width - 1) : line}`)
  progressShown = true
}
function print(line: string): void {
  if (progressShown) process.stdout.write('\r\x1b[K')
  progressShown = false
  process.stdout.write(`${line}\n`)
}

/** A comment's first line without Markdown links. */
const plainLine = (md: string): string =>
  md
    .split('\n')[0]
    .replace(/\s*\(\[run\]\([^)]*\)\)/g, '')
    .replace(/\[([^\]]+)\]\([^)]*\)/g, '$1')

/** Marks a report folder as the demo's, so the next run may replace it. */
const MARKER = '.shipgate-demo'

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`

export async function main(argv: string[]): Promise<number> {
  const { out, root } = args(argv)
  const started = Date.now()
  // The folder is replaced: only when it is empty or an earlier demo's (never `--out ~`).
  const earlier = (f: string): boolean => existsSync(path.join(out, f))
  if (
    existsSync(out) &&
    readdirSync(out).length > 0 &&
    !earlier(MARKER) &&
    !earlier('results.json')
  ) {
    process.stderr.write(
      `demo: ${out} is not empty and holds no earlier demo report; give --out a new or empty folder\n`
    )
    return 2
  }
  rmSync(out, { recursive: true, force: true })
  mkdirSync(out, { recursive: true })
  writeFileSync(
    path.join(out, MARKER),
    'A Shipgate demo report folder: the next demo run replaces it.\n'
  )
  // What the steps write (the backup) and read (migrations) stays in the report folder.
  const scratch = path.join(out, 'files')
  mkdirSync(scratch, { recursive: true })
  const world = await World.start()
  const db = scratchDatabases(process.env.DATABASE_URL)
  print(
    'Shipgate demo: the built actions (dist/) run as a GitHub runner runs them, against a sandbox on 127.0.0.1'
  )
  print('')
  const runs: ScenarioRun[] = []
  try {
    const ctx: Context = {
      world,
      scratch,
      database: (suffix, sql) => db.create(suffix, sql),
      async step(action, label, inputs) {
        const r = await runStep(action, inputs, {
          root,
          token: world.github.token,
          env: {
            GITHUB_API_URL: world.github.url,
            GITHUB_REPOSITORY: world.env().GITHUB_REPOSITORY,
            GITHUB_REPOSITORY_OWNER: 'lma',
            GITHUB_SHA: inputs.commit ?? '1111111111111111111111111111111111111111'
          },
          onLine: line => {
            if (line.startsWith('::') && !/^::(error|warning)/.test(line)) return
            progress(`${label}: ${line.replace(/^::\w+[^:]*::/, '')}`)
          }
        })
        return {
          action,
          label,
          code: r.code,
          verdict: verdictOf(r),
          outputs: r.outputs,
          summary: r.summary,
          durationMs: r.durationMs
        }
      }
    }
    // Ctrl-C: the running steps get it too and cancel as on a runner; the rest is skipped.
    let stop = false
    process.once('SIGINT', () => (stop = true))
    for (const [i, scenario] of SCENARIOS.entries()) {
      if (stop) {
        runs.push({
          title: scenario.title,
          expected: scenario.expected,
          outcome: 'skipped',
          skipped: 'skipped: the demo was interrupted (Ctrl-C)',
          durationMs: 0,
          steps: [],
          checks: []
        })
        print(`${i + 1}. ${scenario.title}: ${MARK.skipped} (interrupted)`)
        continue
      }
      const t = Date.now()
      progress(scenario.title)
      let run: ScenarioRun
      try {
        const r = await scenario.run(ctx)
        const failed = r.checks.some(c => !c.ok)
        run = {
          title: scenario.title,
          expected: scenario.expected,
          outcome: failed
            ? 'failed'
            : r.skipped
              ? r.checks.length
                ? 'partial'
                : 'skipped'
              : 'passed',
          skipped: r.skipped,
          durationMs: Date.now() - t,
          steps: r.steps,
          checks: r.checks
        }
      } catch (error) {
        run = {
          title: scenario.title,
          expected: scenario.expected,
          outcome: 'failed',
          durationMs: Date.now() - t,
          steps: [],
          checks: [{ what: `the scenario ran (${String(error)})`, ok: false }]
        }
      }
      runs.push(run)
      print(`${i + 1}. ${run.title}: ${MARK[run.outcome]} (${seconds(run.durationMs)})`)
      for (const s of run.steps) {
        print(`   ${s.label} (${seconds(s.durationMs)}): ${s.verdict}`)
        const keys = (KEY_OUTPUTS[s.action] ?? []).filter(k => s.outputs[k])
        // What the step did to an incident, as its summary says (opened, updated, closed).
        const incident = s.summary.match(/^Incident \[#(\d+)\]\([^)]*\): (\w+)/m)
        const did = incident ? [`incident #${incident[1]} ${incident[2]}`] : []
        if (keys.length && !/not implemented yet/.test(s.verdict))
          print(`      ${[...keys.map(k => `${k}=${s.outputs[k]}`), ...did].join('  ')}`)
      }
      if (run.skipped) print(`   ${run.skipped}`)
      for (const c of run.checks.filter(c => !c.ok)) print(`   ❌ expected: ${c.what}`)
    }
  } finally {
    await world.stop()
    await db.release()
  }
  const issues = world.github.issues
  print('')
  print(`Incidents in the fake GitHub (${world.env().GITHUB_REPOSITORY}):`)
  for (const i of issues)
    print(
      `   #${i.number} ${i.state}: ${i.title}${i.state === 'closed' ? `; ${plainLine(i.comments.at(-1)?.body ?? '')}` : ''}`
    )
  if (issues.length === 0) print('   none')
  const passed = runs.filter(r => r.outcome === 'passed' || r.outcome === 'partial').length
  const failed = runs.filter(r => r.outcome === 'failed').length
  const skipped = runs.filter(r => r.outcome === 'skipped').length
  const total = `${passed} as expected, ${failed} not, ${skipped} skipped, in ${seconds(Date.now() - started)}`
  const header = `# Shipgate demo report\n\nThe built actions (\`dist/<name>/index.js\`) run as a GitHub runner runs them, against the sandbox on 127.0.0.1. ${total}.`
  const results = {
    ok: failed === 0,
    durationMs: Date.now() - started,
    scenarios: runs.map(r => ({
      ...r,
      steps: r.steps.map(s => ({ ...s, summary: undefined }))
    })),
    issues: issues.map(i => ({
      number: i.number,
      title: i.title,
      state: i.state,
      state_reason: i.state_reason,
      labels: i.labels.map(l => l.name),
      comments: i.comments.map(c => c.body)
    }))
  }
  writeFileSync(path.join(out, 'results.json'), `${JSON.stringify(results, null, 2)}\n`)
  const html = writeReport(out, runs, issues, header)
  print('')
  const interrupted = runs.some(r => r.skipped?.includes('interrupted'))
  print(`${failed > 0 ? '❌' : interrupted ? '⏹️' : '✅'} ${total}`)
  print(`Report: ${html}`)
  return failed === 0 && !interrupted ? 0 : 1
}

process.exitCode = await main(process.argv.slice(2))
