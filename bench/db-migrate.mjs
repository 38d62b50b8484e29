// npm run bench -- db-migrate: the db-migrate bundle against `supabase db push` on the local Postgres.
//   1. apply 500 and 2,000 two-statement migrations into an empty database (CLI into db A, bundle
//      into db B), for each workload:
//        table: `create table` + `insert` (a plain table: the server's own work is small, so
//               what each tool adds per file shows);
//        keyed: the same with a primary key and a text column (each file builds the key's and the
//               TOAST table's index, and Postgres 15 fsyncs both at once: ~2 ms of server work
//               per file that both tools wait for alike);
//      and 500 files of each through a relay that delays every packet (BENCH_DELAY_MS, default 2 ms
//      each way): the round trips a database over a network costs;
//   2. decide "up to date" with 5,000 applied versions (both tools, same database).
// BENCH_RUNS (default 5) runs per tool and scenario; BENCH_COUNTS (default 500,2000) the file counts;
// BENCH_WORKLOADS (default table,keyed); SHIPGATE_BUNDLE runs another copy of the bundle. A pair
// (the two tools back to back) counts only when both succeed and write the same history; any other
// makes the bench exit 1. Besides the ratio of medians, the per-run ratios and their median are
// printed: on a machine whose load swings that median is the steadier figure.
// Needs Postgres on 127.0.0.1:5432 (user postgres, trust), node_modules/.bin/supabase and dist/db-migrate/index.js.
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'

const HOST = process.env.SHIPGATE_TEST_PGHOST ?? '127.0.0.1'
const PORT = process.env.SHIPGATE_TEST_PGPORT ?? '5432'
const url = (db, port = PORT) => `postgres://postgres@${HOST}:${port}/${db}?sslmode=disable`
const BUNDLE = path.resolve(process.env.SHIPGATE_BUNDLE ?? 'dist/db-migrate/index.js')
const CLI = path.resolve('node_modules/.bin/supabase')
// The runtime the action declares (node24), as the runner runs it: SHIPGATE_NODE24 or the copy
// .ci/run installs; this Node otherwise (Node 20 starts about 50 ms slower).
const NODE24 = path.resolve('.tmp/node24/node_modules/.bin/node')
if (process.env.SHIPGATE_NODE24 && !existsSync(process.env.SHIPGATE_NODE24))
  throw new Error(`SHIPGATE_NODE24=${process.env.SHIPGATE_NODE24} does not exist`)
const NODE = process.env.SHIPGATE_NODE24 || (existsSync(NODE24) ? NODE24 : process.execPath)

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
 * Every timed run starts from the same server state: a CHECKPOINT first (this bench's
 * choice), so neither tool pays for the dirty pages and files of the run before it
 * (thousands of new relation files to fsync) or races a checkpoint that run started.
 * The databases are dropped only at the end: on ext4 without a journal (as on these
 * machines), for a minute or more after DROP DATABASE deletes thousands of files, each new
 * inode is allocated slowly (recently deleted ones are skipped; perf shows recently_deleted
 * and find_inode_bit on top), which added about 2 s of kernel time to whichever tool ran
 * next, a cost of the bench, not of either tool. Keeping them costs a little background
 * work (autovacuum visits each), the same for both tools.
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
    console.log(
      `${label} failed (${r.error ? r.error.message : `exit ${r.status ?? r.signal}`}):\n` +
        (r.stderr || r.stdout || '').slice(-2000)
    )
  return { label, ms, ok }
}

function cli(root, db, port) {
  return timed('supabase db push', CLI, ['db', 'push', '--db-url', url(db, port), '--yes'], {
    cwd: root,
    env: { ...process.env, SUPABASE_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' }
  })
}

/** Runs the bundle the way the runner does: INPUT_<NAME> (hyphens kept), GITHUB_OUTPUT, GITHUB_STEP_SUMMARY. */
function bundle(root, db, port) {
  const out = path.join(root, 'github-output')
  const summary = path.join(root, 'step-summary')
  writeFileSync(out, '')
  writeFileSync(summary, '')
  const inputs = {
    'database-url': url(db, port),
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
  const r = timed('shipgate db-migrate', NODE, [BUNDLE], { cwd: root, env })
  // The runner's file protocol: name<<delimiter, value, delimiter.
  const version = /^current-version<<(.+)\n(.*)\n\1$/mu.exec(readFileSync(out, 'utf8'))
  return { ...r, currentVersion: version?.[2] }
}

const WORKLOADS = {
  table: i => `create table t${i} (id int, v int);\ninsert into t${i} values (1, 2);\n`,
  keyed: i =>
    `create table t${i} (id int primary key, v text);\ninsert into t${i} values (1, 'x');\n`
}

const list = (name, fallback) =>
  (process.env[name] ?? fallback)
    .split(',')
    .map(s => s.trim())
    .filter(Boolean)
const RUNS = Number(process.env.BENCH_RUNS ?? 5)
const counts = list('BENCH_COUNTS', '500,2000').map(Number)
const DELAY = Number(process.env.BENCH_DELAY_MS ?? 2)
const workloads = [...new Set(list('BENCH_WORKLOADS', 'table,keyed'))]
for (const w of workloads)
  if (!WORKLOADS[w])
    throw new Error(`BENCH_WORKLOADS: ${w} is not one of ${Object.keys(WORKLOADS)}`)
const whole = (n, min, max) => Number.isInteger(n) && n >= min && n <= max
if (!whole(RUNS, 1, 1000) || !counts.every(c => whole(c, 1, 100_000)))
  throw new Error('BENCH_RUNS (1-1000) and BENCH_COUNTS (1-100000) must be whole numbers')
if (!whole(DELAY, 0, 10_000)) throw new Error('BENCH_DELAY_MS must be a whole number, 0-10000')
const nodeVersion = spawnSync(NODE, ['--version'], { encoding: 'utf8' }).stdout?.trim()
if (!nodeVersion) throw new Error(`${NODE} does not run (node --version printed nothing)`)

// Ctrl-C or SIGTERM: stop after the running tool (spawnSync) and clean up in finally.
let interrupted = false
for (const signal of ['SIGINT', 'SIGTERM'])
  process.once(signal, () => {
    interrupted = true
    process.exitCode = 130
  })
const checkInterrupted = () => {
  if (interrupted) throw new Error('interrupted')
}

/** scenario -> the pairs that count: both tools succeeded and (when applying) wrote the same history. */
const pairs = new Map()
let discarded = 0
const median = xs => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
const HISTORY =
  'select version, name, statements from supabase_migrations.schema_migrations order by version'
const historyOf = db => sql(db, HISTORY).catch(() => [])

const newest = rows => String(20240000000000 + rows)

/**
 * One pair: the tools in `order`, each from a CHECKPOINT, each on its database in `dbs`.
 * Afterwards both histories must hold `rows` identical rows, and the bundle must report the
 * newest of them as its current-version. Without a `scenario` the pair is untimed.
 */
async function pair(scenario, root, order, dbs, rows, port) {
  const r = {}
  for (const tool of order) {
    checkInterrupted()
    await settle()
    r[tool === cli ? 'cli' : 'ours'] = tool(root, tool === cli ? dbs.cli : dbs.ours, port)
  }
  checkInterrupted()
  let ok = r.cli.ok && r.ours.ok
  if (ok) {
    const [ours, theirs] = [await historyOf(dbs.ours), await historyOf(dbs.cli)]
    if (ours.length !== rows || JSON.stringify(ours) !== JSON.stringify(theirs)) {
      console.log(
        `${scenario}: histories differ (bundle ${ours.length} rows, CLI ${theirs.length})`
      )
      ok = false
    } else if (r.ours.currentVersion !== newest(rows)) {
      console.log(
        `${scenario}: the bundle reported current-version ${r.ours.currentVersion}, not ${newest(rows)}`
      )
      ok = false
    }
  }
  if (!ok) discarded++
  if (scenario === undefined || !ok) return
  if (!pairs.has(scenario)) pairs.set(scenario, [])
  pairs.get(scenario).push({ cli: r.cli.ms, ours: r.ours.ms })
}

// Each scenario starts with one untimed pair, so whatever came before it (another bench's
// DROP DATABASE, the previous scenario's files) lands on no measured run; then the tools
// alternate which goes first.
const orderOf = run => (run % 2 ? [bundle, cli] : [cli, bundle])

/** Starts bench/_delay-proxy.mjs in front of Postgres; resolves to its port and the process. */
async function delayProxy(oneWayMs) {
  // Its stdin is ours: when this process ends, however it ends, the proxy exits.
  const child = spawn(process.execPath, ['bench/_delay-proxy.mjs', PORT, String(oneWayMs)], {
    stdio: ['pipe', 'pipe', 'inherit']
  })
  const port = await new Promise((resolve, reject) => {
    child.stdout.once('data', d => resolve(String(d).trim()))
    child.once('exit', code => reject(new Error(`the delay proxy exited (${code})`)))
  })
  return { port, child }
}

const projects = []
const scenarios = []
/** `count` files of `workload` from empty, fresh databases for each pair, on `port`. */
async function apply(scenario, workload, count, port) {
  scenarios.push(scenario)
  const root = project(count, WORKLOADS[workload])
  projects.push(root)
  for (let run = -1; run < RUNS; run++) {
    const dbs = { cli: await createDb(), ours: await createDb() }
    await pair(run < 0 ? undefined : scenario, root, orderOf(run + 1), dbs, count, port)
  }
}

let proxy
try {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is not built: run npm run build`)

  // 1. N files from empty.
  for (const workload of workloads)
    for (const count of counts)
      await apply(`apply ${count.toLocaleString('en')} files (${workload})`, workload, count)

  // 1b. 500 files of each workload over a network round trip of 2 x DELAY ms (a database in
  //     another building, as Supabase is from a runner). BENCH_DELAY_MS (default 2) one way; 0 skips.
  if (DELAY > 0) {
    proxy = await delayProxy(DELAY)
    for (const workload of workloads)
      await apply(
        `apply 500 files (${workload}), ${2 * DELAY} ms round trip`,
        workload,
        500,
        proxy.port
      )
  }

  // 2. Up to date with 5,000 applied versions (history written directly, statements as the CLI records them).
  const upToDate = 'up to date, 5,000 applied'
  scenarios.push(upToDate)
  const big = project(5000, i => `select ${i};\n`)
  projects.push(big)
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
  for (let run = -1; run < RUNS; run++)
    await pair(run < 0 ? undefined : upToDate, big, orderOf(run + 1), { cli: c, ours: c }, 5000)

  console.log(
    `Medians over the pairs that count (whole process, the tools alternating, after one untimed pair; bundle on Node ${nodeVersion})`
  )
  console.log(
    '| scenario | supabase db push | shipgate db-migrate | ratio of medians | per-run ratios (median) | pairs |'
  )
  console.log('|---|---|---|---|---|---|')
  const secs = ms => `${(ms / 1000).toFixed(2)} s`
  for (const scenario of scenarios) {
    const ps = pairs.get(scenario) ?? []
    if (ps.length === 0) {
      console.log(`| ${scenario} | — | — | — | — | 0 of ${RUNS} |`)
      continue
    }
    const [c, o] = [median(ps.map(p => p.cli)), median(ps.map(p => p.ours))]
    const ratios = ps.map(p => p.cli / p.ours)
    console.log(
      `| ${scenario} | ${secs(c)} | ${secs(o)} | ${(c / o).toFixed(2)}x | ` +
        `${ratios.map(r => r.toFixed(2)).join(', ')} (${median(ratios).toFixed(2)}x) | ${ps.length} of ${RUNS} |`
    )
  }
  if (discarded > 0) {
    console.log(`${discarded} pair(s) failed: a tool failed or the histories differ (above)`)
    process.exitCode = 1
  }
} catch (error) {
  if (!interrupted) throw error
  console.log('Interrupted: the databases and files made so far are removed.')
} finally {
  proxy?.child.kill()
  for (const root of projects) rmSync(root, { recursive: true, force: true })
  for (const name of created)
    await sql('postgres', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined)
}
