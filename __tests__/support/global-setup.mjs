// npm test never runs stale bundles: rebuild dist/ (about a second) when any source is newer.
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import path from 'node:path'

function newest(dir) {
  let t = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs)
  }
  return t
}

export default function globalSetup() {
  const bundle = 'dist/shipgate.js'
  const stale =
    !existsSync(bundle) ||
    statSync(bundle).mtimeMs < Math.max(newest('src'), statSync('package-lock.json').mtimeMs)
  if (!stale) return
  try {
    execFileSync(process.execPath, ['script/build.mjs'], { stdio: 'inherit' })
  } catch {
    // Unit tests still run; the bundle tests refuse to run on the stale dist/ (harness.ts).
    process.env.SHIPGATE_BUILD_FAILED = '1'
    console.error('\nnpm test: dist/ could not be rebuilt from src/ (see above).\n')
  }
}
