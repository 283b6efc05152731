// Guards the benchmark harness (bench/): every configuration (Airlock's, and the alternatives: nginx, an OPA sidecar,
// Smokescreen) starts, serves the allow path (and, with a policy, the deny path) with the expected statuses, and the
// decision micro-benchmark and the soak run. Nothing is timed here.
// Needs nginx and wrk (apt-get install nginx wrk): without them it fails and says so.
import { beforeAll, describe, expect, it } from 'vitest'
import { runSmoke } from '../../bench/smoke.ts'
import { findSmokescreen } from '../../bench/smokescreen.ts'

// Configuration (g) is Stripe's Smokescreen, compiled once from tools/smokescreen into .cache/bin (like OPA): on a
// fresh clone that build takes a minute or two, which is not the smoke run's time.
beforeAll(() => {
  findSmokescreen()
}, 600_000)

describe('bench smoke', () => {
  it('runs every configuration briefly and each answers as expected', async () => {
    const report = await runSmoke()
    expect(report.configs.map((c) => c.id)).toEqual(['a', 'b', 'c', 'c-info', 'd', 'e', 'f', 'g'])
    for (const c of report.configs) {
      expect(c.throughput[0]!.requests, `(${c.id}) ${c.label}`).toBeGreaterThan(0)
      expect(c.latency[0]!.statuses['200'], `(${c.id}) ${c.label}`).toBeGreaterThan(0)
      const policy = ['c', 'c-info', 'd', 'f'].includes(c.id)
      expect(Object.keys(c.statuses ?? {}).sort(), `(${c.id}) ${c.label}`).toEqual(policy ? ['200', '403'] : ['200'])
    }
    // The deny path at full load for (c): every answer the policy's 403.
    const deny = report.configs.find((c) => c.id === 'c')!.denyThroughput![0]!
    expect(deny.requests).toBeGreaterThan(0)
    expect(Object.keys(deny.statuses ?? {})).toEqual(['403'])
    expect(report.decision.map((d) => d.action)).toEqual(['allow', 'review', 'review', 'allow', 'review'])
    expect(report.soak.statuses['200']).toBeGreaterThan(0)
    expect(report.soak.statuses['403']).toBeGreaterThan(0)
    // The intercepted path (HTTPS_PROXY with TLS interception) beside the routed one, same upstream.
    expect(report.intercept.routed.statuses['200']).toBeGreaterThan(0)
    expect(report.intercept.intercepted.statuses['200']).toBeGreaterThan(0)
  }, 180_000)
})
