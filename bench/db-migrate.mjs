// npm run bench -- db-migrate: the db-migrate bundle against `supabase db push` on the local Postgres.
//   1. apply 500 and 2,000 two-statement migrations into an empty database (CLI into db A, bundle
//      into db B), for each workload:
//        table: `create table` + `insert` (a plain table: the server's own work is small, so
//               what each tool adds per file shows);
//        keyed: the same with a primary key and a text column (each file builds two indexes and
//               fsyncs them: ~2 ms of server work per file that both tools wait for alike);
//   2. decide "up to date" with 5,000 applied versions (both tools, same database).
// BENCH_RUNS (default 5) runs per tool and scenario; BENCH_COUNTS (default 500,2000) the file counts;
// BENCH_WORKLOADS (default table,keyed); SHIPGATE_BUNDLE runs another copy of the bundle. Besides the
// ratio of medians, the median of the per-run ratios (each pair ran back to back) is printed: on a
// machine whose load swings it is the steadier one.
// Needs Postgres on 127.0.0.1:5432 (user postgres, trust), node_modules/.bin/supabase and dist/db-migrate/index.js.
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'

const HOST = process.env.SHIPGATE_TEST_PGHOST ?? '127.0.0.1'
const PORT = process.env.SHIPGATE_TEST_PGPORT ?? '5432'
const url = db => `postgres://postgres@${HOST}:${PORT}/${db}?sslmode=disable`
const BUNDLE = path.resolve(process.env.SHIPGATE_BUNDLE ?? 'dist/db-migrate/index.js')
const CLI = path.resolve('node_modules/.bin/supabase')
// The runtime the action declares (node24), as the runner runs it: SHIPGATE_NODE24 or the copy
// .ci/run installs; this Node otherwise (its startup is slower, about 60 ms on Node 20).
const NODE =
  [process.env.SHIPGATE_NODE24, path.resolve('.tmp/node24/node_modules/.bin/node')].find(
    p => p && existsSync(p)
  ) ?? process.execPath

async function sql(db, text, values) {
  const client = new pg.Client({ connectionString: url(db) })
  await client.connect()
  try {
    return (await client.query(text, values)).rows
  } finally {
    await client.end()
  }
}

/**
 * Every timed run starts from the same server state: a CHECKPOINT first (as pgbench does
 * before its runs), so neither tool pays for the dirty pages and files of the run before
 * it (thousands of new relation files to fsync) or races a checkpoint that run started.
 * The databases are dropped only at the end: for a minute or more after DROP DATABASE
 * deletes thousands of files, ext4 allocates each new inode slowly (it skips recently
 * deleted ones; perf shows recently_deleted and find_inode_bit on top), which added about
 * 2 s of kernel time to whichever tool ran next, a cost of the bench, not of either tool.
 */
const settle = () => sql('postgres', 'CHECKPOINT')

const created = []
async function createDb() {
  const name = `shipgate_bench_${randomBytes(4).toString('hex')}`
  await sql('postgres', `CREATE DATABASE ${name}`)
  created.push(name)
  return name
}

function project(count, body) {
  const root = mkdtempSync(path.join(tmpdir(), 'shipgate-bench-'))
  const dir = path.join(root, 'supabase', 'migrations')
  mkdirSync(dir, { recursive: true })
  for (let i = 1; i <= count; i++) {
    writeFileSync(path.join(dir, `${String(20240000000000 + i)}_m${i}.sql`), body(i))
  }
  return root
}

function timed(label, cmd, args, opts) {
  const started = process.hrtime.bigint()
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 26, ...opts })
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  const ok = r.status === 0
  if (!ok)
    console.log(`${label} failed (exit ${r.status}):\n${(r.stderr || r.stdout || '').slice(-2000)}`)
  return { label, ms, ok }
}

function cli(root, db) {
  return timed('supabase db push', CLI, ['db', 'push', '--db-url', url(db), '--yes'], {
    cwd: root,
    env: { ...process.env, SUPABASE_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' }
  })
}

/** Runs the bundle the way the runner does: INPUT_<NAME> (hyphens kept), GITHUB_OUTPUT, GITHUB_STEP_SUMMARY. */
function bundle(root, db) {
  const out = path.join(root, 'github-output')
  const summary = path.join(root, 'step-summary')
  writeFileSync(out, '')
  writeFileSync(summary, '')
  const inputs = {
    'database-url': url(db),
    'migrations-dir': 'supabase/migrations',
    'dry-run': 'false',
    'include-all': 'false',
    'include-seed': 'false',
    destructive: 'warn',
    'lock-timeout': '60s',
    environment: 'bench',
    'github-token': '',
    'open-issue': 'false',
    'close-issue': 'false'
  }
  const env = {
    ...process.env,
    GITHUB_OUTPUT: out,
    GITHUB_STEP_SUMMARY: summary,
    GITHUB_WORKSPACE: root
  }
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v
  return timed('shipgate db-migrate', NODE, [BUNDLE], { cwd: root, env })
}

const WORKLOADS = {
  table: i => `create table t${i} (id int, v int);\ninsert into t${i} values (1, 2);\n`,
  keyed: i =>
    `create table t${i} (id int primary key, v text);\ninsert into t${i} values (1, 'x');\n`
}

const RUNS = Number(process.env.BENCH_RUNS ?? 5)
const times = new Map()
const record = (scenario, r) => {
  const key = `${scenario}|${r.label}`
  if (!times.has(key)) times.set(key, [])
  times.get(key).push(r.ok ? r.ms : NaN)
}
const median = xs => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

try {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is not built: run npm run build`)

  // 1. N files from empty, fresh databases each run, the two tools in alternating order;
  //    afterwards both histories must be identical.
  const scenarios = []
  const counts = (process.env.BENCH_COUNTS ?? '500,2000').split(',').map(Number)
  const workloads = (process.env.BENCH_WORKLOADS ?? 'table,keyed').split(',')
  for (const [workload, count] of workloads.flatMap(w => counts.map(c => [w, c]))) {
    const body = WORKLOADS[workload]
    if (!body) throw new Error(`BENCH_WORKLOADS: unknown workload ${workload}`)
    const scenario = `apply ${count.toLocaleString('en')} files (${workload})`
    scenarios.push(scenario)
    const small = project(count, body)
    const history =
      'select version, name, statements from supabase_migrations.schema_migrations order by version'
    for (let run = 0; run < RUNS; run++) {
      const a = await createDb()
      const b = await createDb()
      const order = run % 2 ? [bundle, cli] : [cli, bundle]
      for (const tool of order) {
        await settle()
        record(scenario, tool(small, tool === cli ? a : b))
      }
      const [ours, theirs] = [await sql(b, history), await sql(a, history)]
      if (ours.length !== count || JSON.stringify(ours) !== JSON.stringify(theirs))
        console.log(
          `${scenario}: histories differ (bundle ${ours.length} rows, CLI ${theirs.length})`
        )
    }
    rmSync(small, { recursive: true, force: true })
  }
  scenarios.push('up to date, 5,000 applied')

  // 2. Up to date with 5,000 applied versions (history written directly, statements as the CLI records them).
  const big = project(5000, i => `select ${i};\n`)
  const c = await createDb()
  await sql(c, 'CREATE SCHEMA supabase_migrations')
  await sql(
    c,
    'CREATE TABLE supabase_migrations.schema_migrations (version text NOT NULL PRIMARY KEY, statements text[], name text)'
  )
  await sql(
    c,
    `INSERT INTO supabase_migrations.schema_migrations (version, name, statements)
     SELECT (20240000000000 + i)::text, 'm' || i, ARRAY['select ' || i] FROM generate_series(1, 5000) AS i`
  )
  for (let run = 0; run < RUNS; run++) {
    const order = run % 2 ? [bundle, cli] : [cli, bundle]
    for (const tool of order) {
      await settle()
      record('up to date, 5,000 applied', tool(big, c))
    }
  }
  rmSync(big, { recursive: true, force: true })

  const version = spawnSync(NODE, ['--version'], { encoding: 'utf8' }).stdout.trim()
  console.log(
    `median of ${RUNS} runs each (whole process, alternating order; bundle on Node ${version})`
  )
  console.log('| scenario | tool | median | runs |\n|---|---|---|---|')
  for (const [key, ms] of times) {
    const [scenario, tool] = key.split('|')
    console.log(
      `| ${scenario} | ${tool} | ${(median(ms) / 1000).toFixed(2)} s | ${ms.map(x => (x / 1000).toFixed(2)).join(', ')} |`
    )
  }
  for (const scenario of scenarios) {
    const c = median(times.get(`${scenario}|supabase db push`))
    const o = median(times.get(`${scenario}|shipgate db-migrate`))
    const cs = times.get(`${scenario}|supabase db push`)
    const pairs = times.get(`${scenario}|shipgate db-migrate`).map((x, i) => cs[i] / x)
    console.log(
      `${scenario}: shipgate is ${(c / o).toFixed(2)}x the CLI's speed (ratio of medians); ` +
        `median of per-run ratios ${median(pairs).toFixed(2)}x (${pairs.map(r => r.toFixed(2)).join(', ')})`
    )
  }
} finally {
  for (const name of created)
    await sql('postgres', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined)
}
