import type { Clients } from '../providers/clients.js'
import { ConfigurationError } from '../runtime/errors.js'
import type { Host } from '../runtime/host.js'
import { readInputs, type Field } from '../runtime/inputs.js'
import { runAction, type Outcome } from '../runtime/run-action.js'

/**
 * An action whose issue has not landed: it validates its declared inputs (so
 * secrets are masked and mistakes reported) and then fails plainly. It never
 * pretends to deploy, roll back or back up anything.
 */
export function runPending(
  host: Host<Clients>,
  name: string,
  spec: Record<string, Field<unknown>>,
  outputs: Record<string, string>
): Promise<Outcome> {
  return runAction(host, name, outputs, async () => {
    readInputs(spec, host.input, host.log.debug)
    throw new ConfigurationError(
      `${name} is not implemented yet in this version of Shipgate; nothing was changed. Use smoke-health, deploy-api or db-migrate meanwhile.`
    )
  })
}
