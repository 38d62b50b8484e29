import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

/** One input as action.yml declares it. */
export interface InputSpec {
  description: string
  required: boolean
  default?: string
}

export interface ActionYaml {
  name: string
  description: string
  inputs: Record<string, InputSpec>
  outputs: Record<string, { description: string }>
}

/**
 * The package root: the nearest folder above this module holding actions/ and
 * package.json (a checkout, or the installed tarball; bundled code may sit in dist/chunks/).
 */
export function packageRoot(from = fileURLToPath(import.meta.url)): string {
  let dir = path.dirname(from)
  for (;;) {
    if (existsSync(path.join(dir, 'actions')) && existsSync(path.join(dir, 'package.json')))
      return dir
    const up = path.dirname(dir)
    if (up === dir) throw new Error(`Shipgate's actions/ folder was not found above ${from}`)
    dir = up
  }
}

const loaded = new Map<string, ActionYaml>()

/** Reads actions/<name>/action.yml: the one source of inputs, defaults and help. */
export function actionYaml(name: string, root = packageRoot()): ActionYaml {
  const key = `${root}\n${name}`
  const hit = loaded.get(key)
  if (hit) return hit
  const raw = parse(readFileSync(path.join(root, 'actions', name, 'action.yml'), 'utf8')) as {
    name?: string
    description?: string
    inputs?: Record<string, { description?: string; required?: boolean; default?: unknown }>
    outputs?: Record<string, { description?: string }>
  }
  const inputs: Record<string, InputSpec> = {}
  for (const [k, v] of Object.entries(raw.inputs ?? {}))
    inputs[k] = {
      description: String(v.description ?? '').trim(),
      required: v.required === true,
      default: v.default === undefined ? undefined : String(v.default)
    }
  const outputs: Record<string, { description: string }> = {}
  for (const [k, v] of Object.entries(raw.outputs ?? {}))
    outputs[k] = { description: String(v.description ?? '').trim() }
  const spec: ActionYaml = {
    name: raw.name ?? name,
    description: String(raw.description ?? '').trim(),
    inputs,
    outputs
  }
  loaded.set(key, spec)
  return spec
}

/** A boolean input: its default is true or false. */
export function isBooleanInput(spec: InputSpec): boolean {
  return spec.default === 'true' || spec.default === 'false'
}
