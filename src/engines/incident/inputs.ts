import { z } from 'zod'
import { bool, field, list, secret, text, type InputValues } from '../../runtime/inputs.js'
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

/** The parsed values of `commonFields()`, as `readInputs` returns them. */
export type CommonValues = InputValues<ReturnType<typeof commonFields>>

export function commonInputs(v: CommonValues): CommonInputs {
  return {
    environment: v.environment,
    githubToken: v['github-token'],
    incident: {
      environment: v.environment,
      labels: v['issue-labels'],
      assignees: v['issue-assignees'].map(a => a.replace(/^@/, '')),
      open: v['open-issue'],
      close: v['close-issue']
    }
  }
}
