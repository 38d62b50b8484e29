// Coverage of src/ over the whole test run, printed as a summary:
// - in-process tests: Jest's V8 coverage (coverage/coverage-final.json);
// - the built bundles the harness runs as the runner does: the raw V8 coverage each
//   child process wrote (SHIPGATE_BUNDLE_COVERAGE), mapped through dist/'s source maps.
// Both are line-based (v8-to-istanbul), so they merge file by file.
// Usage: node .ci/coverage.mjs <raw V8 dir> [coverage/coverage-final.json]
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import libCoverage from 'istanbul-lib-coverage'
import v8ToIstanbul from 'v8-to-istanbul'
import v8Coverage from '@bcoe/v8-coverage'

const ROOT = process.cwd()
const SRC = path.join(ROOT, 'src') + path.sep
const DIST = pathToFileURL(path.join(ROOT, 'dist')).href + '/'
const [rawDir, jestFile = 'coverage/coverage-final.json'] = process.argv.slice(2)

const map = libCoverage.createCoverageMap(
  existsSync(jestFile) ? JSON.parse(readFileSync(jestFile, 'utf8')) : {}
)
const inProcess = map.files().length

// Every bundle process, merged per script first: one source-map pass per file.
const processes = (existsSync(rawDir) ? readdirSync(rawDir) : [])
  .filter(f => f.endsWith('.json'))
  .map(f => JSON.parse(readFileSync(path.join(rawDir, f), 'utf8')))
  .map(raw => ({ result: raw.result.filter(script => script.url.startsWith(DIST)) }))
const merged = processes.length ? v8Coverage.mergeProcessCovs(processes) : { result: [] }
for (const script of merged.result) {
  const file = fileURLToPath(script.url)
  if (!existsSync(`${file}.map`)) continue
  const converter = v8ToIstanbul(file, 0)
  await converter.load()
  converter.applyCoverage(script.functions)
  const data = converter.toIstanbul()
  for (const [source, fileCoverage] of Object.entries(data))
    if (source.startsWith(SRC)) map.merge({ [source]: fileCoverage })
}

const walk = dir =>
  readdirSync(dir, { withFileTypes: true }).flatMap(e =>
    e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]
  )
const all = walk(SRC).filter(f => f.endsWith('.ts') && !f.endsWith('.d.ts'))
const never = all.filter(f => !map.files().includes(f))
// A file no test loaded counts with every line uncovered.
for (const file of never) {
  const source = readFileSync(file, 'utf8')
  const converter = v8ToIstanbul(file, 0, { source })
  await converter.load()
  converter.applyCoverage([
    {
      functionName: '',
      isBlockCoverage: true,
      ranges: [{ startOffset: 0, endOffset: source.length, count: 0 }]
    }
  ])
  map.merge(converter.toIstanbul())
}

const s = map.getCoverageSummary()
const pct = k => `${s[k].pct}% (${s[k].covered}/${s[k].total})`
console.log(
  'Coverage of src/ (in-process tests and the bundles the harness runs; unloaded files count as 0):'
)
console.log(`  Lines     ${pct('lines')}`)
console.log(`  Functions ${pct('functions')}`)
console.log(`  Branches  ${pct('branches')}`)
console.log(
  `  Files     ${all.length - never.length} of ${all.length} loaded (${inProcess} in-process, ${processes.length} bundle runs)`
)
if (never.length)
  console.log(`  Never loaded by a test: ${never.map(f => path.relative(ROOT, f)).join(', ')}`)
