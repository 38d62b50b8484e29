import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync, spawn } from 'node:child_process'
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { actionYaml } from '../src/cli/actions.js'
import { envName, parseFlags, resolveInputs, UsageError } from '../src/cli/args.js'
import { FakeHealth } from '../src/fakes/health.js'
import { World, API_SERVICE } from '../src/sandbox/world.js'
import { createTerminalHost } from '../src/runtime/terminal-host.js'
import { addSecret, clearSecrets } from '../src/runtime/redact.js'
import { renderMarkdown } from '../src/cli/render.js'

const ROOT = process.cwd()
const BIN = path.join(ROOT, 'bin', 'shipgate.js')

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs the shipgate binary with a clean environment (no token, no gh, no repository). */
function shipgate(
  args: string[],
  env: Record<string, string> = {},
  o: { bin?: string; cwd?: string; sigintWhen?: () => boolean } = {}
): Promise<Run> {
  const child = spawn(process.execPath, [o.bin ?? BIN, ...args], {
    cwd: o.cwd ?? tmpdir(),
    env: { PATH: '/usr/bin:/bin', HOME: tmpdir(), ...env }
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', d => (stdout += d))
  child.stderr.on('data', d => (stderr += d))
  // One Ctrl-C (a second one would exit at once), as soon as the condition holds.
  const poll =
    o.sigintWhen &&
    setInterval(() => {
      if (!o.sigintWhen!()) return
      child.kill('SIGINT')
      clearInterval(poll)
    }, 50)
  return new Promise(resolve =>
    child.on('close', code => {
      if (poll) clearInterval(poll)
      resolve({ code, stdout, stderr })
    })
  )
}

describe('flags to inputs', () => {
  const deploy = actionYaml('deploy-api')

  it('reads --name value, --name=value, repeats, boolean flags and --no-flag', () => {
    const p = parseFlags(
      'deploy-api',
      [
        '--service-id',
        'srv-abc',
        '--health-url=http://a/health',
        '--health-url',
        'http://b/health',
        '--clear-cache',
        '--no-rollback-on-failure',
        '--json'
      ],
      deploy
    )
    expect(p.flags).toEqual({
      'service-id': 'srv-abc',
      'health-url': 'http://a/health\nhttp://b/health',
      'clear-cache': 'true',
      'rollback-on-failure': 'false'
    })
    expect(p.json).toBe(true)
  })

  it('resolves flag, then SHIPGATE_<NAME>, then the action.yml default; the token default asks for it', () => {
    let asked = 0
    const inputs = resolveInputs(
      deploy,
      { 'service-id': 'srv-flag' },
      { SHIPGATE_SERVICE_ID: 'srv-env', SHIPGATE_RENDER_API_KEY: 'rnd_env' },
      () => (asked++, 'ghs_from_gh')
    )
    expect(inputs['service-id']).toBe('srv-flag')
    expect(inputs['render-api-key']).toBe('rnd_env')
    expect(inputs['deploy-timeout']).toBe('30m')
    expect(inputs['github-token']).toBe('ghs_from_gh')
    expect(asked).toBe(1)
    expect(Object.keys(inputs).sort()).toEqual(Object.keys(deploy.inputs).sort())
    expect(envName('render-api-key')).toBe('SHIPGATE_RENDER_API_KEY')
  })

  it('an unknown flag names itself and the likely one', () => {
    const bad = (args: string[]): string => {
      try {
        parseFlags('deploy-api', args, deploy)
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError)
        return (e as Error).message
      }
      throw new Error('no error')
    }
    expect(bad(['--servce-id', 'x'])).toMatch(
      /^Unknown flag --servce-id for deploy-api\. Did you mean --service-id\?/
    )
    expect(bad(['--health_url', 'x'])).toContain('Did you mean --health-url?')
    expect(bad(['--service-id'])).toBe(
      'Flag --service-id needs a value: --service-id <value> or --service-id=<value>'
    )
    expect(bad(['srv-abc'])).toMatch(/^Unexpected argument "srv-abc"/)
    expect(bad(['--zzzzzz', '1'])).toBe(
      'Unknown flag --zzzzzz for deploy-api. (see shipgate deploy-api --help)'
    )
  })
})

describe('terminal host', () => {
  it('masks registered secrets and redraws one progress line on a terminal', async () => {
    clearSecrets()
    let text = ''
    const stream = { isTTY: true, columns: 100, write: (s: string) => (text += s) }
    const host = createTerminalHost(() => ({}), { inputs: { a: ' x ' }, stream, env: {} })
    addSecret('hunter2-secret')
    expect(host.input('a')).toBe('x')
    expect(host.input('missing')).toBe('')
    host.log.info('deploy dep-1: build_in_progress, token hunter2-secret')
    host.log.info('deploy dep-1: live')
    host.log.warning('careful with hunter2-secret')
    host.setOutput('o', 'v hunter2-secret')
    await host.writeSummary('## S\n\nhunter2-secret')
    host.finish()
    expect(text).not.toContain('hunter2-secret')
    expect(text).toContain('\r\x1b[K… deploy dep-1: live (0s)')
    expect(text).toContain('warning: careful with ***\n')
    // Info lines replace one another instead of scrolling.
    expect(text.split('\n').filter(Boolean)).toHaveLength(2)
    expect(host.outputs).toEqual({ o: 'v ***' })
    expect(host.summary).toBe('## S\n\n***')
    clearSecrets()
  })

  it('leaves the last progress line (the verdict) printed when the run is over', () => {
    let text = ''
    const stream = { isTTY: true, columns: 100, write: (s: string) => (text += s) }
    const host = createTerminalHost(() => ({}), { inputs: {}, stream, env: {} })
    host.log.info('round 1: fail')
    host.log.info('❌ configuration error: Input x is bad')
    host.finish()
    host.dispose()
    expect(text.endsWith('\r\x1b[K❌ configuration error: Input x is bad\n')).toBe(true)
  })

  it('renders a code block indented, without the backticks of inline code', () => {
    expect(renderMarkdown('**/health** answered:\n\n```\n{"status":"error"}\n```')).toBe(
      '/health answered:\n\n    {"status":"error"}\n'
    )
  })

  it('renders a job summary readably: tables aligned, markers dropped, links kept', () => {
    const md = [
      '## Shipgate smoke-health',
      '✅ healthy',
      '| Check | Status |\n|---|---|\n| api | 200 |\n| web-long-name | 503 |',
      '<!-- shipgate:incident x -->',
      '> [!WARNING]\n> Incident not recorded',
      'Incident [#3](https://github.com/a/b/issues/3): opened.'
    ].join('\n\n')
    expect(renderMarkdown(md)).toBe(
      [
        'Shipgate smoke-health',
        '═════════════════════',
        '',
        '✅ healthy',
        '',
        'Check          Status',
        '─────────────  ──────',
        'api            200',
        'web-long-name  503',
        '',
        '│ ⚠️  Incident not recorded',
        '',
        'Incident #3 <https://github.com/a/b/issues/3>: opened.',
        ''
      ].join('\n')
    )
  })
})

describe('the shipgate binary', () => {
  let health: FakeHealth
  beforeAll(async () => {
    health = await new FakeHealth().start()
    health.set('/down', { kind: 'status', status: 503 })
  })
  afterAll(() => health.stop())

  it('--help lists every command; <command> --help lists every input of its action.yml', async () => {
    const main = await shipgate(['--help'])
    expect(main.code).toBe(0)
    for (const n of [
      'deploy-api',
      'deploy-web',
      'rollback',
      'db-migrate',
      'db-backup',
      'smoke-health'
    ])
      expect(main.stdout).toContain(`  ${n}`)
    const help = await shipgate(['deploy-api', '--help'])
    expect(help.code).toBe(0)
    for (const input of Object.keys(actionYaml('deploy-api').inputs))
      expect(help.stdout).toContain(`--${input}`)
    expect(help.stdout).toContain('env: SHIPGATE_RENDER_API_KEY')
    expect(help.stdout).toContain('default: 30m')
    expect((await shipgate([])).code).toBe(2)
  })

  it('smoke-health replaces curl | jq: summary and name=value outputs, exit 0; no token said in one line', async () => {
    const r = await shipgate(['smoke-health', '--url', `${health.url}/health`])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('✅ healthy: 1 check(s) passed')
    expect(r.stdout).toMatch(/^healthy=true$/m)
    expect(r.stdout).toMatch(/^report=\[\{"name":/m)
    expect(r.stderr.match(/Incident issues are off: no GitHub token/g)).toHaveLength(1)
    expect(r.stderr).not.toContain('no github-token was given')
  })

  it('--json prints one object; an unhealthy run exits 1', async () => {
    const r = await shipgate([
      'smoke-health',
      '--url',
      `${health.url}/down`,
      '--timeout=1s',
      '--interval=100ms',
      '--json'
    ])
    expect(r.code).toBe(1)
    const out = JSON.parse(r.stdout) as Record<string, unknown>
    expect(Object.keys(out).sort()).toEqual(
      ['command', 'exitCode', 'message', 'outputs', 'status', 'summary', 'verdict'].sort()
    )
    expect(out).toMatchObject({
      command: 'smoke-health',
      status: 'failed',
      exitCode: 1,
      outputs: { healthy: 'false', severity: 'sev1' }
    })
    expect(out.verdict).toMatch(/^❌ unhealthy \(SEV1\): .*returned 503/)
    expect(out.summary).toMatch(/^## Shipgate smoke-health\n/)
  })

  it('bad input and bad flags exit 2 with the clear error', async () => {
    const bad = await shipgate(['smoke-health', '--url', 'ftp://x', '--json'])
    expect(bad.code).toBe(2)
    expect(JSON.parse(bad.stdout)).toMatchObject({ status: 'configuration', exitCode: 2 })
    expect(JSON.parse(bad.stdout).message).toMatch(/^Input 'url' has an invalid value "ftp:\/\/x"/)
    // Without --json: the error once, no summary repeating it, no empty outputs.
    const human = await shipgate(['smoke-health', '--url', 'ftp://x'])
    expect(human.code).toBe(2)
    expect(human.stdout).toBe('')
    expect(human.stderr.match(/Input 'url' has an invalid value "ftp:\/\/x"/g)).toHaveLength(1)
    const flag = await shipgate(['smoke-health', '--ulr', 'http://x'])
    expect(flag.code).toBe(2)
    expect(flag.stderr).toContain('Unknown flag --ulr for smoke-health. Did you mean --url?')
    const json = await shipgate(['smoke-health', '--ulr', 'http://x', '--json'])
    expect(json.code).toBe(2)
    expect(JSON.parse(json.stdout)).toEqual({
      command: 'smoke-health',
      status: 'configuration',
      exitCode: 2,
      message:
        'Unknown flag --ulr for smoke-health. Did you mean --url? (see shipgate smoke-health --help)'
    })
    const cmd = await shipgate(['deploy-ap'])
    expect(cmd.code).toBe(2)
    expect(cmd.stderr).toContain('Unknown command "deploy-ap". Did you mean deploy-api?')
  })

  describe('against the sandbox', () => {
    let world: World
    beforeAll(async () => {
      world = await World.start()
    })
    afterAll(() => world.stop())

    const deploy = (commit: string, extra: string[] = [], o = {}): Promise<Run> =>
      shipgate(
        [
          'deploy-api',
          '--commit',
          commit,
          '--render-api-key',
          world.render.apiKey,
          '--health-url',
          world.endpoints().apiHealth[0],
          '--health-interval=200ms',
          '--health-successes=2',
          '--health-timeout=2s',
          '--deploy-timeout=10s',
          ...extra
        ],
        // What the sandbox prints for GitHub, and two inputs from SHIPGATE_* variables.
        {
          ...world.env(),
          SHIPGATE_RENDER_API_URL: world.render.url,
          SHIPGATE_SERVICE_ID: API_SERVICE
        },
        o
      )

    it('deploy-api good, then bad: rolled back, SEV2 incident through GITHUB_TOKEN; secrets never printed', async () => {
      const good = await deploy('2222222222222222222222222222222222222222')
      expect(good.stderr).toMatch(
        /^Incidents go to lma\/platform \(token from GITHUB_TOKEN or gh\)/
      )
      expect(good.stderr).toContain('Deploy dep-')
      expect(good.code).toBe(0)
      expect(good.stdout).toMatch(/^status=live$/m)
      world.setKnobs({ unhealthyRelease: true })
      const bad = await deploy('3333333333333333333333333333333333333333', ['--json'])
      world.setKnobs({ unhealthyRelease: false })
      expect(bad.code).toBe(1)
      const out = JSON.parse(bad.stdout)
      expect(out.outputs).toMatchObject({
        healthy: 'false',
        'rolled-back': 'true',
        'issue-number': '1'
      })
      expect(world.github.issues[0].title).toMatch(
        /^\[SEV2\] production: deploy-api failed for lma-api/
      )
      for (const r of [good, bad]) {
        expect(r.stdout + r.stderr).not.toContain(world.render.apiKey)
        expect(r.stdout + r.stderr).not.toContain(world.github.token)
      }
    })

    it('the control endpoint changes what the next deploy does, and refuses unknown knobs', async () => {
      const post = (body: string) =>
        fetch(`${world.control.url}/knobs`, { method: 'POST', body }).then(async r => ({
          status: r.status,
          body: (await r.json()) as Record<string, unknown>
        }))
      expect(await post('{"buildFailure": true}')).toMatchObject({
        status: 200,
        body: { buildFailure: true }
      })
      const failed = await deploy('6666666666666666666666666666666666666666', ['--json'])
      expect(failed.code).toBe(1)
      expect(JSON.parse(failed.stdout).outputs).toMatchObject({
        status: 'build_failed',
        'rolled-back': 'false'
      })
      expect(await post('{"buildFailure": false}')).toMatchObject({ status: 200 })
      expect(await post('{"buildFailur": true}')).toMatchObject({
        status: 400,
        body: { error: expect.stringContaining('unknown knob "buildFailur"') }
      })
      expect(await post('{"latencyMs": "slow"}')).toMatchObject({
        status: 400,
        body: { error: 'knob latencyMs must be a number' }
      })
    })

    it('Ctrl-C cancels the Render deploy the CLI started, and exits 1', async () => {
      world.setKnobs({ buildMs: 60_000 })
      // Ctrl-C once the deploy is building on Render.
      const building = (): boolean =>
        world.render.deploys.some(
          d =>
            d.commitId?.startsWith('5555') &&
            world.render.view(d.id)?.status === 'build_in_progress'
        )
      const r = await deploy('5555555555555555555555555555555555555555', [], {
        sigintWhen: building
      })
      world.setKnobs({ buildMs: 300 })
      expect(r.code).toBe(1)
      expect(r.stderr).toContain('SIGINT: cancelling')
      const started = world.render.deploys.filter(d => d.commitId?.startsWith('5555'))
      expect(started).toHaveLength(1)
      expect(world.render.view(started[0].id)?.status).toBe('canceled')
      expect(world.render.liveDeploy(API_SERVICE)?.commit?.id).not.toMatch(/^5555/)
    })
  })

  it('runs from a checkout with npm exec', () => {
    const out = execFileSync(
      'npm',
      ['exec', '--offline', '--', 'shipgate', 'smoke-health', '--help'],
      {
        cwd: ROOT,
        encoding: 'utf8'
      }
    )
    expect(out).toMatch(/^shipgate smoke-health: Probe health endpoints/)
  })

  it('runs from the packed tarball with no dependencies installed', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-pack-'))
    try {
      execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], {
        cwd: ROOT,
        stdio: 'ignore'
      })
      const tgz = readdirSync(dir).find(f => f.endsWith('.tgz'))!
      // What npm install does with it, minus fetching dependencies: the bundle needs none.
      execFileSync('tar', ['xzf', tgz], { cwd: dir })
      const bin = path.join(dir, 'package', 'bin', 'shipgate.js')
      expect(statSync(bin).mode & 0o111).not.toBe(0)
      chmodSync(bin, 0o755)
      const r = await shipgate(
        ['smoke-health', '--url', `${health.url}/health`, '--json'],
        {},
        { bin, cwd: dir }
      )
      expect(r.stderr).toContain('Incident issues are off')
      expect(r.code).toBe(0)
      expect(JSON.parse(r.stdout)).toMatchObject({ status: 'ok', outputs: { healthy: 'true' } })
      const help = await shipgate(['db-migrate', '--help'], {}, { bin, cwd: dir })
      expect(help.stdout).toContain('--migrations-dir <value>')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
