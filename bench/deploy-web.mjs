// npm run bench -- deploy-web: the deploy-web bundle against the Vercel and GitHub fakes.
//   1. one app: wall time of the whole run minus the fake's build time (what Shipgate adds:
//      start, noticing READY, both health gates, the promote and its alias job);
//   2. three apps at once (the app=all matrix), same token and team;
//   3. Vercel API calls per minute of waiting, measured, and from the polling schedule for
//      longer builds.
// BENCH_BUILD_MS (default 20000) is the fake's build time; BENCH_RUNS (default 3) runs per scenario.
// Needs dist/deploy-web/index.js (node script/build.mjs).
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { build } from 'esbuild'
import { parse } from 'yaml'

const BUILD_MS = Number(process.env.BENCH_BUILD_MS ?? 20_000)
const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const QUEUED_MS = 500
const BUNDLE = path.resolve('dist/deploy-web/index.js')

// The fakes are TypeScript: bundle them for this process.
const tmp = mkdtempSync(path.join(tmpdir(), 'shipgate-bench-web-'))
const fakes = path.join(tmp, 'fakes.mjs')
writeFileSync(
  path.join(tmp, 'entry.ts'),
  [
    `export { FakeVercel } from ${JSON.stringify(path.resolve('src/fakes/vercel.ts'))}`,
    `export { FakeGitHub } from ${JSON.stringify(path.resolve('src/fakes/github.ts'))}`,
    `export { nextInterval } from ${JSON.stringify(path.resolve('src/providers/vercel/wait.ts'))}`
  ].join('\n')
)
await build({
  entryPoints: [path.join(tmp, 'entry.ts')],
  outfile: fakes,
  bundle: true,
  platform: 'node',
  format: 'esm',
  logLevel: 'warning'
})
const { FakeVercel, FakeGitHub, nextInterval } = await import(pathToFileURL(fakes).href)

const defaults = Object.fromEntries(
  Object.entries(parse(readFileSync('actions/deploy-web/action.yml', 'utf8')).inputs)
    .filter(([, v]) => v.default !== undefined && !String(v.default).includes('${{'))
    .map(([k, v]) => [k, String(v.default)])
)

function runOnce(inputs, githubUrl, token) {
  const dir = mkdtempSync(path.join(tmp, 'run-'))
  const out = path.join(dir, 'out')
  writeFileSync(out, '')
  const env = {
    PATH: process.env.PATH,
    GITHUB_OUTPUT: out,
    GITHUB_STEP_SUMMARY: path.join(dir, 'summary'),
    GITHUB_REPOSITORY: 'acme/shop',
    GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
    GITHUB_REF_NAME: 'main',
    GITHUB_RUN_ID: '1',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_API_URL: githubUrl,
    RUNNER_TEMP: dir
  }
  for (const [k, v] of Object.entries({ ...defaults, 'github-token': token, ...inputs }))
    env[`INPUT_${k.toUpperCase()}`] = v
  const started = process.hrtime.bigint()
  const child = spawn(process.execPath, [BUNDLE], { env, stdio: 'ignore' })
  return new Promise(resolve =>
    child.on('close', code => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6
      const promoted = /promoted<<[^\n]+\ntrue/.test(readFileSync(out, 'utf8'))
      resolve({ ms, code, promoted })
    })
  )
}

/** `apps` concurrent runs, one project each; the build time of each is BUILD_MS + QUEUED_MS. */
async function scenario(apps) {
  const vercel = await FakeVercel.start()
  const github = await new FakeGitHub().start()
  const names = ['web', 'merchant', 'admin'].slice(0, apps)
  for (const name of names) {
    vercel.addProject({ id: `prj_${name}`, name })
    vercel.nextDeployments.push({ queuedMs: QUEUED_MS, buildMs: BUILD_MS })
  }
  const runs = await Promise.all(
    names.map(name =>
      runOnce(
        {
          'vercel-token': vercel.token,
          'project-id': `prj_${name}`,
          'team-id': vercel.teams[0],
          app: name,
          'vercel-api-url': vercel.url,
          'deployment-url-template': vercel.deploymentUrlTemplate,
          'production-url': vercel.productionUrl(`prj_${name}`),
          'health-paths': '/,/api/health',
          'health-interval': '1s',
          'health-successes': '3'
        },
        github.url,
        github.token
      )
    )
  )
  // Waiting for READY: the GET /v13/deployments/{id} polls, over the build time.
  const polls = vercel.calls('GET', /^\/v13\/deployments\/[^/]+$/).length
  const api = vercel.apiCalls().length
  await vercel.close()
  await github.stop()
  const wall = Math.max(...runs.map(r => r.ms))
  return {
    wall,
    over: wall - (BUILD_MS + QUEUED_MS),
    polls,
    api,
    perMinute: polls / ((BUILD_MS + QUEUED_MS) / 60_000) / apps,
    ok: runs.every(r => r.code === 0 && r.promoted)
  }
}

const median = xs => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/** Status checks a build of `ms` costs with the wait's schedule (1 s, x1.5, 15 s cap). */
function scheduledPolls(ms) {
  let t = 0
  let interval = 1000
  let n = 0
  while (t < ms) {
    t += interval
    n++
    interval = nextInterval(interval, 15_000)
  }
  return n
}

try {
  for (const apps of [1, 3]) {
    const results = []
    for (let i = 0; i < RUNS; i++) results.push(await scenario(apps))
    const m = median(results.map(r => r.over))
    const row = results.find(r => r.over === m)
    console.log(
      `${apps} app(s), build ${(BUILD_MS + QUEUED_MS) / 1000} s: wall ${(row.wall / 1000).toFixed(2)} s, ` +
        `minus build ${(m / 1000).toFixed(2)} s (median of ${RUNS}; min ${(Math.min(...results.map(r => r.over)) / 1000).toFixed(2)}, max ${(Math.max(...results.map(r => r.over)) / 1000).toFixed(2)}); ` +
        `READY polls ${row.polls} (${row.perMinute.toFixed(1)} per app per minute of waiting), ` +
        `Vercel API calls in all ${row.api}; all promoted: ${results.every(r => r.ok)}`
    )
  }
  console.log(
    'Of the time over the build, the two gates (staged, production) need at least 2 x (3 - 1) x 1 s = 4 s by their settings (3 passing rounds, 1 s apart); the rest is process start, noticing READY (the poll interval) and the promote job.'
  )
  const schedule = [1, 5, 10, 20].map(min => {
    const n = scheduledPolls(min * 60_000)
    return `${min} min: ${n} (${(n / min).toFixed(1)}/min)`
  })
  console.log(`READY polls per app by build time (schedule): ${schedule.join('; ')}`)
  console.log(
    'The Vercel CLI polls every 1 s for 15 s, 5 s to 1 min, 15 s to 5 min, then 30 s: ~24 in the first minute.'
  )
} finally {
  rmSync(tmp, { recursive: true, force: true })
}
