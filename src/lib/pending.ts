import { runAction } from './action.js'
import { ConfigurationError } from './errors.js'
import { readInputs, type Field } from './inputs.js'

/**
 * An action whose issue has not landed: it validates its declared inputs (so
 * secrets are masked and mistakes reported) and then fails plainly. It never
 * pretends to deploy, roll back or back up anything.
 */
export async function runPending(
  name: string,
  spec: Record<string, Field<unknown>>,
  outputs: Record<string, string>
): Promise<void> {
  await runAction(name, outputs, async () => {
    readInputs(spec)
    throw new ConfigurationError(
      `${name} is not implemented yet in this version of Shipgate; nothing was changed. Use smoke-health, deploy-api or db-migrate meanwhile.`
    )
  })
}
