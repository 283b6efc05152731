// Time-boxed approval grants end to end on Node: a real gateway with real compiled Rego (the folding library turns a
// matching grantable hold into an allow), a loopback upstream counting calls, node:sqlite. Use limits under 20
// concurrent requests, bounds, expiry (an injected clock), revocation, the audit chain and the decision lines.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildPolicy } from '../../gateway/node/toolchain/build.ts'
import {
  approverTokens,
  keys,
  policySource,
  startTestGateway,
  type TestGateway,
  testApprovers,
  testConfig,
} from '../support/gateway.ts'
import { startUpstream, type TestUpstream } from '../support/upstream.ts'

const RULES = `package airlock.rules.granttest

hold contains {"rule": "g.refund", "reason": "money moves", "approvers": ["ops"], "grantable": true} if {
  input.request.method == "POST"
  input.request.path == "/refund"
}

hold contains {"rule": "g.wire", "reason": "wires are critical", "risk": "critical", "approvers": ["ops"], "grantable": true} if {
  input.request.method == "POST"
  input.request.path == "/wire"
}

hold contains {"rule": "g.plain", "reason": "not grantable", "approvers": ["ops"]} if {
  input.request.method == "POST"
  input.request.path == "/plain"
}
`

let upstream: TestUpstream
let gw: TestGateway
let offset = 0
const clock = { now: () => Date.now() + offset }

beforeAll(async () => {
  upstream = await startUpstream()
  const policyDir = mkdtempSync(join(tmpdir(), 'airlock-grants-policy-'))
  await buildPolicy(policySource({ 'granttest.rego': RULES }), policyDir)
  gw = await startTestGateway(
    testConfig({
      policy: { dir: policyDir, watch: false },
      holds: { wait_s: 0.2, retry_after_s: 7 },
      routes: [{ name: 'api', prefix: '/api', upstream: upstream.url, allow_private: true }],
      approver_groups: { ops: { max_pending: 100, max_grant_minutes: 30 }, payments: { max_pending: 10 } },
      approvers: testApprovers,
    }),
    { clock, tickMs: 100 },
  )
})
afterAll(async () => {
  await gw?.close()
  await upstream?.close()
})

let n = 0
const post = (path: string, body: Record<string, unknown>) =>
  fetch(`${gw.url}/api${path}`, {
    method: 'POST',
    headers: { 'airlock-agent-key': keys.billing, 'content-type': 'application/json', prefer: 'respond-async' },
    body: JSON.stringify({ n: ++n, ...body }),
  })
const api = (path: string, who: keyof typeof approverTokens, body?: object, method?: string) =>
  fetch(`${gw.url}/_airlock/api${path}`, {
    method: method ?? (body ? 'POST' : 'GET'),
    headers: { authorization: `Bearer ${approverTokens[who]}`, 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  })
const reached = (marker: string) => upstream.received.filter((r) => r.body.toString().includes(marker)).length

/** A hold for the agent, approved by bob (not the agent's owner) with the given grant; the grant as the API returned it. */
async function granted(
  grant: object,
  path = '/refund',
  body: Record<string, unknown> = { customer: 'cus_1', amount: 50 },
) {
  const held = await post(path, body)
  expect(held.status).toBe(202)
  const holdId = held.headers.get('airlock-hold-id') ?? (await held.json()).hold_id
  const res = await api(`/holds/${holdId}/approve`, 'bob', { comment: 'ok for a while', grant })
  return { holdId, res, json: (await res.json()) as Record<string, any> }
}

/** Revokes every live grant, so a test sees only its own. */
async function revokeAll() {
  for (const g of (await (await api('/grants', 'bob')).json()).grants as { id: string; state: string }[]) {
    if (g.state === 'live') expect((await api(`/grants/${g.id}`, 'bob', undefined, 'DELETE')).status).toBe(200)
  }
}

describe('grants (Node, node:sqlite, compiled Rego)', () => {
  it('20 concurrent requests against max_uses 5: exactly 5 reach the upstream, the rest are held; each use logged and audited', async () => {
    const { json, holdId } = await granted({
      minutes: 10,
      max_uses: 5,
      bounds: { same: ['customer'], max: ['amount'] },
    })
    expect(json.grant).toMatchObject({
      state: 'live',
      uses: 0,
      max_uses: 5,
      hold_id: holdId,
      created_by: 'bob',
      rule: 'g.refund',
      agent: 'billing-bot',
    })
    expect(json.grant.bounds).toEqual([
      { in: 'body', field: 'customer', op: 'equals', value: 'cus_1' },
      { in: 'body', field: 'amount', op: 'max', value: 50 },
    ])
    const grantId = json.grant.id as string
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => post('/refund', { customer: 'cus_1', amount: 40, marker: 'burst-1' })),
    )
    const statuses = responses.map((r) => r.status)
    expect(statuses.filter((s) => s === 200)).toHaveLength(5)
    expect(statuses.filter((s) => s === 202)).toHaveLength(15)
    expect(reached('burst-1')).toBe(5)

    const lines = gw.decisions().filter((l) => l.grant?.id === grantId)
    const used = lines.filter((l) => l.grant.use !== undefined)
    expect(used.map((l) => l.grant.use).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5])
    for (const l of used) {
      expect(l.rule).toBe(`grant:${grantId}`)
      expect(l.action).toBe('allow')
      expect(l.reason).toContain('grant from approver bob')
    }
    // Those that saw the grant live but lost the race were held after all.
    for (const l of lines.filter((x) => x.grant.refused)) expect(l.action).toBe('hold')

    const audit = (await (await api('/audit', 'carol')).json()).records as { type: string; record: any }[]
    expect(audit.filter((r) => r.type === 'grant.used' && r.record.grant_id === grantId)).toHaveLength(5)
    expect(audit.filter((r) => r.type === 'grant.created' && r.record.max_uses === 5).length).toBeGreaterThanOrEqual(1)
    expect((await (await api('/audit/verify', 'carol')).json()).ok).toBe(true)
    const listed = (await (await api('/grants', 'carol')).json()).grants as {
      id: string
      state: string
      uses: number
    }[]
    expect(listed.find((g) => g.id === grantId)).toMatchObject({ state: 'used_up', uses: 5 })
  })

  it('bounds: another customer or a higher amount is held', async () => {
    await granted({ minutes: 10, max_uses: 10, bounds: { same: ['customer'], max: ['amount'] } })
    expect((await post('/refund', { customer: 'cus_2', amount: 10, marker: 'b-other' })).status).toBe(202)
    expect((await post('/refund', { customer: 'cus_1', amount: 51, marker: 'b-high' })).status).toBe(202)
    expect((await post('/refund', { customer: 'cus_1', amount: 50, marker: 'b-same' })).status).toBe(200)
    expect([reached('b-other'), reached('b-high'), reached('b-same')]).toEqual([0, 0, 1])
  })

  it('revocation takes effect at once (DELETE and POST …/revoke), and is audited', async () => {
    const { json } = await granted({ minutes: 10, max_uses: 100 }, '/refund', { customer: 'cus_r', amount: 5 })
    expect((await post('/refund', { customer: 'cus_r', amount: 1, marker: 'rv-1' })).status).toBe(200)
    const revoked = await api(`/grants/${json.grant.id}`, 'carol', undefined, 'DELETE')
    expect(revoked.status).toBe(200)
    expect((await revoked.json()).grant).toMatchObject({ state: 'revoked', revoked_by: 'carol' })
    expect((await post('/refund', { customer: 'cus_r', amount: 1, marker: 'rv-2' })).status).toBe(202)
    expect(reached('rv-2')).toBe(0)
    expect((await api(`/grants/${json.grant.id}/revoke`, 'carol', {})).status).toBe(409)
    const audit = (await (await api('/audit', 'carol')).json()).records as {
      type: string
      actor: string
      record: any
    }[]
    expect(audit.find((r) => r.type === 'grant.revoked' && r.record.grant_id === json.grant.id)).toMatchObject({
      actor: 'approver:carol',
    })
  })

  it('expiry: once the minutes have passed, requests are held again', async () => {
    await revokeAll()
    await granted({ minutes: 1, max_uses: 100 }, '/refund', { customer: 'cus_e', amount: 5 })
    expect((await post('/refund', { customer: 'cus_e', amount: 1, marker: 'ex-1' })).status).toBe(200)
    offset += 61_000
    try {
      expect((await post('/refund', { customer: 'cus_e', amount: 1, marker: 'ex-2' })).status).toBe(202)
      expect(reached('ex-2')).toBe(0)
    } finally {
      offset -= 61_000
    }
  })

  it('refuses a grant the policy does not allow (not grantable, critical) or longer than the group maximum; the hold stays pending', async () => {
    await revokeAll()
    for (const [path, grant, code] of [
      ['/plain', { minutes: 5, max_uses: 1 }, /not mark this hold grantable/],
      ['/wire', { minutes: 5, max_uses: 1 }, /critical/],
      ['/refund', { minutes: 31, max_uses: 1 }, /max_grant_minutes 30/],
      ['/refund', { minutes: 5, max_uses: 1, bounds: { max: ['customer'] } }, /not a number/],
    ] as const) {
      const { res, json, holdId } = await granted(grant, path, { customer: 'cus_x', amount: 1 })
      expect(res.status).toBeGreaterThanOrEqual(400)
      expect(json.error?.message ?? JSON.stringify(json)).toMatch(code)
      expect((await (await api(`/holds/${holdId}`, 'bob')).json()).state).toBe('pending')
    }
  })

  it('the report shows every grant, its uses, and the holds grants saved', async () => {
    const report = (await (await api('/report', 'carol')).json()) as {
      grants: { holds_saved: number; grants: { state: string; uses: number; max_uses: number; created_by: string }[] }
    }
    const { grants, holds_saved } = report.grants
    expect(grants.length).toBeGreaterThanOrEqual(4)
    expect(holds_saved).toBe(grants.reduce((n, g) => n + g.uses, 0))
    expect(holds_saved).toBeGreaterThanOrEqual(5 + 1 + 1 + 1) // the burst, bounds, revoke and expiry tests
    expect(grants.find((g) => g.state === 'used_up')).toMatchObject({ uses: 5, max_uses: 5, created_by: 'bob' })
  })
})
