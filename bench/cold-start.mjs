// Bundle size and cold start of each dist/<name>/index.js: process start to exit on a
// validation error, against `node -e 0` measured in the same run. Median of N runs.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

const N = Number(process.env.BENCH_RUNS ?? 15)
const dir = mkdtempSync(path.join(tmpdir(), 'bench-'))
const env = {
  PATH: process.env.PATH,
  GITHUB_OUTPUT: path.join(dir, 'out'),
  GITHUB_STEP_SUMMARY: path.join(dir, 'sum')
}
writeFileSync(env.GITHUB_OUTPUT, '')
writeFileSync(env.GITHUB_STEP_SUMMARY, '')

function time(args) {
  const samples = []
  for (let i = 0; i < N; i++) {
    const t = process.hrtime.bigint()
    spawnSync(process.execPath, args, { env, stdio: 'ignore' })
    samples.push(Number(process.hrtime.bigint() - t) / 1e6)
  }
  samples.sort((a, b) => a - b)
  return samples[Math.floor(N / 2)]
}

const floor = time(['-e', '0'])
console.log(`node ${process.version}, ${N} runs each, median wall time`)
console.log(`| bundle | size | cold start | over node -e 0 |`)
console.log(`|---|---|---|---|`)
console.log(`| node -e 0 | — | ${floor.toFixed(0)} ms | — |`)
for (const name of readdirSync('dist').sort()) {
  const file = `dist/${name}/index.js`
  const size = readdirSync(`dist/${name}`)
    .filter(f => f.endsWith('.js'))
    .reduce((s, f) => s + statSync(`dist/${name}/${f}`).size, 0)
  const ms = time([file])
  console.log(
    `| ${name} | ${(size / 1024 / 1024).toFixed(2)} MB | ${ms.toFixed(0)} ms | +${(ms - floor).toFixed(0)} ms |`
  )
}
