// Holds end to end: a real gateway, a real upstream and a real webhook receiver on loopback, real compiled Rego.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ConfigInput } from '../../gateway/core/config/schema.ts'
import { verifySignature } from '../../gateway/core/holds/webhooks.ts'
import { buildPolicy } from '../../gateway/node/toolchain/build.ts'
import { approverTokens, keys, policySource, startTestGateway, testApprovers, testConfig, testSecrets, type TestGateway } from '../support/gateway.ts'
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
    routes: [{ name: 'api', prefix: '/api', upstream: upstream.url, allow_private: true, credential: { env: 'UPSTREAM_TOKEN' }, idempotency_key: true }],
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
    headers: { 'airlock-agent-key': keys.billing, 'content-type': 'application/json', 'airlock-intent': 'refund a duplicate charge', ...(opts.prefer ? { prefer: opts.prefer } : {}) },
    body: opts.body ?? JSON.stringify({ n: ++n, amount: 5000 }),
  })
const api = (path: string, who: keyof typeof approverTokens, body?: object, base = gw.url) =>
  fetch(`${base}/_airlock/api${path}`, {
    method: body ? 'POST' : 'GET',
    headers: { authorization: `Bearer ${approverTokens[who]}`, 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  })
const hooksFor = (holdId: string, event?: string) =>
  receiver.received.map((r) => ({ r, body: JSON.parse(r.body.toString()) })).filter((x) => x.body.hold?.id === holdId && (!event || x.body.type === event))
const until = async (pred: () => boolean | Promise<boolean>, ms = 5000) => {
  const end = Date.now() + ms
  while (!(await pred())) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 25))
  }
}
const toUpstream = (marker: string) => upstream.received.filter((r) => r.body.toString().includes(marker))

describe('hold → webhook → approve → execute', () => {
  it('stores the hold, signs the webhook, executes the exact bytes once after approval, and the waiting agent gets the upstream response', async () => {
    const body = JSON.stringify({ marker: 'sync-1', amount: 5000, note: 'exact bytes  with  spacing' })
    const agent = post('/hold', { body, prefer: 'wait=10' })

    await until(() => receiver.received.some((r) => r.body.toString().includes('sync-1')))
    const hook = receiver.received.find((r) => r.body.toString().includes('sync-1'))!
    const raw = hook.body.toString()
    expect(await verifySignature(testSecrets.WEBHOOK_SECRET!, raw, hook.headers['airlock-signature'] as string, Date.now() / 1000)).toBe(true)
    expect(await verifySignature('wrong-secret', raw, hook.headers['airlock-signature'] as string, Date.now() / 1000)).toBe(false)
    const event = JSON.parse(raw)
    expect(event.type).toBe('hold.created')
    expect(event.hold).toMatchObject({
      summary: 'Hold one',
      reason: 'test hold',
      rule: 't.hold',
      risk: 'high',
      agent: { id: 'billing-bot', owner: 'alice@example.com' },
      intent: 'refund a duplicate charge',
      approvers: ['ops'],
      request: { method: 'POST', url: `${upstream.url}/hold` },
    })
    expect(event.hold.request.body_preview).toContain('"marker": "sync-1"')
    expect(event.links.approve).toBe(`https://airlock.example.com/_airlock/api/holds/${event.hold.id}/approve`)
    expect(event.links.console).toBe(`https://airlock.example.com/_airlock/console/holds/${event.hold.id}`)
    expect(raw).not.toContain(keys.billing)
    expect(raw).not.toContain('sk_live_real_upstream_secret')
    expect(toUpstream('sync-1')).toHaveLength(0)

    const view = await (await api(`/holds/${event.hold.id}`, 'bob')).json()
    expect(view.state).toBe('pending')
    expect(view.context_sha256).toMatch(/^[0-9a-f]{64}$/)
    const approved = await api(`/holds/${event.hold.id}/approve`, 'bob', { comment: 'checked the duplicate', context_sha256: view.context_sha256 })
    expect(approved.status).toBe(200)

    const res = await agent
    expect(res.status).toBe(200)
    expect(res.headers.get('airlock-hold-id')).toBe(event.hold.id)
    expect(await res.json()).toMatchObject({ method: 'POST', url: '/hold' })
    const sent = toUpstream('sync-1')
    expect(sent).toHaveLength(1)
    expect(sent[0]!.body.toString()).toBe(body)
    expect(sent[0]!.headers.authorization).toBe('Bearer sk_live_real_upstream_secret')
    expect(sent[0]!.headers['idempotency-key']).toBe(`airlock-hold-${event.hold.id}`)
    await until(() => hooksFor(event.hold.id, 'hold.executed').length === 1)
    expect(hooksFor(event.hold.id, 'hold.decided')).toHaveLength(1)
  })
})

describe('what the agent sees', () => {
  it('still pending after the wait: a non-2xx with Retry-After, Airlock-Hold-Id and a body an LLM can act on', async () => {
    const res = await post('/hold')
    expect(res.status).toBe(409)
    expect(res.headers.get('retry-after')).toBe('7')
    expect(res.headers.get('airlock-error-code')).toBe('AIRLOCK_HOLD_PENDING')
    const id = res.headers.get('airlock-hold-id')
    expect(id).toBeTruthy()
    const body = await res.json()
    expect(body.error).toMatchObject({ code: 'AIRLOCK_HOLD_PENDING', hold_id: id, state: 'pending', rule: 't.hold' })
    expect(body.error.message).toMatch(/NOT been executed/)
    expect(body.error.message).toMatch(/Retry the identical request/)
  })

  it('Prefer: respond-async → 202 with Location; the poll gives the state, then the stored upstream response', async () => {
    const res = await post('/hold', { body: '{"marker":"async-1"}', prefer: 'respond-async' })
    expect(res.status).toBe(202)
    const location = res.headers.get('location')!
    expect(location).toMatch(/^\/_airlock\/holds\//)
    const poll = () => fetch(gw.url + location, { headers: { 'airlock-agent-key': keys.billing } })
    expect((await poll()).status).toBe(202)
    expect((await fetch(gw.url + location, { headers: { 'airlock-agent-key': keys.dev } })).status).toBe(404)
    const id = res.headers.get('airlock-hold-id')!
    await api(`/holds/${id}`, 'carol')
    await new Promise((r) => setTimeout(r, 60))
    expect((await api(`/holds/${id}/approve`, 'carol', {})).status).toBe(200)
    await until(async () => (await poll()).status === 200)
    const done = await poll()
    expect(await done.json()).toMatchObject({ method: 'POST', url: '/hold' })
    expect(toUpstream('async-1')).toHaveLength(1)
  })

  it('dedupes retries: one hold, one notification, one upstream call; the retry after execution gets the stored response', async () => {
    const body = '{"marker":"dedupe-1"}'
    const first = await post('/hold', { body })
    const second = await post('/hold', { body })
    const id = first.headers.get('airlock-hold-id')!
    expect(second.headers.get('airlock-hold-id')).toBe(id)
    // Each retry has its own decision (and log line); the body names the decision that created the hold.
    expect(second.headers.get('airlock-decision-id')).not.toBe(first.headers.get('airlock-decision-id'))
    expect((await second.json()).error.hold_decision_id).toBe(first.headers.get('airlock-decision-id'))
    expect(gw.decisions().find((l) => l.decision_id === second.headers.get('airlock-decision-id'))).toMatchObject({ hold_id: id, error_code: 'AIRLOCK_HOLD_PENDING', status: 409 })
    await until(() => hooksFor(id, 'hold.created').length >= 1)
    await api(`/holds/${id}/approve`, 'bob', { comment: 'ok' })
    await until(() => toUpstream('dedupe-1').length === 1)
    await until(async () => (await post('/hold', { body })).status === 200)
    const again = await post('/hold', { body })
    expect(again.status).toBe(200)
    expect(again.headers.get('airlock-hold-id')).toBe(id)
    expect(await again.json()).toMatchObject({ url: '/hold' })
    expect(toUpstream('dedupe-1')).toHaveLength(1)
    expect(hooksFor(id, 'hold.created')).toHaveLength(1)
  })

  it('denied with a comment → 403 carrying the comment; the upstream never sees it', async () => {
    const res = await post('/hold', { body: '{"marker":"deny-1"}' })
    const id = res.headers.get('airlock-hold-id')!
    expect((await api(`/holds/${id}/deny`, 'carol', { comment: 'wrong customer' })).status).toBe(200)
    const retry = await post('/hold', { body: '{"marker":"deny-1"}' })
    expect(retry.status).toBe(403)
    const body = await retry.json()
    expect(body.error.code).toBe('AIRLOCK_HOLD_DENIED')
    expect(body.error.message).toContain('wrong customer')
    expect(toUpstream('deny-1')).toHaveLength(0)
  })

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
  it('executes once under concurrent approvals', async () => {
    const res = await post('/hold', { body: '{"marker":"race-1"}' })
    const id = res.headers.get('airlock-hold-id')!
    const results = await Promise.all([...Array(6)].map((_, i) => api(`/holds/${id}/approve`, i % 2 ? 'bob' : 'carol', {})))
    expect(results.filter((r) => r.status === 200)).toHaveLength(1)
    expect(results.filter((r) => r.status === 409)).toHaveLength(5)
    await until(() => toUpstream('race-1').length === 1)
    await new Promise((r) => setTimeout(r, 300))
    expect(toUpstream('race-1')).toHaveLength(1)
  })

  it('two-person rule: needs two distinct approvers', async () => {
    const res = await post('/two', { body: '{"marker":"two-1"}' })
    const id = res.headers.get('airlock-hold-id')!
    expect((await api(`/holds/${id}/approve`, 'bob', {})).status).toBe(200)
    expect((await (await api(`/holds/${id}`, 'bob')).json()).state).toBe('pending')
    const twice = await api(`/holds/${id}/approve`, 'bob', {})
    expect(twice.status).toBe(409)
    expect((await twice.json()).error.message).toMatch(/distinct approvers/)
    expect(toUpstream('two-1')).toHaveLength(0)
    expect((await api(`/holds/${id}/approve`, 'carol', {})).status).toBe(200)
    await until(() => toUpstream('two-1').length === 1)
  })

  it('a required comment must be given', async () => {
    const id = (await post('/comment', { body: '{"marker":"comment-1"}' })).headers.get('airlock-hold-id')!
    const bare = await api(`/holds/${id}/approve`, 'bob', { comment: '   ' })
    expect(bare.status).toBe(400)
    expect((await bare.json()).error.message).toMatch(/requires a written comment/)
    expect((await api(`/holds/${id}/approve`, 'bob', { comment: 'customer asked by phone' })).status).toBe(200)
  })

  it("the agent's owner cannot approve, an approver outside the group cannot, and agent keys never can", async () => {
    const id = (await post('/hold', { body: '{"marker":"owner-1"}' })).headers.get('airlock-hold-id')!
    const owner = await api(`/holds/${id}/approve`, 'alice', {})
    expect(owner.status).toBe(403)
    expect((await owner.json()).error.message).toMatch(/owns the agent/)
    const asAgent = await fetch(`${gw.url}/_airlock/api/holds/${id}/approve`, { method: 'POST', headers: { authorization: `Bearer ${keys.billing}` }, body: '{}' })
    expect(asAgent.status).toBe(401)
    const pay = (await post('/pay', { body: '{"marker":"group-1"}' })).headers.get('airlock-hold-id')!
    // Another group's hold does not exist for carol (approver-scope.test.ts guards the scoping in full).
    const outsider = await api(`/holds/${pay}/approve`, 'carol', {})
    expect(outsider.status).toBe(404)
    expect((await outsider.json()).error.message).toMatch(/in your approver groups/)
  })

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
      expect(view.deliveries[0]).toMatchObject({ event: 'hold.created', state: 'pending', last_status: 503, attempts: 1 })
      up = true
      await until(() => flaky.received.length >= 2, 8000)
      await until(async () => (await (await api(`/holds/${id}`, 'bob', undefined, other.url)).json()).deliveries[0].state === 'delivered')
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
      expect((await api(`/reviews/${b.id}`, 'bob', { verdict: 'flag', comment: 'should have been held' }, other.url)).status).toBe(200)
      await until(() => receiver.received.some((r) => JSON.parse(r.body.toString()).type === 'review.flagged'))
      const report = await (await api('/report', 'bob', undefined, other.url)).json()
      expect(report.review.find((r: { rule: string }) => r.rule === 't.review')).toMatchObject({ forwarded: total, sampled: list.reviews.length, reviewed: 2, flagged: 1 })
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
    for (const t of ['hold.created', 'hold.viewed', 'hold.approved', 'hold.denied', 'hold.executed', 'hold.expired']) expect(types).toContain(t)
    const approval = records.find((r: { type: string; actor: string }) => r.type === 'hold.approved' && r.actor === 'approver:bob')
    expect(approval.record).toMatchObject({ approver: 'bob', context_sha256: expect.stringMatching(/^[0-9a-f]{64}$/) })
  })
})
