import * as core from '@actions/core'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { COMMANDS } from './commands.js'

// The root action: `command` names the action to run; every other input passes
// through unchanged as INPUT_* variables, so each action reads its own.
const command = core.getInput('command')
if (!(COMMANDS as readonly string[]).includes(command)) {
  core.setFailed(
    `Input 'command' has an invalid value ${JSON.stringify(command)}: expected one of ${COMMANDS.join(', ')}`
  )
} else {
  const entry = new URL(`../${command}/index.js`, import.meta.url)
  if (!existsSync(fileURLToPath(entry)))
    core.setFailed(
      `The bundle for '${command}' is missing: this checkout of Shipgate is incomplete`
    )
  else await import(/* webpackIgnore: true */ entry.href)
}
