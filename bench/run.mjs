// npm run bench: bundle sizes and cold starts of every dist bundle, the 50-check
// health round, and each action's own benchmark script when present.
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'

const only = process.argv.slice(2)
const scripts = readdirSync('bench')
  .filter(f => f.endsWith('.mjs') && f !== 'run.mjs' && !f.startsWith('_'))
  .filter(f => only.length === 0 || only.some(o => f.includes(o)))
for (const s of scripts) {
  console.log(`\n## bench/${s}`)
  const r = spawnSync(process.execPath, [`bench/${s}`], { stdio: 'inherit' })
  if (r.status !== 0) console.log(`(bench/${s} exited ${r.status})`)
}
