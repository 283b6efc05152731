// One conformance suite for the hold store, run against every SqlDriver: node:sqlite on Node
// (test/unit/hold-store-sqlite.test.ts) and the Durable Object's SQLite inside workerd (test/worker/).
// hono's router suite is the model: the guarantees are written once, and each implementation must pass them all.
// No node:* imports here: this file also runs in workerd.
import { describe, expect, it } from 'vitest'
import { verifyChain } from '../../gateway/core/holds/audit.ts'
import type { SqlDriver } from '../../gateway/core/ports.ts'
import { HoldStore, type NewHold } from '../../gateway/core/holds/store.ts'
import type { Decision } from '../../gateway/core/policy/decision.ts'

const decision: Decision = {
  action: 'hold',
  reason: 'money moves',
  rule: 'stripe.refund_large',
  risk: 'high',
  summary: 'Refund $50.00 on ch_1',
  approvers: ['payments'],
  approvals_required: 1,
  require_comment: false,
  timeout_s: 900,
  sample_rate: 0,
}

let seq = 0
export function newHold(over: Partial<NewHold> = {}): NewHold {
  seq++
  return {
    id: `hold-${seq}`,
    created_at: 1_000 + seq,
    expires_at: 1_000_000,
    dedupe_key: `key-${seq}`,
    agent: { id: 'billing-bot', owner: 'alice@example.com' },
    route: 'stripe',
    method: 'POST',
    url: 'https://api.stripe.com/v1/refunds',
    headers: [['content-type', 'application/x-www-form-urlencoded']],
    body: new Uint8Array([97, 109, 111, 117, 110, 116, 61, 53, 48, 48, 48, 0, 255]),
    body_sha256: 'f'.repeat(64),
    intent: 'refund a duplicate',
    decision,
    decision_id: `d-${seq}`,
    policy_revision: 'r1',
    groups: ['payments'],
    ...over,
  }
}

const caps = { payments: 3, ops: 10 }
const noAudit = () => {}

export function runHoldStoreSuite(name: string, makeDriver: () => SqlDriver | Promise<SqlDriver>): void {
  describe(`HoldStore conformance: ${name}`, () => {
    const store = async () => new HoldStore(await makeDriver())

    it('migrates idempotently', async () => {
      const db = await makeDriver()
      new HoldStore(db)
      new HoldStore(db)
      expect(db.all<{ version: number }>('SELECT version FROM schema_version')[0]!.version).toBeGreaterThanOrEqual(1)
    })

    it('stores a hold with its exact body bytes and reads it back', async () => {
      const s = await store()
      const h = newHold()
      const { hold, created } = s.createOrJoin(h, caps, 0, noAudit)
      expect(created).toBe(true)
      expect(hold.state).toBe('pending')
      const back = s.get(h.id)!
      expect(Array.from(back.body!)).toEqual(Array.from(h.body!))
      expect(back.headers).toEqual(h.headers)
      expect(back.decision).toEqual(decision)
      expect(back.agent).toEqual(h.agent)
    })

    it('joins an identical request to the live hold instead of creating another', async () => {
      const s = await store()
      const a = s.createOrJoin(newHold({ dedupe_key: 'same' }), caps, 0, noAudit)
      const b = s.createOrJoin(newHold({ dedupe_key: 'same' }), caps, 0, noAudit)
      expect(b.created).toBe(false)
      expect(b.hold.id).toBe(a.hold.id)
      expect(s.all()).toHaveLength(1)
    })

    it('joins executed or denied holds only within the dedupe window', async () => {
      const s = await store()
      const a = s.createOrJoin(newHold({ dedupe_key: 'w' }), caps, 0, noAudit).hold
      expect(s.transition(a.id, ['pending'], 'denied', 5_000, { decided_at: 5_000 })).toBe(true)
      expect(s.createOrJoin(newHold({ dedupe_key: 'w' }), caps, 4_000, noAudit).created).toBe(false)
      expect(s.createOrJoin(newHold({ dedupe_key: 'w' }), caps, 6_000, noAudit).created).toBe(true)
    })

    it('refuses a new hold past the group cap, atomically, and counts pending per group', async () => {
      const s = await store()
      for (let i = 0; i < 3; i++) s.createOrJoin(newHold(), caps, 0, noAudit)
      expect(s.pendingCounts()).toEqual({ payments: 3 })
      expect(() => s.createOrJoin(newHold(), caps, 0, noAudit)).toThrow(/already has 3 requests waiting/)
      expect(s.all()).toHaveLength(3)
      s.createOrJoin(newHold({ groups: ['ops'] }), caps, 0, noAudit)
      expect(s.pendingCounts()).toEqual({ payments: 3, ops: 1 })
    })

    it('rolls back the hold when the audit append inside its transaction fails', async () => {
      const s = await store()
      const h = newHold()
      expect(() =>
        s.createOrJoin(h, caps, 0, () => {
          throw new Error('audit failed')
        }),
      ).toThrow('audit failed')
      expect(s.get(h.id)).toBeUndefined()
    })

    it('moves state by compare-and-set: only one claimer wins', async () => {
      const s = await store()
      const { hold } = s.createOrJoin(newHold(), caps, 0, noAudit)
      expect(s.transition(hold.id, ['approved'], 'executing', 2)).toBe(false)
      expect(s.addApproval(hold.id, { approver: 'bob', at: 2, comment: null, context_sha256: 'c', ms_from_notify: 1, ms_from_view: 1, fast: true }, true)).toBe(true)
      expect(s.get(hold.id)!.state).toBe('approved')
      expect(s.transition(hold.id, ['approved'], 'executing', 3)).toBe(true)
      expect(s.transition(hold.id, ['approved'], 'executing', 3)).toBe(false)
      expect(s.saveResponse(hold.id, { status: 201, headers: [['x', 'y']], body: new Uint8Array([1, 2, 3]), truncated: false }, 4)).toBe(true)
      expect(s.saveResponse(hold.id, { status: 500, headers: [], body: new Uint8Array(), truncated: false }, 5)).toBe(false)
      const done = s.get(hold.id)!
      expect(done.state).toBe('executed')
      expect(done.response!.status).toBe(201)
      expect(Array.from(done.response!.body)).toEqual([1, 2, 3])
      expect(done.response!.truncated).toBe(false)
    })

    it('remembers that a stored response was truncated at the cap', async () => {
      const s = await store()
      const { hold } = s.createOrJoin(newHold(), caps, 0, noAudit)
      s.addApproval(hold.id, { approver: 'bob', at: 2, comment: null, context_sha256: 'c', ms_from_notify: 1, ms_from_view: 1, fast: true }, true)
      s.transition(hold.id, ['approved'], 'executing', 3)
      s.saveResponse(hold.id, { status: 200, headers: [], body: new Uint8Array([9]), truncated: true }, 4)
      expect(s.get(hold.id)!.response!.truncated).toBe(true)
    })

    it('records each approver once and only while pending', async () => {
      const s = await store()
      const { hold } = s.createOrJoin(newHold(), caps, 0, noAudit)
      const approval = { approver: 'bob', at: 2, comment: 'ok', context_sha256: 'c', ms_from_notify: 1, ms_from_view: 1, fast: false }
      expect(s.addApproval(hold.id, approval, false)).toBe(true)
      expect(s.addApproval(hold.id, approval, false)).toBe(false)
      expect(s.addApproval(hold.id, { ...approval, approver: 'carol' }, true)).toBe(true)
      expect(s.addApproval(hold.id, { ...approval, approver: 'dan' }, true)).toBe(false)
      expect(s.get(hold.id)!.approvals.map((a) => a.approver)).toEqual(['bob', 'carol'])
    })

    it('lists due expiries and holds by state', async () => {
      const s = await store()
      const a = s.createOrJoin(newHold({ expires_at: 10 }), caps, 0, noAudit).hold
      s.createOrJoin(newHold({ expires_at: 100 }), caps, 0, noAudit)
      expect(s.idsIn('pending', 50)).toEqual([a.id])
      expect(s.idsIn('pending')).toHaveLength(2)
      expect(s.list({ state: 'pending', group: 'payments' })).toHaveLength(2)
      expect(s.list({ state: 'pending', group: 'ops' })).toHaveLength(0)
    })

    it('queues webhook deliveries, hands out due ones, and records outcomes', async () => {
      const s = await store()
      s.enqueueDelivery({ hold_id: 'h', event: 'hold.created', grp: 'payments', hook: 0, payload: '{}' }, 100)
      expect(s.dueDeliveries(99)).toHaveLength(0)
      const [d] = s.dueDeliveries(100)
      s.recordDelivery(d!.id, { state: 'pending', status: 503, error: 'down', next_at: 200, at: 100 })
      expect(s.dueDeliveries(150)).toHaveLength(0)
      expect(s.nextDeliveryAt()).toBe(200)
      s.recordDelivery(d!.id, { state: 'delivered', status: 200, error: null, next_at: 200, at: 210 })
      expect(s.deliveries('h')[0]).toMatchObject({ state: 'delivered', attempts: 2, last_status: 200, delivered_at: 210 })
      expect(s.notifiedAt('h')).toBe(210)
      expect(s.nextDeliveryAt()).toBeNull()
    })

    it('keeps the review queue and forwarded counts', async () => {
      const s = await store()
      s.countForwarded('r1')
      s.countForwarded('r1')
      s.addReview({ id: 'rv1', decision_id: 'd', created_at: 1, agent_id: 'a', route: 'x', rule: 'r1', summary: 's', context: { k: [1] }, upstream_status: 200 })
      expect(s.forwardedCounts()).toEqual({ r1: 2 })
      expect(s.reviews('pending')[0]).toMatchObject({ id: 'rv1', context: { k: [1] } })
      expect(s.markReview('rv1', 'flagged', 'bob', 'no', 5)).toBe(true)
      expect(s.markReview('rv1', 'ok', 'bob', null, 6)).toBe(false)
      expect(s.getReview('rv1')).toMatchObject({ state: 'flagged', reviewer: 'bob', comment: 'no' })
    })

    it("scopes listings, review items and audit records to a reader's groups in the query (approver scoping)", async () => {
      const s = await store()
      const pay = s.createOrJoin(newHold({ groups: ['payments'] }), caps, 0, noAudit).hold
      const ops = s.createOrJoin(newHold({ groups: ['ops', 'security'] }), { ...caps, security: 5 }, 0, noAudit).hold
      expect(s.list({ groups: ['ops'] }).map((h) => h.id)).toEqual([ops.id])
      expect(s.list({ groups: ['ops', 'payments'], limit: 1, state: 'pending' }).map((h) => h.id)).toEqual([pay.id])
      expect(s.list({ groups: ['nobody'] })).toEqual([])
      expect(s.list({ groups: [] })).toEqual([])
      expect(s.list({ group: 'security' }).map((h) => h.id)).toEqual([ops.id])
      expect(s.all(['payments']).map((h) => h.id)).toEqual([pay.id])
      expect(s.all()).toHaveLength(2)
      const review = (id: string, context: unknown) =>
        s.addReview({ id, decision_id: 'd', created_at: 1, agent_id: 'a', route: 'x', rule: id, summary: 's', context, upstream_status: 200 })
      review('rv-pay', { approvers: ['payments'] })
      review('rv-none', { approvers: [] })
      review('rv-missing', { reason: 'no approvers key' })
      expect(s.reviews(undefined, ['ops']).map((r) => r.id)).toEqual(['rv-none', 'rv-missing'])
      expect(s.reviews('pending', ['payments']).map((r) => r.id)).toEqual(['rv-pay', 'rv-none', 'rv-missing'])
      expect(s.reviews()).toHaveLength(3)
      s.appendAudit('hold.created', 'policy:x', pay.id, {}, 1)
      s.appendAudit('hold.created', 'policy:y', ops.id, {}, 2)
      s.appendAudit('review.sampled', 'policy:z', null, { review_id: 'rv-pay' }, 3)
      s.appendAudit('review.sampled', 'policy:z', null, { review_id: 'rv-none' }, 4)
      expect(s.auditRecords(['ops']).map((r) => r.seq)).toEqual([2, 4])
      expect(s.auditRecords(['payments']).map((r) => r.seq)).toEqual([1, 3, 4])
      expect(s.auditRecords()).toHaveLength(4)
    })

    it('appends a hash chain that verifies, and detects an edited or removed record', async () => {
      const db = await makeDriver()
      const s = new HoldStore(db)
      for (let i = 0; i < 5; i++) s.appendAudit('hold.approved', `approver:${i}`, `h${i}`, { comment: `c${i}`, n: i }, 10 + i)
      expect(verifyChain(s.auditRecords())).toMatchObject({ ok: true, records: 5 })
      db.run(`UPDATE audit SET record = ? WHERE seq = 3`, JSON.stringify({ comment: 'changed', n: 2 }))
      expect(verifyChain(s.auditRecords()).problems.join()).toMatch(/seq 3: content does not match/)
      db.run(`DELETE FROM audit WHERE seq = 2`)
      expect(verifyChain(s.auditRecords()).problems.join()).toMatch(/removed or reordered/)
    })
  })
}
