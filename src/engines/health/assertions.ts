import vm from 'node:vm'
import { clip } from '../../runtime/inputs.js'

export const OPERATORS = ['eq', 'ne', 'lt', 'lte', 'gt', 'gte', 'match', 'exists'] as const
export type Operator = (typeof OPERATORS)[number]

export interface Assertion {
  path: string
  op: Operator
  value: unknown
}

/** Longest a `match` may run: a catastrophic pattern is stopped, not waited for. */
export const MATCH_TIME_MS = 100

/** `memory.heapUsedPercent` or `checks.0.status` into the parsed body. */
export function getPath(root: unknown, path: string): { found: boolean; value: unknown } {
  let cur: unknown = root
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || !Object.prototype.hasOwnProperty.call(cur, key))
      return { found: false, value: undefined }
    cur = (cur as Record<string, unknown>)[key]
  }
  return { found: true, value: cur }
}

let sandbox: { context: vm.Context; script: vm.Script } | undefined

/**
 * `pattern.test(subject)` where it can be stopped: in a V8 context with a
 * watchdog, so `^(a+)+$` against a hostile value cannot block the event loop.
 * Undefined when it was cut short.
 */
export function boundedTest(
  pattern: RegExp,
  subject: string,
  limitMs: number
): boolean | undefined {
  sandbox ??= {
    context: vm.createContext(Object.create(null) as object),
    script: new vm.Script('re.test(s)')
  }
  const { context, script } = sandbox
  context.re = pattern
  context.s = subject
  try {
    return script.runInContext(context, { timeout: Math.max(1, Math.floor(limitMs)) }) === true
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') return undefined
    throw error
  } finally {
    context.re = undefined
    context.s = undefined
  }
}

/** Why the assertion fails, or undefined when it holds. `matchLimitMs` bounds a `match`. */
export function checkAssertion(
  body: unknown,
  a: Assertion,
  matchLimitMs = MATCH_TIME_MS
): string | undefined {
  const { found, value } = getPath(body, a.path)
  const shown = clip(JSON.stringify(value) ?? 'undefined', 200)
  if (a.op === 'exists') {
    return found === Boolean(a.value) ? undefined : `${a.path} ${a.value ? 'is missing' : 'exists'}`
  }
  if (!found) return `${a.path} is missing (expected ${a.op} ${JSON.stringify(a.value)})`
  const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v))
  let ok: boolean
  switch (a.op) {
    case 'eq':
      ok = looseEqual(value, a.value)
      break
    case 'ne':
      ok = !looseEqual(value, a.value)
      break
    case 'lt':
      ok = num(value) < num(a.value)
      break
    case 'lte':
      ok = num(value) <= num(a.value)
      break
    case 'gt':
      ok = num(value) > num(a.value)
      break
    case 'gte':
      ok = num(value) >= num(a.value)
      break
    case 'match': {
      const subject = typeof value === 'string' ? value : (JSON.stringify(value) ?? '')
      const matched = boundedTest(new RegExp(String(a.value)), subject, matchLimitMs)
      if (matched === undefined)
        return `${a.path} match ${JSON.stringify(a.value)} cut short after ${Math.max(1, Math.floor(matchLimitMs))} ms (the pattern backtracks too much on a ${subject.length}-character value)`
      ok = matched
      break
    }
  }
  return ok ? undefined : `${a.path} is ${shown} (expected ${a.op} ${JSON.stringify(a.value)})`
}

function looseEqual(a: unknown, b: unknown): boolean {
  if (typeof a === 'object' || typeof b === 'object') return JSON.stringify(a) === JSON.stringify(b)
  return a === b || String(a) === String(b)
}
