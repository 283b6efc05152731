// The seeded traffic generator drives a real gateway (example policies compiled, loopback upstream, SQLite holds)
// and what it records is what replay and the docs rely on: every decision with its input, the holds with people's
// decisions, and figures that agree with both.
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { HoldStore } from '../../gateway/core/holds/store.ts'
import { openSqlite } from '../../gateway/node/sqlite.ts'
import { buildPolicy } from '../../gateway/node/toolchain/build.ts'
import { repoRoot } from '../../gateway/node/toolchain/opa.ts'
import { trafficMix } from '../../tools/traffic/mix.ts'
import { runTraffic, type TrafficSummary } from '../../tools/traffic/run.ts'

let policyDir: string
let outDir: string
let summary: TrafficSummary

beforeAll(async () => {
  policyDir = mkdtempSync(join(tmpdir(), 'airlock-traffic-policy-'))
  await buildPolicy(resolve(repoRoot, 'policies'), policyDir)
  outDir = mkdtempSync(join(tmpdir(), 'airlock-traffic-'))
  summary = await runTraffic({ seed: 7, requests: 2000, days: 1, policyDir, outDir })
}, 120_000)

describe('traffic mix', () => {
  it('is the same for a seed and different for another', () => {
    const a = [...trafficMix(3, 200)]
    expect([...trafficMix(3, 200)]).toEqual(a)
    expect([...trafficMix(4, 200)]).not.toEqual(a)
    expect(new Set(a.map((t) => t.agent)).size).toBe(4)
  })
})

describe('a recorded run', () => {
  it('logs one decision line with its input per request and retry', () => {
    const lines = readFileSync(summary.log, 'utf8')
      .split('\n')
      .filter((l) => l.includes('"msg":"decision"'))
      .map((l) => JSON.parse(l))
    expect(lines.length).toBe(summary.decisions)
    expect(summary.decisions).toBeGreaterThanOrEqual(2000)
    for (const l of lines) {
      expect(l.input?.request?.method).toBe(l.method)
      expect(l.result?.action ?? 'error').toBe(l.action ?? 'error')
    }
    // Simulated time: a day of timestamps in seconds of wall time.
    const first = Date.parse(lines[0].timestamp)
    const last = Date.parse(lines.at(-1).timestamp)
    expect(last - first).toBeGreaterThan(20 * 3600_000)
    // Every kind of outcome the example policies have appears.
    for (const action of ['allow', 'review', 'hold', 'deny']) expect(summary.by_action[action]).toBeGreaterThan(0)
  })

  it('stores the holds people decided, and they match the log', () => {
    const lines = readFileSync(summary.log, 'utf8')
      .split('\n')
      .filter((l) => l.includes('"msg":"decision"'))
      .map((l) => JSON.parse(l))
    const heldIds = new Set(lines.filter((l) => l.action === 'hold' && l.hold_id).map((l) => l.hold_id))
    const db = openSqlite(summary.database)
    try {
      const holds = new HoldStore(db).all()
      expect(holds.length).toBe(summary.holds_created)
      expect(new Set(holds.map((h) => h.id))).toEqual(heldIds)
      // Nobody left waiting: every hold was approved, denied or (rarely) expired.
      expect(holds.filter((h) => h.state === 'pending')).toEqual([])
      expect(summary.human_decisions.approved + summary.human_decisions.denied).toBeGreaterThan(0)
      expect(holds.filter((h) => h.state === 'denied').every((h) => h.denial?.approver)).toBe(true)
    } finally {
      db.close()
    }
  })

  it('measures the share decided by policy alone and the approver load', () => {
    const holds = summary.by_action.hold ?? 0
    expect(summary.decided_by_policy_alone).toBe(summary.decisions - holds)
    expect(summary.share_of_requests_without_a_person).toBeCloseTo(1 - summary.holds_created / 2000, 4)
    expect(summary.share_of_requests_without_a_person).toBeGreaterThanOrEqual(0.99)
    expect(Object.keys(summary.holds_per_day).sort()).toEqual(expect.arrayContaining(['payments']))
  })
})
