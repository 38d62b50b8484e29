// The build and its cost on every run: build time, dist/ size, and each action's cold
// start (process start to exit on a validation error) against `node -e 0` and a bundle
// of @actions/core alone, built the same way and measured in the same run, interleaved.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { build } from 'esbuild'
import { actionNames } from '../script/registry.mjs'

const N = Number(process.env.BENCH_RUNS ?? 21)
const dir = mkdtempSync(path.join(tmpdir(), 'bench-'))
const env = {
  PATH: process.env.PATH,
  GITHUB_OUTPUT: path.join(dir, 'out'),
  GITHUB_STEP_SUMMARY: path.join(dir, 'sum')
}
writeFileSync(env.GITHUB_OUTPUT, '')
writeFileSync(env.GITHUB_STEP_SUMMARY, '')

// Build time: three full builds, median.
const builds = []
for (let i = 0; i < 3; i++) {
  const t = process.hrtime.bigint()
  const r = spawnSync(process.execPath, ['script/build.mjs'], { stdio: 'ignore' })
  if (r.status !== 0) throw new Error('build failed')
  builds.push(Number(process.hrtime.bigint() - t) / 1e6)
}
builds.sort((a, b) => a - b)

function sizeOf(p) {
  const s = statSync(p)
  if (!s.isDirectory())
    return { code: p.endsWith('.map') ? 0 : s.size, maps: p.endsWith('.map') ? s.size : 0 }
  const total = { code: 0, maps: 0 }
  for (const f of readdirSync(p)) {
    const t = sizeOf(path.join(p, f))
    total.code += t.code
    total.maps += t.maps
  }
  return total
}
const size = sizeOf('dist')

// The baseline: @actions/core alone, bundled like ours (esbuild, ESM, minified).
const coreEntry = path.join(dir, 'core-entry.mjs')
writeFileSync(coreEntry, "import * as core from '@actions/core'\ncore.setFailed('x')\n")
const coreBundle = path.join(dir, 'core.mjs')
await build({
  entryPoints: [coreEntry],
  outfile: coreBundle,
  bundle: true,
  platform: 'node',
  format: 'esm',
  minify: true,
  nodePaths: [path.resolve('node_modules')],
  banner: {
    js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);"
  },
  logLevel: 'error'
})

const subjects = [
  ['node -e 0', ['-e', '0']],
  ['@actions/core alone', [coreBundle]],
  ...(await actionNames()).map(n => [n, [`dist/${n}/index.js`]]),
  ['root (main)', ['dist/main/index.js']]
]
const samples = new Map(subjects.map(([name]) => [name, []]))
for (let i = 0; i < N; i++)
  for (const [name, args] of subjects) {
    const t = process.hrtime.bigint()
    spawnSync(process.execPath, args, { env, stdio: 'ignore' })
    samples.get(name).push(Number(process.hrtime.bigint() - t) / 1e6)
  }
const median = name => {
  const s = [...samples.get(name)].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}
const floor = median('node -e 0')
const core = median('@actions/core alone')
const mb = b => `${(b / 1024 / 1024).toFixed(2)} MB`
console.log(`node ${process.version}; build ${(builds[1] / 1000).toFixed(2)} s (median of 3)`)
console.log(
  `dist/: ${mb(size.code)} of code + ${mb(size.maps)} of source maps = ${mb(size.code + size.maps)}`
)
console.log(`cold start, median of ${N} interleaved runs:`)
console.log('| run | cold start | over node -e 0 | over @actions/core alone |')
console.log('|---|---|---|---|')
for (const [name] of subjects) {
  const ms = median(name)
  console.log(
    `| ${name} | ${ms.toFixed(0)} ms | ${name === 'node -e 0' ? '—' : `+${(ms - floor).toFixed(0)} ms`} | ${name === 'node -e 0' || name === '@actions/core alone' ? '—' : `${ms - core >= 0 ? '+' : ''}${(ms - core).toFixed(0)} ms`} |`
  )
}
