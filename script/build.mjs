// Builds one ncc bundle per action: dist/<name>/index.js (+ package.json with type: module).
import { execFile } from 'node:child_process'
import { existsSync, readdirSync, rmSync } from 'node:fs'
import { promisify } from 'node:util'

const run = promisify(execFile)
const only = process.argv.slice(2)
const entries = readdirSync('src', { withFileTypes: true })
  .filter(d => d.isDirectory() && existsSync(`src/${d.name}/index.ts`))
  .map(d => d.name)
  .filter(name => only.length === 0 || only.includes(name))

if (only.length === 0) rmSync('dist', { recursive: true, force: true })

async function build(name) {
  const started = Date.now()
  rmSync(`dist/${name}`, { recursive: true, force: true })
  await run('npx', ['ncc', 'build', `src/${name}/index.ts`, '-o', `dist/${name}`, '-m', '-q'], {
    maxBuffer: 1 << 24
  })
  console.log(`built dist/${name}/index.js in ${((Date.now() - started) / 1000).toFixed(1)} s`)
}

// Two at a time: the machines have two cores.
const queue = [...entries]
await Promise.all(
  [0, 1].map(async () => {
    while (queue.length) await build(queue.shift())
  })
)
