// npm run bench: bundle sizes and cold starts of every dist bundle, the 50-check
// health round, and each action's own benchmark script when present (bench/db-backup.mjs
// dumps a pgbench database of SHIPGATE_BENCH_BACKUP_SCALE, default 70 = about 1 GB).
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'

const only = process.argv.slice(2)
const scripts = readdirSync('bench')
  .filter(f => f.endsWith('.mjs') && f !== 'run.mjs' && !f.startsWith('_'))
  .filter(f => only.length === 0 || only.some(o => f.includes(o)))
for (const s of scripts) {
  console.log(`\n## bench/${s}`)
  const r = spawnSync(process.execPath, [`bench/${s}`], { stdio: 'inherit' })
  if (r.status !== 0) {
    console.log(`(bench/${s} exited ${r.status})`)
    process.exitCode = 1
  }
}

// Benchmarks that need the TypeScript fakes run through jest.
const jestBenches = readdirSync('__tests__')
  .filter(f => f.endsWith('.bench.test.ts'))
  .filter(f => only.length === 0 || only.some(o => f.includes(o)))
if (jestBenches.length) {
  console.log(`\n## ${jestBenches.join(', ')}`)
  const r = spawnSync(
    process.execPath,
    [
      '--experimental-vm-modules',
      'node_modules/jest/bin/jest.js',
      '--testPathIgnorePatterns',
      '/node_modules/',
      '--testMatch',
      '**/__tests__/*.bench.test.ts',
      ...jestBenches
    ],
    { stdio: 'inherit', env: { ...process.env, NODE_NO_WARNINGS: '1' } }
  )
  if (r.status !== 0) process.exitCode = 1
}
