// Holds end to end on Node: a real gateway, a real upstream and a real webhook receiver on loopback, real compiled
// Rego. The hold flow both runtimes share is the conformance suite (test/conformance/hold-flow.case.ts), run here
// first; what follows needs Node's own tools (a second gateway with other settings, a flaky receiver, timing).
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ConfigInput } from '../../gateway/core/config/schema.ts'
import { buildPolicy } from '../../gateway/node/toolchain/build.ts'
import { type Received, runHoldFlowSuite } from '../conformance/hold-flow.case.ts'
import {
  approverTokens,
  keys,
  policySource,
  startTestGateway,
  type TestGateway,
  testApprovers,
  testConfig,
  testSecrets,
} from '../support/gateway.ts'
import { HOLD_RULES } from '../support/holds-policy.ts'
import { startUpstream, type TestUpstream } from '../support/upstream.ts'

let upstream: TestUpstream
let receiver: TestUpstream
let policyDir: string
let gw: TestGateway

export function holdsConfig(overrides: Partial<ConfigInput> = {}): ConfigInput {
  const hook = { url: receiver.url + '/hook', secret_env: 'WEBHOOK_SECRET', allow_private: true }
  return {
    policy: { dir: policyDir, watch: false },
    server: { public_url: 'https://airlock.example.com' },
    holds: { wait_s: 0.2, retry_after_s: 7, fast_decision_ms: 50 },
    routes: [
      {
        name: 'api',
        prefix: '/api',
        upstream: upstream.url,
        allow_private: true,
        credential: { env: 'UPSTREAM_TOKEN' },
        idempotency_key: true,
      },
    ],
    approver_groups: { ops: { max_pending: 50, webhooks: [hook] }, payments: { max_pending: 50, webhooks: [hook] } },
    approvers: testApprovers,
    ...overrides,
  }
}

beforeAll(async () => {
  upstream = await startUpstream()
  receiver = await startUpstream((_req, res) => {
    res.writeHead(204)
    res.end()
  })
  policyDir = mkdtempSync(join(tmpdir(), 'airlock-holds-policy-'))
  await buildPolicy(policySource({ 'holdtest.rego': HOLD_RULES }), policyDir)
  gw = await startTestGateway(testConfig(holdsConfig()), { tickMs: 100 })
})
afterAll(async () => {
  await gw?.close()
  await upstream?.close()
  await receiver?.close()
})

let n = 0
/** A distinct JSON body per call unless one is given, so tests do not dedupe into each other by accident. */
const post = (path: string, opts: { body?: string; prefer?: string; base?: string } = {}) =>
  fetch(`${opts.base ?? gw.url}/api${path}`, {
    method: 'POST',
    headers: {
      'airlock-agent-key': keys.billing,
      'content-type': 'application/json',
      'airlock-intent': 'refund a duplicate charge',
      ...(opts.prefer ? { prefer: opts.prefer } : {}),
    },
    body: opts.body ?? JSON.stringify({ n: ++n, amount: 5000 }),
  })
const api = (path: string, who: keyof typeof approverTokens, body?: object, base = gw.url) =>
  fetch(`${base}/_airlock/api${path}`, {
    method: body ? 'POST' : 'GET',
    headers: { authorization: `Bearer ${approverTokens[who]}`, 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  })
const hooksFor = (holdId: string, event?: string) =>
  receiver.received
    .map((r) => ({ r, body: JSON.parse(r.body.toString()) }))
    .filter((x) => x.body.hold?.id === holdId && (!event || x.body.type === event))
const until = async (pred: () => boolean | Promise<boolean>, ms = 5000) => {
  const end = Date.now() + ms
  while (!(await pred())) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 25))
  }
}
const toUpstream = (marker: string) => upstream.received.filter((r) => r.body.toString().includes(marker))
const asReceived = (r: { body: Buffer; headers: Record<string, string | string[] | undefined> }): Received => ({
  body: r.body.toString(),
  headers: r.headers,
})

runHoldFlowSuite('Node (in process, node:sqlite)', {
  post: (path, opts) => post(path, opts),
  api: (path, who, body) => api(path, who, body),
  gateway: (path, init) => fetch(gw.url + path, init),
  upstream: async () => upstream.received.map(asReceived),
  hooks: async () => receiver.received.map(asReceived),
  decisions: async () => gw.decisions(),
  get upstreamUrl() {
    return upstream.url
  },
  keys: { billing: keys.billing, dev: keys.dev },
  secrets: { webhook: testSecrets.WEBHOOK_SECRET!, upstreamToken: 'sk_live_real_upstream_secret' },
})

describe('what the agent sees', () => {
  it('expires → 403 and a hold.expired event', async () => {
    const res = await post('/short', { body: '{"marker":"expire-1"}', prefer: 'wait=5' })
    expect(res.status).toBe(403)
    const body = await res.json()
    expect(body.error.code).toBe('AIRLOCK_HOLD_EXPIRED')
    await until(() => hooksFor(body.error.hold_id, 'hold.expired').length === 1)
    expect((await api(`/holds/${body.error.hold_id}/approve`, 'bob', {})).status).toBe(409)
    expect(toUpstream('expire-1')).toHaveLength(0)
  })
})

describe('deciding', () => {
  it('records time to decide and flags fast approvals as possible rubber stamps', async () => {
    const id = (await post('/hold', { body: '{"marker":"fast-1"}' })).headers.get('airlock-hold-id')!
    await api(`/holds/${id}`, 'bob')
    const fast = await (await api(`/holds/${id}/approve`, 'bob', {})).json()
    expect(fast.approvals[0]).toMatchObject({ approver: 'bob', fast: true })
    expect(fast.approvals[0].ms_from_view).toBeLessThan(50)
    const slowId = (await post('/hold', { body: '{"marker":"slow-1"}' })).headers.get('airlock-hold-id')!
    await api(`/holds/${slowId}`, 'carol')
    await new Promise((r) => setTimeout(r, 120))
    const slow = await (await api(`/holds/${slowId}/approve`, 'carol', {})).json()
    expect(slow.approvals[0].fast).toBe(false)
    expect(slow.approvals[0].ms_from_view).toBeGreaterThanOrEqual(100)
    expect(slow.approvals[0].ms_from_notify).toBeGreaterThanOrEqual(slow.approvals[0].ms_from_view)
  })
})

describe('keeping attention for what matters', () => {
  it('the policy sees pending counts per group and can refuse past its own threshold', async () => {
    const other = await startTestGateway(testConfig(holdsConfig()), { tickMs: 100 })
    try {
      for (let i = 0; i < 5; i++) expect((await post('/pay', { base: other.url })).status).toBe(409)
      const res = await post('/pay', { base: other.url })
      expect(res.status).toBe(403)
      expect((await res.json()).error).toMatchObject({ rule: 't.pay_busy' })
      expect(other.decisions().at(-1)!.input.gateway.pending_holds).toEqual({ payments: 5 })
    } finally {
      await other.close()
    }
  })

  it('a group over its cap refuses new holds (fail closed) with a clear message', async () => {
    const capped = holdsConfig()
    capped.approver_groups!.ops!.max_pending = 2
    const other = await startTestGateway(testConfig(capped), { tickMs: 100 })
    try {
      expect((await post('/hold', { base: other.url })).status).toBe(409)
      expect((await post('/hold', { base: other.url })).status).toBe(409)
      const before = upstream.received.length
      const res = await post('/hold', { base: other.url })
      expect(res.status).toBe(503)
      const body = await res.json()
      expect(body.error).toMatchObject({ code: 'AIRLOCK_HOLD_CAPACITY', group: 'ops', pending: 2, limit: 2 })
      expect(upstream.received.length).toBe(before)
    } finally {
      await other.close()
    }
  })
})

describe('webhook receiver down', () => {
  it('retries with backoff, keeps the hold visible, and delivers once the receiver is back', async () => {
    let up = false
    const flaky = await startUpstream((_req, res) => {
      res.writeHead(up ? 200 : 503)
      res.end()
    })
    const cfg = holdsConfig()
    cfg.approver_groups!.ops!.webhooks = [{ url: flaky.url, secret_env: 'WEBHOOK_SECRET', allow_private: true }]
    const other = await startTestGateway(testConfig(cfg), { tickMs: 100 })
    try {
      const id = (await post('/hold', { base: other.url })).headers.get('airlock-hold-id')!
      await until(() => flaky.received.length >= 1)
      const view = await (await api(`/holds/${id}`, 'bob', undefined, other.url)).json()
      expect(view.state).toBe('pending')
      expect(view.deliveries[0]).toMatchObject({
        event: 'hold.created',
        state: 'pending',
        last_status: 503,
        attempts: 1,
      })
      up = true
      await until(() => flaky.received.length >= 2, 8000)
      await until(
        async () =>
          (await (await api(`/holds/${id}`, 'bob', undefined, other.url)).json()).deliveries[0].state === 'delivered',
      )
    } finally {
      await other.close()
      await flaky.close()
    }
  }, 20_000)
})

describe('review after the fact', () => {
  it('forwards at once, samples near the configured rate, and a flag emits review.flagged', async () => {
    const other = await startTestGateway(testConfig(holdsConfig()), { tickMs: 100 })
    try {
      const total = 300
      for (let i = 0; i < total; i++) expect((await post('/review', { base: other.url })).status).toBe(200)
      const list = await (await api('/reviews?state=pending', 'bob', undefined, other.url)).json()
      const rate = list.reviews.length / total
      expect(rate).toBeGreaterThan(0.38) // 0.5 ± ~4 standard deviations
      expect(rate).toBeLessThan(0.62)
      const [a, b] = list.reviews
      expect(a).toMatchObject({ rule: 't.review', upstream_status: 200, agent_id: 'billing-bot' })
      expect((await api(`/reviews/${a.id}`, 'bob', { verdict: 'ok' }, other.url)).status).toBe(200)
      expect((await api(`/reviews/${b.id}`, 'bob', { verdict: 'flag' }, other.url)).status).toBe(400)
      expect(
        (await api(`/reviews/${b.id}`, 'bob', { verdict: 'flag', comment: 'should have been held' }, other.url)).status,
      ).toBe(200)
      await until(() => receiver.received.some((r) => JSON.parse(r.body.toString()).type === 'review.flagged'))
      const report = await (await api('/report', 'bob', undefined, other.url)).json()
      expect(report.review.find((r: { rule: string }) => r.rule === 't.review')).toMatchObject({
        forwarded: total,
        sampled: list.reviews.length,
        reviewed: 2,
        flagged: 1,
      })
    } finally {
      await other.close()
    }
  })
})

describe('accountability', () => {
  it('keeps a verifiable audit chain of policy and human decisions', async () => {
    const verify = await (await api('/audit/verify', 'bob')).json()
    expect(verify.ok).toBe(true)
    expect(verify.records).toBeGreaterThan(10)
    const { records } = await (await api('/audit', 'bob')).json()
    const types = new Set(records.map((r: { type: string }) => r.type))
    for (const t of ['hold.created', 'hold.viewed', 'hold.approved', 'hold.denied', 'hold.executed', 'hold.expired'])
      expect(types).toContain(t)
    const approval = records.find(
      (r: { type: string; actor: string }) => r.type === 'hold.approved' && r.actor === 'approver:bob',
    )
    expect(approval.record).toMatchObject({ approver: 'bob', context_sha256: expect.stringMatching(/^[0-9a-f]{64}$/) })
  })
})
