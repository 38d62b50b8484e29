// What a deploy costs in Render API calls, on a virtual clock (instant).
import { describe, expect, it } from '@jest/globals'
import { waitForDeploy } from '../src/providers/render/wait.js'
import type { Deploy, DeployStatus } from '../src/providers/render/client.js'

/** Polls a deploy that follows `phases` (seconds each) on a virtual clock, at the action's defaults. */
async function pollsFor(
  phases: Array<[DeployStatus, number]>
): Promise<{ polls: number; lagMs: number; peakPerMin: number }> {
  let t = 0
  const at: number[] = []
  const liveAt = phases.reduce((s, [, sec]) => s + sec * 1000, 0)
  const statusAt = (ms: number): DeployStatus => {
    let end = 0
    for (const [status, sec] of phases) if (ms < (end += sec * 1000)) return status
    return 'live'
  }
  const client = {
    getDeploy: async (_s: string, id: string): Promise<Deploy> => {
      at.push(t)
      return { id, status: statusAt(t) }
    },
    cancelDeploy: async (_s: string, id: string): Promise<Deploy> => ({ id, status: 'canceled' })
  }
  const r = await waitForDeploy({
    client,
    serviceId: 'srv-x',
    deploy: { id: 'dep-x', status: 'created' },
    timeoutMs: 30 * 60_000,
    now: () => t,
    sleep: async ms => {
      t += ms
    }
  })
  expect(r.outcome).toBe('live')
  const peakPerMin = Math.max(...at.map(s => at.filter(x => x >= s && x < s + 60_000).length))
  return { polls: r.polls, lagMs: t - liveAt, peakPerMin }
}

describe('deploy-api cost model (defaults: deploy-timeout 30m)', () => {
  it('a 10-minute deploy costs about a hundred GETs, far under 400/min', async () => {
    // Typical Render shape: a short queue, a long build, a 2-minute instance swap.
    const { polls, lagMs, peakPerMin } = await pollsFor([
      ['created', 15],
      ['build_in_progress', 450],
      ['update_in_progress', 135]
    ])
    // Plus 3 fixed calls: GET service, GET live deploy, POST deploy.
    console.log(
      `10-minute deploy: ${polls} status GETs + 3 others; peak ${peakPerMin} GETs/min; live seen ${lagMs} ms late`
    )
    expect(polls).toBeLessThan(120)
    expect(peakPerMin).toBeLessThanOrEqual(30)
    expect(lagMs).toBeLessThanOrEqual(2000)
  })

  it('a 10-minute build that fails costs under 50 GETs', async () => {
    const { polls } = await pollsFor([
      ['created', 15],
      ['build_in_progress', 585]
    ])
    expect(polls).toBeLessThan(50)
  })
})
