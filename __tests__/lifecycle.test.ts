// The run lifecycle, the summary and the incident lifecycle, through the recording host.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { FakeGitHub } from '../src/fakes/github.js'
import { recordingHost, VirtualClock } from '../src/fakes/host.js'
import { incidents } from '../src/engines/incident/lifecycle.js'
import { ConfigurationError } from '../src/runtime/errors.js'
import { addSecret, clearSecrets } from '../src/runtime/redact.js'
import { runAction, type RunState } from '../src/runtime/run-action.js'
import { Summary } from '../src/runtime/summary.js'
import type { Clients } from '../src/providers/clients.js'

const OUTPUTS = { result: 'none', 'issue-number': '', 'issue-url': '' }

beforeEach(() => clearSecrets())

describe('runAction', () => {
  it('sets outputs and writes the summary on success, verdict as the last line', async () => {
    const h = recordingHost()
    const outcome = await runAction(h, 'demo', OUTPUTS, async state => {
      state.outputs.set('result', 42)
      state.summary.section('Work', 'did it')
      return { ok: true, verdict: '✅ done' }
    })
    expect(outcome).toMatchObject({ status: 'ok', verdict: '✅ done' })
    expect(h.record.outputs).toEqual({ result: '42', 'issue-number': '', 'issue-url': '' })
    expect(h.record.summary).toMatch(
      /^## Shipgate demo\n\n✅ done\n\n### Work\n\ndid it\n\n✅ done\n$/
    )
    expect(h.record.failed).toBeUndefined()
    expect(h.record.log.at(-1)).toEqual({ level: 'info', message: '✅ done' })
  })

  it('a failed verdict fails the step once, with the action name and without the mark', async () => {
    const h = recordingHost()
    const outcome = await runAction(h, 'demo', OUTPUTS, async () => ({
      ok: false,
      verdict: '❌ it broke'
    }))
    expect(outcome.status).toBe('failed')
    expect(h.record.failed).toBe('demo: it broke')
    expect(h.record.log.filter(l => l.level === 'error')).toHaveLength(1)
  })

  it('a configuration error keeps its message, no stack; an unexpected one logs its stack at debug', async () => {
    const config = recordingHost()
    const c = await runAction(config, 'demo', OUTPUTS, async () => {
      throw new ConfigurationError("Input 'x' is wrong")
    })
    expect(c.status).toBe('configuration')
    expect(c.verdict).toBe("❌ configuration error: Input 'x' is wrong")
    expect(config.text('debug')).toBe('')
    const bug = recordingHost()
    const b = await runAction(bug, 'demo', OUTPUTS, async () => {
      throw new TypeError('boom')
    })
    expect(b.status).toBe('failed')
    expect(bug.text('debug')).toMatch(/TypeError: boom\n\s+at /)
    expect(bug.record.outputs.result).toBe('none')
  })

  it('never lets a registered secret out through outputs, summary, verdict or failure', async () => {
    const h = recordingHost()
    addSecret('s3cr3t-value-xyz')
    await runAction(h, 'demo', OUTPUTS, async state => {
      state.outputs.set('result', 'token s3cr3t-value-xyz')
      state.summary.add('the value s3cr3t-value-xyz')
      return { ok: false, verdict: '❌ failed with s3cr3t-value-xyz' }
    })
    const everything = JSON.stringify({ ...h.record, masks: [] })
    expect(everything).not.toContain('s3cr3t-value-xyz')
    expect(h.record.masks).toContain('s3cr3t-value-xyz')
  })

  it('a cancelled run returns after the cancel hooks, with the outputs they set', async () => {
    const h = recordingHost()
    let hooked = false
    const running = runAction(h, 'demo', OUTPUTS, async state => {
      h.cancellation.onCancel(async () => {
        hooked = true
        state.outputs.set('result', 'undone')
      })
      await new Promise(() => {}) // work that never ends
      return { ok: true, verdict: 'unreachable' }
    })
    await new Promise(r => setTimeout(r, 10))
    await h.cancel('SIGTERM')
    const outcome = await running
    expect(hooked).toBe(true)
    expect(outcome.status).toBe('cancelled')
    expect(outcome.verdict).toMatch(/^⏹️ cancelled \(SIGTERM\)/)
    expect(h.record.outputs.result).toBe('undone')
    expect(h.record.failed).toMatch(/^demo: ⏹️ cancelled/)
    expect(h.record.summary).toContain('cancelled (SIGTERM)')
  })
})

describe('Summary', () => {
  it('keeps the verdict as the last line when the body is truncated at 1 MiB', () => {
    const s = new Summary('Shipgate demo')
    s.add('x'.repeat(2 * 1024 * 1024))
    const md = s.render('✅ fine')
    expect(md.length).toBeLessThan(1024 * 1024)
    expect(md).toContain('_Summary truncated at the 1 MiB limit._')
    expect(md.trim().split('\n').at(-1)).toBe('✅ fine')
  })
})

describe('incident lifecycle', () => {
  let github: FakeGitHub
  beforeEach(async () => {
    github = await new FakeGitHub().start()
  })
  afterEach(async () => {
    await github.stop()
  })

  const setup = (clock = new VirtualClock(), token = github.token) => {
    const host = recordingHost({
      clock,
      context: { apiUrl: github.url, owner: github.owner, repo: github.repo }
    })
    const state: RunState<'issue-number' | 'issue-url', Clients> = {
      host,
      outputs: new (class {
        values: Record<string, string> = {}
        set(k: string, v: unknown) {
          this.values[k] = String(v)
        }
        get(k: string) {
          return this.values[k]
        }
        all() {
          return this.values
        }
      })() as never,
      summary: new Summary('t'),
      notes: []
    }
    const lifecycle = incidents(state, token, {
      action: 'smoke-health',
      environment: 'production',
      target: 'api',
      labels: ['incident'],
      assignees: [],
      open: true,
      close: true
    })
    return { host, state, lifecycle }
  }
  const report = (severity: 'sev1' | 'sev2') => ({
    severity,
    cause: 'api returned 503',
    details: 'down',
    evidence: '| a |',
    actions: ['probed'],
    runbook: []
  })

  it('opens once, comments and raises on repeats, closes with the duration on recovery', async () => {
    const clock = new VirtualClock(Date.now())
    const first = setup(clock)
    await first.lifecycle.fail(report('sev2'))
    expect(github.openIssues()).toHaveLength(1)
    const issue = github.openIssues()[0]
    expect(issue.title).toMatch(/^\[SEV2\] production: smoke-health failed for api/)
    expect(first.host.record).toBeDefined()

    const again = setup(clock)
    await again.lifecycle.fail(report('sev1'))
    expect(github.issues).toHaveLength(1)
    expect(issue.comments).toHaveLength(1)
    expect(issue.title).toMatch(/^\[SEV1\]/)

    // The fake stamps created_at on the real clock: move 90 virtual minutes past it.
    await clock.sleep(90 * 60_000 + 20_000)
    await new Promise(r => setImmediate(r))
    const recovered = setup(clock)
    await recovered.lifecycle.resolve()
    expect(issue.state).toBe('closed')
    expect(issue.comments.at(-1)?.body).toMatch(/^Resolved: healthy again after 1h30m/)
  })

  it('a cancelled run neither opens nor closes', async () => {
    const { host, lifecycle } = setup()
    void host.cancel('SIGINT')
    await new Promise(r => setTimeout(r, 5))
    await lifecycle.fail(report('sev1'))
    expect(github.issues).toHaveLength(0)
  })

  it('no token is a warning and a note, never an error line', async () => {
    const { host, state, lifecycle } = setup(new VirtualClock(), '')
    await lifecycle.fail(report('sev1'))
    expect(host.text('error')).toBe('')
    expect(host.text('warning')).toContain('no github-token')
    expect(state.notes.join()).toContain('no github-token')
  })
})

describe('rollBackAndGate', () => {
  it('starts nothing once the run is cancelled (the body runs on during the grace period)', async () => {
    const { rollBackAndGate } = await import('../src/engines/rollback.js')
    const host = recordingHost()
    void host.cancel('SIGINT')
    await new Promise(r => setTimeout(r, 5))
    const started: string[] = []
    const result = await rollBackAndGate({
      host,
      summary: new Summary('t'),
      targetId: 'dep-good',
      platform: {
        noun: 'Render deploy',
        start: async id => {
          started.push(id)
          return 'dep-rb'
        },
        wait: async () => ({})
      }
    })
    expect(started).toEqual([])
    expect(result.live).toBe(false)
    expect(result.rollbackId).toBeUndefined()
    expect(result.problem).toMatch(/cancelled before the rollback started/)
  })
})
