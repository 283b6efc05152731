// Failures around holds and reviews that must not mislead the agent or the operator (issue 10, items 2 and 13).
// A real gateway, a real upstream on loopback, real compiled Rego, real SQLite failures.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { HoldStore } from '../../gateway/core/holds/store.ts'
import type { Decision } from '../../gateway/core/policy/decision.ts'
import { openSqlite } from '../../gateway/node/sqlite.ts'
import { buildPolicy } from '../../gateway/node/toolchain/build.ts'
import { keys, policySource, startTestGateway, testApprovers, testConfig } from '../support/gateway.ts'
import { HOLD_RULES } from '../support/holds-policy.ts'
import { startUpstream, type TestUpstream } from '../support/upstream.ts'

let upstream: TestUpstream
let policyDir: string

beforeAll(async () => {
  upstream = await startUpstream((_req, res) => {
    res.writeHead(201, { 'content-type': 'application/json' })
    res.end('{"created":"ch_1"}')
  })
  policyDir = mkdtempSync(join(tmpdir(), 'airlock-hold-failures-policy-'))
  await buildPolicy(policySource({ 'holdtest.rego': HOLD_RULES }), policyDir)
})
afterAll(async () => {
  await upstream?.close()
})

const config = (dataDir?: string) => {
  const c = testConfig({
    policy: { dir: policyDir, watch: false },
    routes: [{ name: 'api', prefix: '/api', upstream: upstream.url, allow_private: true }],
    approver_groups: { ops: {}, payments: {} },
    approvers: testApprovers,
  })
  if (dataDir) c.data_dir = dataDir
  return c
}

it('a forwarded review whose recording fails still gives the agent the upstream answer, and the failure is logged and counted', async () => {
  const gw = await startTestGateway(config())
  try {
    // A real store failure: the table the sampler writes to first is gone.
    ;(gw.holds.store as HoldStore).db.run('DROP TABLE review_counts')
    const marker = `review-${crypto.randomUUID()}`
    const res = await fetch(`${gw.url}/api/review`, {
      method: 'POST',
      headers: { 'airlock-agent-key': keys.billing, 'content-type': 'application/json' },
      body: JSON.stringify({ marker }),
    })
    expect(res.status).toBe(201)
    expect(await res.json()).toEqual({ created: 'ch_1' })
    expect(res.headers.get('airlock-error-code')).toBeNull()
    expect(upstream.received.filter((r) => r.body.toString().includes(marker))).toHaveLength(1)

    const decisionId = res.headers.get('airlock-decision-id')
    const failure = gw.logs.find((l) => l.event === 'review_not_recorded')
    expect(failure).toMatchObject({ level: 'error', decision_id: decisionId, rule: 't.review' })
    expect(failure!.error).toMatch(/review_counts/)
    expect(gw.decisions().find((l) => l.decision_id === decisionId)).toMatchObject({
      action: 'review',
      status: 201,
      upstream_status: 201,
      sampled: false,
    })
    const metrics = await (await fetch(`${gw.url}/metrics`)).text()
    expect(metrics).toMatch(/airlock_errors_total\{code="AIRLOCK_REVIEW_NOT_RECORDED"\} 1/)
  } finally {
    await gw.close()
  }
})

it('crash recovery logs an error line for each hold it turns outcome_unknown', async () => {
  // The state a crash leaves: two holds approved and mid-send ("executing"), one still pending.
  const dataDir = mkdtempSync(join(tmpdir(), 'airlock-hold-failures-data-'))
  const db = openSqlite(join(dataDir, 'airlock.db'))
  const store = new HoldStore(db)
  const decision: Decision = {
    action: 'hold',
    reason: 'test hold',
    rule: 't.hold',
    risk: 'high',
    summary: 'Hold one',
    approvers: ['ops'],
    approvals_required: 1,
    require_comment: false,
    timeout_s: 900,
    sample_rate: 0,
  }
  const hold = (id: string) => {
    store.createOrJoin(
      {
        id,
        created_at: Date.now(),
        expires_at: Date.now() + 900_000,
        dedupe_key: id,
        agent: { id: 'billing-bot', owner: 'alice@example.com' },
        route: 'api',
        method: 'POST',
        url: `${upstream.url}/hold`,
        headers: [],
        body: null,
        body_sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
        intent: null,
        decision,
        decision_id: `d-${id}`,
        policy_revision: 'r',
        groups: ['ops'],
      },
      { ops: 50 },
      0,
      () => {},
    )
    return id
  }
  const executing = [hold('crashed-1'), hold('crashed-2')]
  const pending = hold('still-pending')
  for (const id of executing) {
    expect(store.transition(id, ['pending'], 'approved', Date.now())).toBe(true)
    expect(store.transition(id, ['approved'], 'executing', Date.now())).toBe(true)
  }
  db.close()

  const gw = await startTestGateway(config(dataDir))
  try {
    const lines = gw.logs.filter((l) => l.event === 'hold.outcome_unknown')
    expect(lines.map((l) => l.hold_id).sort()).toEqual([...executing].sort())
    for (const l of lines)
      expect(l).toMatchObject({
        level: 'error',
        recovered: true,
        error: 'the gateway stopped while sending this request',
      })
    expect((await gw.holds.store.get(pending))!.state).toBe('pending')
    for (const id of executing) expect((await gw.holds.store.get(id))!.state).toBe('outcome_unknown')
  } finally {
    await gw.close()
  }
})
