import { createClients } from '../providers/clients.js'
import { closeConnections } from '../providers/http/client.js'
import { createActionsHost } from '../runtime/actions-host.js'
import { errorMessage } from '../runtime/errors.js'
import { redact } from '../runtime/redact.js'
import { ACTION_NAMES, ACTIONS, isActionName } from './registry.js'

/**
 * The entry of every bundle on a runner: `name` is the action, or undefined for
 * the root action, which reads it from the `command` input.
 */
export async function main(name?: string): Promise<void> {
  const host = createActionsHost(context => createClients(context))
  const command = name ?? host.input('command')
  if (!isActionName(command)) {
    host.setFailed(
      `Input 'command' has an invalid value ${JSON.stringify(command.slice(0, 80))}: expected one of ${ACTION_NAMES.join(', ')}`
    )
    return
  }
  try {
    const action = await ACTIONS[command]()
    const outcome = await action.run(host)
    if (outcome.status === 'cancelled') process.exit(1)
  } catch (error) {
    // A defect of Shipgate itself (the lifecycle catches everything else): one line, the stack at debug.
    host.setFailed(`${command}: unexpected error: ${errorMessage(error)}`)
    if (error instanceof Error && error.stack) host.log.debug(redact(error.stack))
  } finally {
    await closeConnections()
  }
}
