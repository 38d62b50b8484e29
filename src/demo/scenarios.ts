// The runbook's main scenarios, each run through the built actions against the
// sandbox, each checked against what the runbook says should happen.
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { FakeIssue } from '../fakes/github.js'
import { API_SERVICE, WEB_APPS, type World } from '../sandbox/world.js'
import type { StepResult } from './runner.js'

export interface Step {
  action: string
  label: string
  code: number | null
  verdict: string
  outputs: Record<string, string>
  summary: string
  durationMs: number
}

export interface Check {
  what: string
  ok: boolean
}

export interface ScenarioResult {
  steps: Step[]
  checks: Check[]
  /** Why the scenario did not run (an action not in this build, no Postgres). */
  skipped?: string
}

export interface Context {
  world: World
  /** Runs one built action (a workflow step) against the world. */
  step(action: string, label: string, inputs: Record<string, string>): Promise<Step>
  /** A new scratch database (with `sql` run in it), or why there is none. */
  database(suffix: string, sql?: string): Promise<{ url: string } | { skipped: string }>
  /** A folder for files the steps read (migrations). */
  scratch: string
}

export interface Scenario {
  title: string
  expected: string
  run(ctx: Context): Promise<ScenarioResult>
}

const PENDING = /is not implemented yet in this version of Shipgate/

/** A step of an action whose issue has not landed in this build. */
function notInBuild(s: Step): string | undefined {
  return PENDING.test(s.verdict) ? `skipped: ${s.action} not available in this build` : undefined
}

export function verdictOf(r: StepResult): string {
  const lines = r.summary.trim().split('\n').filter(Boolean)
  return lines.at(-1) ?? `(no summary; exit ${r.code})`
}

const check = (what: string, ok: boolean): Check => ({ what, ok })

const SHA = {
  good: '2222222222222222222222222222222222222222',
  bad: '3333333333333333333333333333333333333333',
  fix: '4444444444444444444444444444444444444444'
}

/** Fast, but the same gate as production: every API health endpoint, two passing rounds. */
function apiInputs(world: World, commit: string): Record<string, string> {
  const e = world.endpoints()
  return {
    'render-api-key': world.render.apiKey,
    'render-api-url': world.render.url,
    'service-id': API_SERVICE,
    commit,
    'deploy-timeout': '10s',
    'health-url': [e.apiHealth[0], e.apiHealth[2]].join('\n'),
    'health-interval': '250ms',
    'health-successes': '2',
    'health-timeout': '3s',
    'health-request-timeout': '1s'
  }
}

function incidentFor(world: World, fingerprint: string): FakeIssue | undefined {
  return world.github.issues.find(i => (i.body ?? '').includes(`shipgate:incident ${fingerprint}`))
}

const API_FINGERPRINT = 'deploy-api/production/lma-api'

export const SCENARIOS: Scenario[] = [
  {
    title: 'deploy-api: a good release',
    expected: 'deployed, gated on /health and /health/ready, live',
    async run(ctx) {
      const s = await ctx.step('deploy-api', 'deploy-api', apiInputs(ctx.world, SHA.good))
      const live = ctx.world.render.liveDeploy(API_SERVICE)
      return {
        steps: [s],
        checks: [
          check('the step succeeded', s.code === 0),
          check(
            'status=live, healthy=true',
            s.outputs.status === 'live' && s.outputs.healthy === 'true'
          ),
          check('no rollback', s.outputs['rolled-back'] === 'false'),
          check('the new deploy is what Render serves', live?.id === s.outputs['deploy-id']),
          check('no incident opened', ctx.world.github.issues.length === 0)
        ]
      }
    }
  },
  {
    title: 'deploy-api: a bad release (builds, then /health answers 503)',
    expected: 'gate fails, rolled back automatically, SEV2 incident with the runbook steps',
    async run(ctx) {
      const before = ctx.world.render.liveDeploy(API_SERVICE)?.id
      ctx.world.setKnobs({ unhealthyRelease: true })
      let s: Step
      try {
        s = await ctx.step('deploy-api', 'deploy-api', apiInputs(ctx.world, SHA.bad))
      } finally {
        ctx.world.setKnobs({ unhealthyRelease: false })
      }
      const live = ctx.world.render.liveDeploy(API_SERVICE)
      const issue = incidentFor(ctx.world, API_FINGERPRINT)
      return {
        steps: [s],
        checks: [
          check('the step failed', s.code === 1),
          check(
            'healthy=false, rolled-back=true',
            s.outputs.healthy === 'false' && s.outputs['rolled-back'] === 'true'
          ),
          check(
            'Render serves the rollback of the previous deploy',
            !!live &&
              live.id === s.outputs['rollback-deploy-id'] &&
              s.outputs['previous-deploy-id'] === before
          ),
          check('an open SEV2 incident', issue?.state === 'open' && /^\[SEV2\]/.test(issue.title)),
          check(
            'labelled incident and sev2',
            !!issue && ['incident', 'sev2'].every(l => issue.labels.some(x => x.name === l))
          ),
          check(
            'the incident holds the runbook steps',
            /API returns 503[\s\S]*\n1\. /.test(issue?.body ?? '')
          ),
          check(
            'issue-number output names it',
            !!issue && s.outputs['issue-number'] === String(issue.number)
          )
        ]
      }
    }
  },
  {
    title:
      "the fix ships: the fixed release's deploy-api run closes deploy-api's incident, then smoke-health confirms",
    expected:
      "the fixed release passes deploy-api's gate and that deploy-api run closes the SEV2 incident with its duration (an incident belongs to the action that opened it); smoke-health then confirms every API health endpoint and opens nothing",
    async run(ctx) {
      const fix = await ctx.step(
        'deploy-api',
        'deploy-api (the fix)',
        apiInputs(ctx.world, SHA.fix)
      )
      // Closed by the fix's own run, before smoke-health starts.
      const closedByFix = incidentFor(ctx.world, API_FINGERPRINT)?.state === 'closed'
      const e = ctx.world.endpoints()
      const smoke = await ctx.step('smoke-health', 'smoke-health', {
        url: e.apiHealth.join('\n'),
        name: 'lma-api',
        interval: '250ms',
        timeout: '5s',
        'request-timeout': '1s'
      })
      const issue = incidentFor(ctx.world, API_FINGERPRINT)
      const resolved = issue?.comments.at(-1)?.body ?? ''
      const report = JSON.parse(smoke.outputs.report || '[]') as unknown[]
      return {
        steps: [fix, smoke],
        checks: [
          check(
            'the fix deployed and passed the gate',
            fix.code === 0 && fix.outputs.healthy === 'true'
          ),
          check(
            "the fixed release's deploy-api run closed it (before smoke-health ran)",
            closedByFix && /Incident \[#\d+\]\([^)]*\): closed/.test(fix.summary)
          ),
          check(
            'the SEV2 incident is closed',
            issue?.state === 'closed' && issue.state_reason === 'completed'
          ),
          check(
            'closed with its duration',
            /^Resolved: healthy again after [\d.]+(ms|s|m|h)/.test(resolved)
          ),
          check(
            'smoke-health: 4 endpoints healthy',
            smoke.code === 0 && smoke.outputs.healthy === 'true' && report.length === 4
          ),
          check(
            'smoke-health opened nothing',
            ctx.world.github.issues.filter(i => i.state === 'open').length === 0
          )
        ]
      }
    }
  },
  {
    title: 'deploy-web app=all: three staged deployments, gated and promoted in parallel',
    expected:
      'customer web, merchant admin and super admin each staged, gated on its own URL, promoted, production verified',
    async run(ctx) {
      const w = ctx.world
      const before = WEB_APPS.map(a => w.vercel.production(a.id))
      // The deploy-web workflow's matrix: one job per app, at the same time.
      const steps = await Promise.all(
        WEB_APPS.map(a =>
          ctx.step('deploy-web', `deploy-web (${a.app})`, {
            'vercel-token': w.vercel.token,
            'team-id': w.vercel.teams[0],
            'project-id': a.id,
            app: a.app,
            'vercel-api-url': w.vercel.url,
            'deployment-url-template': w.vercel.deploymentUrlTemplate,
            'production-url': w.vercel.productionUrl(a.id),
            'health-paths': '/, /api/health',
            'deploy-timeout': '10s',
            'health-interval': '250ms',
            'health-successes': '2',
            'health-timeout': '3s',
            'health-request-timeout': '1s',
            'github-deployment': 'false'
          })
        )
      )
      const skipped = steps.map(notInBuild).find(Boolean)
      if (skipped) return { steps, checks: [], skipped }
      const after = WEB_APPS.map(a => w.vercel.production(a.id))
      return {
        steps,
        checks: [
          ...steps.map((s, i) =>
            check(
              `${WEB_APPS[i].title}: gated and promoted`,
              s.code === 0 && s.outputs.healthy === 'true' && s.outputs.promoted === 'true'
            )
          ),
          ...WEB_APPS.map((a, i) =>
            check(
              `${a.title}: production serves the new deployment`,
              !!after[i] && after[i] !== before[i] && after[i] === steps[i].outputs['deployment-id']
            )
          ),
          check(
            'no incident opened',
            w.github.issues.every(i => i.state === 'closed')
          )
        ]
      }
    }
  },
  {
    title: 'rollback of the customer web app to the previous deployment, verified',
    expected: 'production points at the deployment before, and its health passes',
    async run(ctx) {
      const w = ctx.world
      const app = WEB_APPS[0]
      const current = w.vercel.production(app.id)
      const s = await ctx.step('rollback', 'rollback (web)', {
        platform: 'vercel',
        'vercel-token': w.vercel.token,
        'team-id': w.vercel.teams[0],
        'project-id': app.id,
        name: app.app,
        'vercel-api-url': w.vercel.url,
        'production-url': w.vercel.productionUrl(app.id),
        'health-paths': '/, /api/health',
        reason: 'demo: the new customer web release is being pulled',
        'rollback-timeout': '10s',
        'health-interval': '250ms',
        'health-successes': '2',
        'health-timeout': '3s',
        'health-request-timeout': '1s'
      })
      const skipped = notInBuild(s)
      if (skipped) return { steps: [s], checks: [], skipped }
      const now = w.vercel.production(app.id)
      return {
        steps: [s],
        checks: [
          check('the step succeeded, healthy', s.code === 0 && s.outputs.healthy === 'true'),
          check(
            'rolled back from the deployment deploy-web promoted',
            s.outputs['rolled-back-from'] === current
          ),
          check(
            'production serves the deployment from before',
            !!now && now !== current && now === s.outputs['rolled-back-to']
          )
        ]
      }
    }
  },
  {
    title: 'db-backup, then db-migrate, on a scratch database',
    expected:
      'an encrypted dump, verified by a restore drill; then the pending migrations applied and recorded',
    async run(ctx) {
      const source = await ctx.database(
        'app',
        "create table customers (id bigint primary key, email text not null); insert into customers values (1, 'ada@example.com'), (2, 'grace@example.com');"
      )
      if ('skipped' in source) return { steps: [], checks: [], skipped: source.skipped }
      const drill = await ctx.database('restore')
      if ('skipped' in drill) return { steps: [], checks: [], skipped: drill.skipped }
      const out = path.join(ctx.scratch, 'backups')
      mkdirSync(out, { recursive: true })
      const backup = await ctx.step('db-backup', 'db-backup', {
        'database-url': source.url,
        'restore-test-url': drill.url,
        passphrase: 'demo passphrase: correct horse battery staple',
        destination: 'path',
        'output-dir': out,
        name: 'production-before-migration',
        'install-client': 'false'
      })
      const dir = path.join(ctx.scratch, 'supabase', 'migrations')
      mkdirSync(dir, { recursive: true })
      writeFileSync(
        path.join(dir, '20260101000000_orders.sql'),
        'create table orders (id bigint generated always as identity primary key, customer_id bigint references customers, total_cents integer not null);\n'
      )
      writeFileSync(
        path.join(dir, '20260102000000_orders_status.sql'),
        "alter table orders add column status text not null default 'new';\n"
      )
      const migrate = await ctx.step('db-migrate', 'db-migrate', {
        'database-url': source.url,
        'migrations-dir': dir
      })
      const checks = [
        check('db-migrate succeeded', migrate.code === 0),
        check('two migrations applied', migrate.outputs.applied === '2'),
        check(
          'current version is the newest',
          migrate.outputs['current-version'] === '20260102000000'
        )
      ]
      const skipped = notInBuild(backup)
      if (skipped)
        return { steps: [backup, migrate], checks, skipped: `${skipped} (db-migrate ran)` }
      checks.unshift(
        check(
          'db-backup succeeded, verified by the restore drill',
          backup.code === 0 &&
            backup.outputs.verified === 'true' &&
            backup.outputs['restore-seconds'] !== ''
        ),
        check(
          'the dump is encrypted (OpenSSL format)',
          backup.outputs.encrypted === 'openssl' && Number(backup.outputs['size-bytes']) > 0
        )
      )
      return { steps: [backup, migrate], checks }
    }
  }
]
