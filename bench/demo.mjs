// npm run bench demo: wall time of `npm run demo` (the issue asks for under a minute
// on two cores), per scenario, and the shipgate CLI's cold start. Medians of runs.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import path from 'node:path'

const RUNS = Number(process.env.BENCH_DEMO_RUNS ?? 3)
const median = xs => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const out = mkdtempSync(path.join(tmpdir(), 'shipgate-bench-demo-'))

// Build once outside the timing (the demo rebuilds dist/ only when src/ is newer).
spawnSync(process.execPath, ['script/build.mjs'], { stdio: 'ignore' })
const walls = []
const perScenario = []
for (let i = 0; i < RUNS; i++) {
  const t = performance.now()
  const r = spawnSync(process.execPath, ['script/demo.mjs', '--out', out], { encoding: 'utf8' })
  walls.push(performance.now() - t)
  if (r.status !== 0) console.log(`run ${i + 1} exited ${r.status}: ${r.stdout.split('\n').at(-3)}`)
  const results = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8'))
  results.scenarios.forEach((s, j) =>
    (perScenario[j] ??= { title: s.title, ms: [] }).ms.push(s.durationMs)
  )
}
const cold = args => {
  const xs = []
  for (let i = 0; i < 7; i++) {
    const t = performance.now()
    spawnSync(process.execPath, ['bin/shipgate.js', ...args], { stdio: 'ignore' })
    xs.push(performance.now() - t)
  }
  return median(xs)
}
console.log(`${cpus().length} CPUs, load average ${loadavg()[0].toFixed(1)}; ${RUNS} demo runs`)
console.log(
  `npm run demo: median ${(median(walls) / 1000).toFixed(1)} s (max ${(Math.max(...walls) / 1000).toFixed(1)} s)`
)
for (const s of perScenario)
  console.log(`  ${(median(s.ms) / 1000).toFixed(1).padStart(5)} s  ${s.title}`)
console.log(
  `shipgate --version: ${cold(['--version']).toFixed(0)} ms; shipgate deploy-api --help: ${cold(['deploy-api', '--help']).toFixed(0)} ms`
)
rmSync(out, { recursive: true, force: true })
