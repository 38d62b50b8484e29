/**
 * What to do next, per kind of failure: the runbook's troubleshooting steps,
 * condensed for an incident body. Keys are chosen from the evidence.
 */
export type RunbookKey =
  | 'outage'
  | 'http-503'
  | 'slow'
  | 'auth'
  | 'memory'
  | 'rollback'
  | 'deploy-failed'
  | 'database'
  | 'migration'
  | 'web-deploy-failed'
  | 'web-rollback'

const STEPS: Record<RunbookKey, { title: string; steps: string[] }> = {
  outage: {
    title: 'API unreachable (SEV1: complete outage)',
    steps: [
      'Confirm from outside: `curl -I <health URL>`.',
      'Check the Render dashboard and status.render.com for the service.',
      'Check the Supabase dashboard and status.supabase.com.',
      'If Render reports the service healthy: review environment variables, the latest deploys and Sentry errors.',
      'If the database cannot be reached: look at the connection pool, whether the project is paused, and the connection limit.',
      'Mitigate by rolling back to the last working deploy, then update the status page.'
    ]
  },
  'http-503': {
    title: 'API returns 503',
    steps: [
      'Read the health details: `curl <health URL> | jq`.',
      'Read the service logs: Render Dashboard, Service, Logs.',
      'Likely causes: database connection trouble (check Supabase), memory exhaustion (restart the service), or a deploy still in progress (wait for it).'
    ]
  },
  slow: {
    title: 'Slow responses (over the 2 s line)',
    steps: [
      'Open Supabase Dashboard, Database, Query Performance.',
      'Look for queries without indexes and for N+1 query patterns.',
      'Fix: add the missing indexes, optimise the queries, or add a cache layer.'
    ]
  },
  auth: {
    title: 'Authentication errors (401)',
    steps: [
      'Read the Supabase Auth logs.',
      'Check that the JWT secrets match between the API and the apps, and that the service role key has not expired.',
      'Verify the environment variables; rotate keys if they may be compromised.'
    ]
  },
  memory: {
    title: 'High memory usage',
    steps: [
      'Read the memory metrics: `curl <api>/health/metrics | jq .memory`.',
      'Restart the service if it is critical, then look for leaks in recent code.',
      'Consider a larger instance.'
    ]
  },
  rollback: {
    title: 'Rolling back the API',
    steps: [
      'Render Dashboard, Service, Deploys: find the last working deploy.',
      'Use its menu, "Rollback to this deploy", or run the rollback workflow.',
      'A rollback through the API leaves auto-deploy on: pause auto-deploy or revert the bad commit, or the next push deploys it again.'
    ]
  },
  'deploy-failed': {
    title: 'Deploy failed on Render',
    steps: [
      'Render keeps the previous deploy live when a build or update fails: production is unchanged.',
      'Read the deploy logs in Render Dashboard, Service, Events, fix the cause and deploy again.'
    ]
  },
  database: {
    title: 'Database connection issues (SEV1)',
    steps: [
      'Check connectivity through the API: `curl <api>/health`.',
      'Look at the connection pool in the Supabase dashboard; if it is exhausted, restart the API and check recent code for connection leaks.',
      'If the project is paused (free tier): Supabase Dashboard, Database, Resume.',
      'If queries are slow: SQL Editor, Query Performance, missing indexes.'
    ]
  },
  migration: {
    title: 'Migration failed',
    steps: [
      'The failing file ran in a transaction and was rolled back: the schema and the history are as they were before it.',
      'Fix the statement named above in a new migration (never edit one that is already applied), then run db-migrate again with `dry-run: true` first.',
      'If the history itself is out of step: `supabase migration list`, then `supabase migration repair`.'
    ]
  },
  'web-deploy-failed': {
    title: 'Web deployment failed before promotion (production unchanged)',
    steps: [
      'The deployment was staged (no domains assigned): users still see the previous production deployment.',
      'Open the inspector link above for the build logs, or `vercel inspect <deployment-url> --logs`.',
      'Fix the cause and run deploy-web again; nothing needs rolling back.'
    ]
  },
  'web-rollback': {
    title: 'Rolling back a web app (Vercel)',
    steps: [
      'Vercel Dashboard, Project, Deployments: find the last working production deployment.',
      'Use its menu, "Instant Rollback", or `vercel rollback <deployment-url>`, or run the rollback workflow.',
      'A rollback turns automatic production domain assignment off: later pushes build but do not go live until a deployment is promoted (`vercel promote <deployment-url>`).'
    ]
  }
}

/** `url` replaces the `<health URL>` placeholder in the steps. */
export function runbookMarkdown(keys: RunbookKey[], url?: string): string {
  const unique = [...new Set(keys)]
  if (unique.length === 0) return ''
  return unique
    .map(k => {
      const { title, steps } = STEPS[k]
      const lines = steps.map((s, i) => `${i + 1}. ${url ? s.replaceAll('<health URL>', url) : s}`)
      return `**${title}**\n\n${lines.join('\n')}`
    })
    .join('\n\n')
}
