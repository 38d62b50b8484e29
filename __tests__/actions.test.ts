import { describe, expect, it } from '@jest/globals'
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { readInputs, type Field } from '../src/runtime/inputs.js'
import { VERSION } from '../src/runtime/version.js'
import { ACTION_NAMES as COMMANDS } from '../src/actions/registry.js'
import { FakeHealth } from '../src/fakes/health.js'
import { readActionYaml, ROOT, runAction } from './support/harness.js'

const names = readdirSync(path.join(ROOT, 'actions')).sort()

interface Yaml {
  name: string
  description: string
  branding?: { icon: string; color: string }
  inputs: Record<string, { description: string; default?: string; required?: boolean }>
  outputs: Record<string, { description: string }>
  runs: { using: string; main: string }
}
const yamlOf = (name: string): Yaml =>
  readActionYaml(path.join(ROOT, 'actions', name, 'action.yml')) as unknown as Yaml

describe('action.yml files', () => {
  it('declare exactly the six actions the root command accepts', () => {
    expect(names).toEqual([...COMMANDS].sort())
  })

  it.each(names)(
    '%s runs on node24 from its dist bundle, with every input and output described',
    name => {
      const y = yamlOf(name)
      expect(y.runs.using).toBe('node24')
      expect(y.runs.main).toBe(`../../dist/${name}/index.js`)
      expect(existsSync(path.join(ROOT, 'dist', name, 'index.js'))).toBe(true)
      expect(y.branding?.icon).toBeTruthy()
      for (const v of [...Object.values(y.inputs), ...Object.values(y.outputs)])
        expect(v.description.length).toBeGreaterThan(10)
    }
  )

  it.each(names)(
    '%s: the code reads the same inputs with the same defaults as action.yml',
    async name => {
      const mod = (await import(`../src/actions/${name}/inputs.js`)) as {
        spec: Record<string, Field<unknown>>
      }
      const y = yamlOf(name)
      expect(Object.keys(mod.spec).sort()).toEqual(Object.keys(y.inputs).sort())
      const required = Object.entries(y.inputs)
        .filter(([, v]) => v.required)
        .map(([k]) => k)
      // A plausible value for each required input, so the rest can be compared.
      const known: Record<string, string> = {
        'database-url': 'postgres://u@127.0.0.1:5432/db',
        'service-id': 'srv-abc123',
        platform: 'render'
      }
      const filler = (k: string): string => known[k] ?? 'value-123'
      const base = (k: string): string => (required.includes(k) ? filler(k) : '')
      const fromCode = readInputs(mod.spec, base)
      const fromYaml = readInputs(mod.spec, k => {
        const d = y.inputs[k]?.default
        return d === undefined || String(d).includes('${{') ? base(k) : String(d)
      })
      expect(fromCode).toEqual(fromYaml)
    }
  )

  it('the package version is the one sent in user agents', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      version: string
    }
    expect(VERSION).toBe(pkg.version)
  })
})

describe('bundles', () => {
  it.each(names)(
    '%s runs from a copy of dist/ alone and fails cleanly on bad input',
    async name => {
      const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-dist-'))
      cpSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true })
      cpSync(path.join(ROOT, 'actions', name), path.join(dir, 'actions', name), { recursive: true })
      try {
        const run = await runAction(
          name,
          {},
          { actionFile: path.join(dir, 'actions', name, 'action.yml') }
        )
        expect(run.code).toBe(1)
        expect(run.stderr).toBe('')
        expect(run.errors).toHaveLength(1)
        expect(run.errors[0]).toMatch(new RegExp(`^${name}: `))
        expect(run.summary).toContain(`Shipgate ${name}`)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }
  )

  it('the root action runs a command with the inputs passed through', async () => {
    const health = await new FakeHealth().start()
    try {
      const run = await runAction(
        'root',
        { command: 'smoke-health', url: `${health.url}/health`, 'open-issue': 'false' },
        { actionFile: path.join(ROOT, 'action.yml') }
      )
      expect(run.code).toBe(0)
      expect(run.outputs.healthy).toBe('true')
    } finally {
      await health.stop()
    }
  })

  it('the root action names the valid commands for an unknown one', async () => {
    const run = await runAction(
      'root',
      { command: 'deploy-everything' },
      { actionFile: path.join(ROOT, 'action.yml') }
    )
    expect(run.code).toBe(1)
    expect(run.errors[0]).toContain(`expected one of ${COMMANDS.join(', ')}`)
  })

  const node24 = process.env.SHIPGATE_NODE24
  ;(node24 ? it.each(names) : it.skip.each(names))(
    '%s starts and validates on Node 24, the declared runtime',
    async name => {
      const run = await runAction(name, {}, { node: node24 })
      expect(run.stderr).toBe('')
      expect(run.code).toBe(1)
      expect(run.errors).toHaveLength(1)
      expect(run.errors[0]).toMatch(new RegExp(`^${name}: `))
    }
  )
  ;(node24 ? it : it.skip)('smoke-health runs on Node 24, the declared runtime', async () => {
    const health = await new FakeHealth().start()
    try {
      const run = await runAction(
        'smoke-health',
        { url: `${health.url}/health`, 'open-issue': 'false' },
        { node: node24 }
      )
      expect(run.stderr).toBe('')
      expect(run.code).toBe(0)
      expect(run.outputs.healthy).toBe('true')
    } finally {
      await health.stop()
    }
  })
})
