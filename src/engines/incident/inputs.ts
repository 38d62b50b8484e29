import { z } from 'zod'
import { bool, field, list, secret, text } from '../../runtime/inputs.js'
import type { IncidentSettings } from './incident.js'

function environmentName(def: string) {
  return z.string().transform((raw, ctx) => {
    const v = raw === '' ? def : raw
    if (!/^[\w.-]{1,100}$/.test(v)) {
      ctx.addIssue({
        code: 'custom',
        message: "expected an environment name of letters, digits, '.', '_' or '-'"
      })
      return z.NEVER
    }
    return v
  })
}

/** The inputs every action shares: where it runs and what it does with incidents. */
export function commonFields() {
  return {
    environment: field(environmentName('production')),
    'github-token': secret(text()),
    'open-issue': field(bool(true)),
    'close-issue': field(bool(true)),
    'issue-labels': field(list(['incident'])),
    'issue-assignees': field(list())
  }
}

export interface CommonInputs {
  environment: string
  githubToken: string
  incident: Omit<IncidentSettings, 'action' | 'target'>
}

export function commonInputs(v: Record<string, unknown>): CommonInputs {
  return {
    environment: v.environment as string,
    githubToken: v['github-token'] as string,
    incident: {
      environment: v.environment as string,
      labels: v['issue-labels'] as string[],
      assignees: (v['issue-assignees'] as string[]).map(a => a.replace(/^@/, '')),
      open: v['open-issue'] as boolean,
      close: v['close-issue'] as boolean
    }
  }
}
