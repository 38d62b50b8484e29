import type { Clients } from '../providers/clients.js'
import type { Host } from '../runtime/host.js'
import type { Outcome } from '../runtime/run-action.js'

/** What every action module exports: its run over an injected host. */
export interface ActionModule {
  run(host: Host<Clients>): Promise<Outcome>
}

/**
 * The one list of actions, in the order the docs show them. Each is loaded only
 * when it runs, so a run pays for its own dependencies and no other action's.
 * The root dispatcher, the build, the docs, the tests and the CLI read this.
 */
export const ACTIONS = {
  'deploy-api': () => import('./deploy-api/run.js'),
  'deploy-web': () => import('./deploy-web/run.js'),
  rollback: () => import('./rollback/run.js'),
  'db-migrate': () => import('./db-migrate/run.js'),
  'db-backup': () => import('./db-backup/run.js'),
  'smoke-health': () => import('./smoke-health/run.js')
} satisfies Record<string, () => Promise<ActionModule>>

export type ActionName = keyof typeof ACTIONS

export const ACTION_NAMES = Object.keys(ACTIONS) as ActionName[]

export function isActionName(name: string): name is ActionName {
  return Object.hasOwn(ACTIONS, name)
}
