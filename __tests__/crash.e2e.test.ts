// What a run prints when something other than the user's input goes wrong.
import { describe, expect, it } from '@jest/globals'
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { FakeHealth } from '../src/fakes/health.js'
import { ROOT, runAction } from './support/harness.js'

const longest = (text: string): number => Math.max(0, ...text.split('\n').map(l => l.length))

describe('unexpected failures (dist bundle through the runner harness)', () => {
  it('an output file that cannot be written is a warning; the summary and verdict still come', async () => {
    const health = await new FakeHealth().start()
    const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-crash-'))
    mkdirSync(path.join(dir, 'out-is-a-dir'))
    try {
      const run = await runAction(
        'smoke-health',
        { url: `${health.url}/health`, 'open-issue': 'false' },
        { env: { GITHUB_OUTPUT: path.join(dir, 'out-is-a-dir') } }
      )
      expect(run.stdout).toMatch(/::warning::Could not set the step's outputs: EISDIR/)
      expect(run.summary.trim().split('\n').at(-1)).toMatch(/^✅ healthy/)
      expect(run.stdout.trim().split('\n').at(-1)).toMatch(/^✅ healthy/)
    } finally {
      await health.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a broken bundle fails with one short error line, and the stack only at debug level', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-broken-'))
    try {
      cpSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true })
      cpSync(
        path.join(ROOT, 'actions', 'smoke-health'),
        path.join(dir, 'actions', 'smoke-health'),
        {
          recursive: true
        }
      )
      rmSync(path.join(dir, 'dist', 'lib', 'smoke-health.js'))
      const actionFile = path.join(dir, 'actions', 'smoke-health', 'action.yml')
      const quiet = await runAction(
        'smoke-health',
        { url: 'http://127.0.0.1:9/health' },
        { actionFile }
      )
      expect(quiet.code).toBe(1)
      expect(quiet.errors).toHaveLength(1)
      expect(quiet.errors[0]).toMatch(/^smoke-health: unexpected error: Cannot find module/)
      // The runner shows ::debug:: lines only with step debug logging on.
      const shown = (quiet.stdout + quiet.stderr)
        .split('\n')
        .filter(l => !l.startsWith('::debug::'))
        .join('\n')
      expect(quiet.stderr).toBe('')
      expect(shown).not.toMatch(/\n\s+at /)
      expect(longest(shown)).toBeLessThan(1000)
      expect(quiet.stdout).toMatch(/::debug::Error\b.*Cannot find module/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
