import type { Clients } from '../../providers/clients.js'
import type { Host } from '../../runtime/host.js'
import type { Outcome } from '../../runtime/run-action.js'
import { runPending } from '../pending.js'
import { OUTPUTS, spec } from './inputs.js'

export function run(host: Host<Clients>): Promise<Outcome> {
  return runPending(host, 'deploy-web', spec, OUTPUTS)
}
