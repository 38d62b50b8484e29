// The action names, read from src/actions/registry.ts (the one list) for the scripts.
import { readFileSync } from 'node:fs'

export async function actionNames() {
  const source = readFileSync(new URL('../src/actions/registry.ts', import.meta.url), 'utf8')
  const block = source.slice(source.indexOf('export const ACTIONS = {'))
  const body = block.slice(0, block.indexOf('} satisfies'))
  const names = [...body.matchAll(/^\s+'?([a-z][a-z-]*)'?:\s*\(\)\s*=>/gm)].map(m => m[1])
  if (names.length === 0) throw new Error('no actions found in src/actions/registry.ts')
  return names
}
