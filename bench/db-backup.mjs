// db-backup against plain `pg_dump -Fc -f` on a pgbench database: wall time
// (median of paired, alternating runs) and the peak RSS of the action's node process.
// Goals: ≤ 1.05× pg_dump unencrypted, ≤ 1.15× with age, peak RSS < 100 MB.
//   SHIPGATE_BENCH_BACKUP_SCALE  pgbench scale (default 70, about 1 GB; 7 is about 100 MB)
//   SHIPGATE_BENCH_BACKUP_RUNS   runs of each (default 3)
//   SHIPGATE_BENCH_BACKUP_DB     an existing pgbench database to use (kept); default: a new one, dropped
import { execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

const scale = Number(process.env.SHIPGATE_BENCH_BACKUP_SCALE ?? 70)
const runs = Number(process.env.SHIPGATE_BENCH_BACKUP_RUNS ?? 3)
const host = process.env.SHIPGATE_TEST_PGHOST ?? '127.0.0.1'
const port = process.env.SHIPGATE_TEST_PGPORT ?? '5432'
const given = process.env.SHIPGATE_BENCH_BACKUP_DB
const db = given ?? `shipgate_bench_${randomBytes(4).toString('hex')}`
const url = `postgres://postgres@${host}:${port}/${db}?sslmode=disable`
const psql = sql =>
  execFileSync('psql', [
    '-X',
    '-q',
    '-h',
    host,
    '-p',
    port,
    '-U',
    'postgres',
    '-d',
    'postgres',
    '-Atc',
    sql
  ])
    .toString()
    .trim()

const work = mkdtempSync(path.join(tmpdir(), 'shipgate-bench-backup-'))
// Peak RSS of the action's process, written when it exits.
const preload = path.join(work, 'rss.cjs')
writeFileSync(
  preload,
  "process.on('exit', () => require('fs').writeFileSync(process.env.RSS_FILE, String(process.resourceUsage().maxRSS)))\n"
)

function timed(cmd, args, env = process.env) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint()
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', d => (out += d))
    child.stderr.on('data', d => (out += d))
    child.on('error', reject)
    child.on('close', code => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9
      if (code !== 0) reject(new Error(`${cmd} exited ${code}: ${out.slice(-2000)}`))
      else resolve(seconds)
    })
  })
}

let n = 0
async function action(extra) {
  const name = `run${n++}`
  const rssFile = path.join(work, `${name}.rss`)
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME ?? work,
    RUNNER_TEMP: work,
    GITHUB_WORKSPACE: work,
    GITHUB_REPOSITORY: 'acme/shop',
    GITHUB_OUTPUT: path.join(work, `${name}.out`),
    RSS_FILE: rssFile,
    NODE_OPTIONS: `--require ${preload}`,
    'INPUT_DATABASE-URL': url,
    INPUT_DESTINATION: 'path',
    'INPUT_OUTPUT-DIR': work,
    INPUT_NAME: name,
    'INPUT_OPEN-ISSUE': 'false',
    'INPUT_CLOSE-ISSUE': 'false',
    ...extra
  }
  writeFileSync(env.GITHUB_OUTPUT, '')
  const seconds = await timed(process.execPath, ['dist/db-backup/index.js'], env)
  const outputs = readFileSync(env.GITHUB_OUTPUT, 'utf8')
  const file = outputs.match(/^path<<(.+)\n(.*)\n/m)?.[2]
  const size = file ? statSync(file).size : 0
  if (file) rmSync(file)
  return { seconds, rssMB: Number(readFileSync(rssFile, 'utf8')) / 1024, size }
}

const median = xs => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

try {
  if (!given) {
    psql(`CREATE DATABASE ${db}`)
    const t = Date.now()
    execFileSync(
      'pgbench',
      ['-i', '-q', '-s', String(scale), '-h', host, '-p', port, '-U', 'postgres', db],
      { stdio: 'ignore' }
    )
    console.log(`pgbench -i -s ${scale}: ${((Date.now() - t) / 1000).toFixed(0)} s`)
  }
  const size = Number(psql(`SELECT pg_database_size('${db}')`))
  console.log(
    `database ${(size / 1e6).toFixed(0)} MB (scale ${scale}), ${runs} alternating run(s) each`
  )
  const recipient = execFileSync('sh', ['-c', 'age-keygen 2>/dev/null | age-keygen -y'])
    .toString()
    .trim()
  const base = []
  const plain = []
  const age = []
  for (let i = 0; i < runs; i++) {
    const f = path.join(work, `base${i}.dump`)
    base.push(await timed('pg_dump', ['-Fc', '-f', f, url]))
    const baseSize = statSync(f).size
    rmSync(f)
    plain.push(await action({}))
    age.push(await action({ INPUT_RECIPIENTS: recipient }))
    console.log(
      `  run ${i + 1}: pg_dump -Fc ${base[i].toFixed(1)} s (${(baseSize / 1e6).toFixed(0)} MB), ` +
        `db-backup ${plain[i].seconds.toFixed(1)} s / ${plain[i].rssMB.toFixed(0)} MB RSS, ` +
        `age ${age[i].seconds.toFixed(1)} s / ${age[i].rssMB.toFixed(0)} MB RSS (${(age[i].size / 1e6).toFixed(0)} MB)`
    )
  }
  // The machine is shared: each run is compared with the pg_dump run just before it
  // (same load), and the median of those paired ratios is the result.
  const ratio = xs => median(xs.map((r, i) => r.seconds / base[i]))
  const peak = Math.max(...plain.map(r => r.rssMB), ...age.map(r => r.rssMB))
  console.log(
    `pg_dump -Fc -f: median ${median(base).toFixed(1)} s, best ${Math.min(...base).toFixed(1)} s`
  )
  console.log(
    `db-backup, unencrypted: ${ratio(plain).toFixed(2)}× pg_dump (median of paired runs; goal ≤ 1.05×)`
  )
  console.log(
    `db-backup, age:         ${ratio(age).toFixed(2)}× pg_dump (median of paired runs; goal ≤ 1.15×)`
  )
  console.log(`peak RSS of the action: ${peak.toFixed(0)} MB (goal < 100 MB)`)
} finally {
  if (!given) psql(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`)
  rmSync(work, { recursive: true, force: true })
}
