import { describe, expect, it } from '@jest/globals'
import {
  bool,
  duration,
  field,
  list,
  parseDuration,
  readInputs,
  secret,
  text
} from '../src/runtime/inputs.js'
import { checkAssertion, parseStatusSet } from '../src/engines/health/health.js'
import { addSecret, redact } from '../src/runtime/redact.js'
import { forEnvironment, worst } from '../src/engines/incident/severity.js'

describe('inputs', () => {
  it('parses durations', () => {
    expect(parseDuration('500ms')).toBe(500)
    expect(parseDuration('10s')).toBe(10_000)
    expect(parseDuration('5m')).toBe(300_000)
    expect(parseDuration('1h')).toBe(3_600_000)
    expect(parseDuration('1m30s')).toBe(90_000)
    expect(parseDuration('7')).toBe(7000)
    expect(parseDuration('1.5')).toBe(1500)
    for (const bad of ['', 'ten', '5 m', '-1', '1d', 's'])
      expect(parseDuration(bad)).toBeUndefined()
  })

  it('splits lists on newlines and commas and follows getBooleanInput', () => {
    const v = readInputs(
      { a: field(list()), b: field(bool(true)), c: field(bool(false)) },
      n => ({ a: 'x, y\nz,,', b: '', c: 'TRUE' })[n] ?? ''
    )
    expect(v).toEqual({ a: ['x', 'y', 'z'], b: true, c: true })
    expect(() => readInputs({ b: field(bool(true)) }, () => 'yes')).toThrow(
      'Input \'b\' has an invalid value "yes": expected true or false'
    )
  })

  it('names the input and the value, but never a secret value', () => {
    expect(() => readInputs({ timeout: field(duration('1s')) }, () => 'soon')).toThrow(
      /Input 'timeout' has an invalid value "soon": expected a duration/
    )
    const spec = {
      key: secret(text().refine(v => v.startsWith('rnd_'), 'expected a Render API key (rnd_...)'))
    }
    let message = ''
    try {
      readInputs(spec, () => 'hunter2-secret')
    } catch (e) {
      message = (e as Error).message
    }
    expect(message).toContain("Input 'key'")
    expect(message).toContain('rnd_')
    expect(message).not.toContain('hunter2-secret')
  })

  it('redacts registered secrets, URL-encoded forms included', () => {
    addSecret('p@ss word/1')
    expect(redact('url postgres://u:p%40ss%20word%2F1@h/db and p@ss word/1')).toBe(
      'url postgres://u:***@h/db and ***'
    )
  })
})

describe('health rules', () => {
  it('parses status sets', () => {
    expect(parseStatusSet('200')).toEqual([[200, 200]])
    expect(parseStatusSet('200,204,301-302')).toEqual([
      [200, 200],
      [204, 204],
      [301, 302]
    ])
    expect(parseStatusSet('2xx')).toEqual([[200, 299]])
    for (const bad of ['', '20', '299-200', 'ok', '200,'])
      expect(parseStatusSet(bad)).toBeUndefined()
  })

  it('evaluates JSON assertions by dotted path', () => {
    const body = {
      status: 'ok',
      memory: { heapUsedPercent: 95 },
      checks: [{ name: 'db', up: true }]
    }
    expect(checkAssertion(body, { path: 'status', op: 'eq', value: 'ok' })).toBeUndefined()
    expect(checkAssertion(body, { path: 'memory.heapUsedPercent', op: 'lt', value: 90 })).toBe(
      'memory.heapUsedPercent is 95 (expected lt 90)'
    )
    expect(
      checkAssertion(body, { path: 'memory.heapUsedPercent', op: 'gte', value: 95 })
    ).toBeUndefined()
    expect(checkAssertion(body, { path: 'checks.0.up', op: 'eq', value: true })).toBeUndefined()
    expect(checkAssertion(body, { path: 'status', op: 'match', value: '^o' })).toBeUndefined()
    expect(checkAssertion(body, { path: 'status', op: 'ne', value: 'ok' })).toBe(
      'status is "ok" (expected ne "ok")'
    )
    expect(checkAssertion(body, { path: 'missing', op: 'exists', value: true })).toBe(
      'missing is missing'
    )
    expect(checkAssertion(body, { path: 'missing.deep', op: 'eq', value: 1 })).toMatch(/is missing/)
  })

  it('orders severities and lowers them outside production', () => {
    expect(worst(['sev3', 'sev1', undefined, 'sev2'])).toBe('sev1')
    expect(worst([])).toBeUndefined()
    expect(forEnvironment('sev1', 'production')).toBe('sev1')
    expect(forEnvironment('sev1', 'staging')).toBe('sev2')
    expect(forEnvironment('sev4', 'staging')).toBe('sev4')
  })
})
