// Benchmark (npm run bench, not npm test): deploy-api's wall time against a fake
// Render deploy scripted to take N seconds, at the default health settings.
import { describe, expect, it } from '@jest/globals'
import { FakeGitHub } from '../src/fakes/github.js'
import { FakeRender } from '../src/fakes/render.js'
import { runAction } from './support/harness.js'

describe('deploy-api wall time', () => {
  it.each([10, 30])(
    'a deploy scripted to take %i s: wall time minus N minus the health window',
    async n => {
      const render = await FakeRender.start()
      const github = await new FakeGitHub().start()
      try {
        render.addService({ id: 'srv-bench', name: 'bench', liveDeployId: 'dep-old' })
        render.nextDeploys.push({
          createdMs: 1000,
          buildMs: (n - 1) * 700,
          updateMs: (n - 1) * 300
        })
        // Health inputs at their defaults: interval 10s, successes 3, so the gate takes 20 s.
        const healthWindowMs = 2 * 10_000
        const run = await runAction(
          'deploy-api',
          {
            'render-api-key': render.apiKey,
            'service-id': 'srv-bench',
            'render-api-url': render.url,
            'health-url': render.healthUrl('srv-bench')
          },
          { token: github.token, env: { GITHUB_API_URL: github.url } }
        )
        expect(run.code).toBe(0)
        const overheadMs = run.durationMs - n * 1000 - healthWindowMs
        const gets = render.requests.filter(
          r => r.method === 'GET' && r.path.startsWith('/v1')
        ).length
        const posts = render.requests.filter(r => r.method === 'POST').length
        console.log(
          `N=${n}s: wall ${(run.durationMs / 1000).toFixed(2)} s, overhead ${(overheadMs / 1000).toFixed(2)} s ` +
            `(goal < 2 s), Render API ${gets} GET + ${posts} POST, GitHub ${github.requests.length} requests`
        )
      } finally {
        await render.close()
        await github.stop()
      }
    },
    120_000
  )
})
