import { cli } from './main.js'

// The `shipgate` binary's entry (dist/cli.js): exit status as on a runner.
process.setSourceMapsEnabled(true)
const code = await cli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signals: true
})
process.exitCode = code
