// `npm run demo` (and `npm run sandbox` with --sandbox): rebuilds dist/ when the
// source is newer (the demo runs the built actions, as a runner would), bundles the
// demo or sandbox from src/ into .tmp/, and runs it. Other arguments pass through.
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { build } from 'esbuild'

function newest(dir) {
  let t = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs)
  }
  return t
}

const sandbox = process.argv.includes('--sandbox')
const bundle = 'dist/shipgate.js'
if (!existsSync(bundle) || statSync(bundle).mtimeMs < newest('src'))
  execFileSync(process.execPath, ['script/build.mjs'], { stdio: 'inherit' })

const outfile = path.resolve(`.tmp/world/${sandbox ? 'sandbox' : 'demo'}.mjs`)
await build({
  entryPoints: [sandbox ? 'src/sandbox/main.ts' : 'src/demo/main.ts'],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning'
})
process.argv = [process.argv[0], outfile, ...process.argv.slice(2).filter(a => a !== '--sandbox')]
await import(pathToFileURL(outfile).href)
