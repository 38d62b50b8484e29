import { afterAll, describe, expect, it } from '@jest/globals'
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { getInputs } from '../../src/actions/db-migrate/inputs.js'
import {
  DEFAULT_SEED_CONFIG,
  findSeedFiles,
  parseSeedConfig,
  segmentPattern
} from '../../src/actions/db-migrate/engine/seeds.js'
import { removeDir } from './helpers.js'

const dirs: string[] = []
afterAll(async () => {
  await Promise.all(dirs.map(removeDir))
})

/** A temp dir with the given files (relative paths), returned as its absolute path. */
async function tree(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'shipgate-seed-'))
  dirs.push(root)
  for (const [file, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true })
    await writeFile(path.join(root, file), content)
  }
  return root
}

describe('parseSeedConfig ([db.seed] of config.toml)', () => {
  it('keeps the CLI defaults without a [db.seed] section', () => {
    expect(parseSeedConfig('project_id = "x"\n[db]\nport = 54322\n')).toEqual(DEFAULT_SEED_CONFIG)
    expect(DEFAULT_SEED_CONFIG).toEqual({ enabled: true, sqlPaths: ['./seed.sql'] })
  })

  it('reads enabled and a multi-line sql_paths with comments, literal strings and a trailing comma', () => {
    const toml = [
      'project_id = "x" # id',
      '[db.seed]',
      '# seeds',
      'enabled = true',
      'sql_paths = [',
      "  './seeds/*.sql',  # glob, ] and , in a comment",
      '  "./seed.sql",',
      '  "./odd \\"name\\".sql",',
      ']',
      '[db.migrations]',
      'enabled = false'
    ].join('\n')
    expect(parseSeedConfig(toml)).toEqual({
      enabled: true,
      sqlPaths: ['./seeds/*.sql', './seed.sql', './odd "name".sql']
    })
  })

  it('reads enabled = false, dotted keys and inline tables', () => {
    expect(parseSeedConfig('[db.seed]\nenabled = false\n').enabled).toBe(false)
    expect(parseSeedConfig('[db]\nseed.enabled = false\n').enabled).toBe(false)
    expect(parseSeedConfig('db.seed.sql_paths = ["a.sql"]\n').sqlPaths).toEqual(['a.sql'])
    expect(
      parseSeedConfig('[db]\nseed = { enabled = true, sql_paths = ["x.sql", "y/*.sql"] }\n')
    ).toEqual({ enabled: true, sqlPaths: ['x.sql', 'y/*.sql'] })
    expect(parseSeedConfig('[ "db" . seed ]\nsql_paths = []\n').sqlPaths).toEqual([])
  })

  it('is not fooled by look-alikes in strings, other tables and arrays of tables', () => {
    const toml = [
      '[auth]',
      'note = """',
      '[db.seed]',
      'enabled = false',
      '"""',
      "literal = '''x [db.seed] y'''",
      'when = 1979-05-27 07:32:00Z',
      'nums = [1, 2.5, -3]',
      '[[auth.hooks]]',
      'sql_paths = ["nope.sql"]',
      '[db.seed.extra]',
      'sql_paths = ["nope.sql"]'
    ].join('\n')
    expect(parseSeedConfig(toml)).toEqual(DEFAULT_SEED_CONFIG)
  })

  it('rejects wrong types and broken syntax with the line', () => {
    expect(() => parseSeedConfig('[db.seed]\nenabled = "yes"\n')).toThrow(
      '[db.seed] enabled must be true or false'
    )
    expect(() => parseSeedConfig('[db.seed]\nsql_paths = "seed.sql"\n')).toThrow(
      '[db.seed] sql_paths must be an array of strings'
    )
    expect(() => parseSeedConfig('[db.seed]\nsql_paths = [1]\n')).toThrow('array of strings')
    expect(() => parseSeedConfig('[db.seed]\nsql_paths = ["a.sql"\nenabled = true\n')).toThrow(
      /on line 3/u
    )
    expect(() => parseSeedConfig('[db.seed]\nsql_paths = ["a.sql\n')).toThrow(/line 2/u)
  })
})

describe('segmentPattern (Go path.Match)', () => {
  it.each([
    ['*.sql', 'a.sql', true],
    ['*.sql', '.hidden.sql', true],
    ['*.sql', 'a.sql.bak', false],
    ['?.sql', 'ab.sql', false],
    ['[ab].sql', 'b.sql', true],
    ['[^ab].sql', 'b.sql', false],
    ['[a-c]*.sql', 'c1.sql', true],
    ['\\*.sql', '*.sql', true],
    ['\\*.sql', 'a.sql', false],
    ['a+b(1).sql', 'a+b(1).sql', true]
  ])('%s matches %s: %s', (pattern, name, expected) => {
    expect(segmentPattern(pattern)?.test(name)).toBe(expected)
  })

  it('refuses bad patterns', () => {
    expect(segmentPattern('[a')).toBeUndefined()
    expect(segmentPattern('a\\')).toBeUndefined()
  })
})

describe('findSeedFiles', () => {
  it('uses supabase/seed.sql by default, recorded relative to the project root', async () => {
    const root = await tree({ 'supabase/seed.sql': 'select 1;' })
    expect(findSeedFiles(root, path.join(root, 'supabase'))).toEqual({
      seeds: [{ path: 'supabase/seed.sql', file: path.join(root, 'supabase', 'seed.sql') }],
      warnings: [],
      enabled: true
    })
  })

  it('globs each pattern in order, sorts its matches, drops duplicates and warns on no match', async () => {
    const root = await tree({
      'supabase/config.toml':
        '[db.seed]\nsql_paths = [\n  "./seeds/*.sql",\n  "./seed.sql",\n  "seeds/a.sql",\n  "./missing/*.sql",\n  "./s?eds/[c]*.sql"\n]\n',
      'supabase/seed.sql': '',
      'supabase/seeds/b.sql': '',
      'supabase/seeds/a.sql': '',
      'supabase/seeds/c.sql': '',
      'supabase/seeds/notes.txt': '',
      'supabase/seeds/sub/d.sql': ''
    })
    const found = findSeedFiles(root, path.join(root, 'supabase'))
    expect(found.seeds.map(s => s.path)).toEqual([
      'supabase/seeds/a.sql',
      'supabase/seeds/b.sql',
      'supabase/seeds/c.sql',
      'supabase/seed.sql'
    ])
    expect(found.warnings).toEqual(['no files matched pattern: supabase/missing/*.sql'])
  })

  it('returns nothing when [db.seed] is disabled', async () => {
    const root = await tree({
      'supabase/config.toml': '[db.seed]\nenabled = false\n',
      'supabase/seed.sql': ''
    })
    expect(findSeedFiles(root, path.join(root, 'supabase'))).toMatchObject({
      seeds: [],
      enabled: false
    })
  })

  it('names config.toml when it cannot be read', async () => {
    const root = await tree({ 'supabase/config.toml': '[db.seed]\nsql_paths = 3\n' })
    expect(() => findSeedFiles(root, path.join(root, 'supabase'))).toThrow(
      'Could not read supabase/config.toml: [db.seed] sql_paths must be an array of strings'
    )
  })
})

describe('getInputs include-seed', () => {
  const read =
    (inputs: Record<string, string>) =>
    (name: string): string =>
      ({ 'database-url': 'postgres://postgres@127.0.0.1:5432/postgres', ...inputs })[name] ?? ''

  it('records seeds relative to the project root, not the workspace', async () => {
    const workspace = await tree({
      'apps/api/supabase/migrations/20240101000000_a.sql': 'select 1;',
      'apps/api/supabase/config.toml': '[db.seed]\nsql_paths = ["./seed.sql", "./more/*.sql"]\n',
      'apps/api/supabase/seed.sql': '',
      'apps/api/supabase/more/x.sql': ''
    })
    const inputs = getInputs(
      workspace,
      read({ 'migrations-dir': 'apps/api/supabase/migrations', 'include-seed': 'true' })
    )
    expect(inputs.seeds).toEqual([
      { path: 'supabase/seed.sql', file: path.join(workspace, 'apps/api/supabase/seed.sql') },
      { path: 'supabase/more/x.sql', file: path.join(workspace, 'apps/api/supabase/more/x.sql') }
    ])
    const off = getInputs(workspace, read({ 'migrations-dir': 'apps/api/supabase/migrations' }))
    expect(off.seeds).toEqual([])
  })

  it('reports a broken config.toml as an input error', async () => {
    const workspace = await tree({
      'supabase/migrations/20240101000000_a.sql': 'select 1;',
      'supabase/config.toml': '[db.seed\n'
    })
    expect(() => getInputs(workspace, read({ 'include-seed': 'true' }))).toThrow(
      /^Input 'include-seed': Could not read supabase\/config\.toml: Expected '\]' on line 1/u
    )
  })
})
