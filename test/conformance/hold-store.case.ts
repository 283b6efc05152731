// One conformance suite for the hold store, run against every implementation: node:sqlite on Node
// (test/unit/hold-store-sqlite.test.ts), the Durable Object's SQLite inside workerd (test/worker/) and PostgreSQL
// (test/integration/hold-store-postgres.test.ts). Every call is awaited: the SQLite store answers synchronously, the
// PostgreSQL one with promises (holds/store-port.ts).
// hono's router suite is the model: the guarantees are written once, and each implementation must pass them all.
// No node:* imports here: this file also runs in workerd.
import { describe, expect, it } from 'vitest'
import { verifyChain } from '../../gateway/core/holds/audit.ts'
import type { NewGrant } from '../../gateway/core/holds/grants.ts'
import { HoldStore, type NewHold } from '../../gateway/core/holds/store.ts'
import type { HoldStorePort } from '../../gateway/core/holds/store-port.ts'
import type { Decision } from '../../gateway/core/policy/decision.ts'
import type { SqlDriver } from '../../gateway/core/ports.ts'

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
const noAudit = () => undefined

/** One store under test, on a fresh, empty database. */
export interface StoreSubject {
  store: HoldStorePort
  /** Runs a raw statement without parameters (tests that tamper with rows on purpose). */
  exec(sql: string): unknown
  /** Runs the migrations again and returns the schema version. */
  remigrate(): number | Promise<number>
  /** The store leases the due deliveries it hands out (one gateway of several sends each). */
  leasesDeliveries?: boolean
}

/** The SQLite store over a SqlDriver, as a subject. */
export function sqliteSubject(db: SqlDriver): StoreSubject {
  return {
    store: new HoldStore(db),
    exec: (sql) => db.run(sql),
    remigrate: () => {
      new HoldStore(db)
      return db.all<{ version: number }>('SELECT version FROM schema_version')[0]!.version
    },
  }
}

export function runHoldStoreSuite(name: string, open: () => StoreSubject | Promise<StoreSubject>): void {
  describe(`HoldStore conformance: ${name}`, () => {
    const store = async () => (await open()).store

    it('migrates idempotently', async () => {
      const subject = await open()
      const first = await subject.remigrate()
      expect(first).toBeGreaterThanOrEqual(1)
      expect(await subject.remigrate()).toBe(first)
    })

    it('stores a hold with its exact body bytes and reads it back', async () => {
      const s = await store()
      const h = newHold()
      const { hold, created } = await s.createOrJoin(h, caps, 0, noAudit)
      expect(created).toBe(true)
      expect(hold.state).toBe('pending')
      const back = (await s.get(h.id))!
      expect(Array.from(back.body!)).toEqual(Array.from(h.body!))
      expect(back.headers).toEqual(h.headers)
      expect(back.decision).toEqual(decision)
      expect(back.agent).toEqual(h.agent)
    })

    it('joins an identical request to the live hold instead of creating another', async () => {
      const s = await store()
      const a = await s.createOrJoin(newHold({ dedupe_key: 'same' }), caps, 0, noAudit)
      const b = await s.createOrJoin(newHold({ dedupe_key: 'same' }), caps, 0, noAudit)
      expect(b.created).toBe(false)
      expect(b.hold.id).toBe(a.hold.id)
      expect(await s.all()).toHaveLength(1)
    })

    it('joins executed or denied holds only within the dedupe window', async () => {
      const s = await store()
      const a = (await s.createOrJoin(newHold({ dedupe_key: 'w' }), caps, 0, noAudit)).hold
      expect(await s.transition(a.id, ['pending'], 'denied', 5_000, { decided_at: 5_000 })).toBe(true)
      expect((await s.createOrJoin(newHold({ dedupe_key: 'w' }), caps, 4_000, noAudit)).created).toBe(false)
      expect((await s.createOrJoin(newHold({ dedupe_key: 'w' }), caps, 6_000, noAudit)).created).toBe(true)
    })

    it('refuses a new hold past the group cap, atomically, and counts pending per group', async () => {
      const s = await store()
      for (let i = 0; i < 3; i++) await s.createOrJoin(newHold(), caps, 0, noAudit)
      expect(await s.pendingCounts()).toEqual({ payments: 3 })
      await expect(async () => s.createOrJoin(newHold(), caps, 0, noAudit)).rejects.toThrow(
        /already has 3 requests waiting/,
      )
      expect(await s.all()).toHaveLength(3)
      await s.createOrJoin(newHold({ groups: ['ops'] }), caps, 0, noAudit)
      expect(await s.pendingCounts()).toEqual({ payments: 3, ops: 1 })
    })

    it('rolls back the hold when the audit append inside its transaction fails', async () => {
      const s = await store()
      const h = newHold()
      await expect(async () =>
        s.createOrJoin(h, caps, 0, () => {
          throw new Error('audit failed')
        }),
      ).rejects.toThrow('audit failed')
      expect(await s.get(h.id)).toBeUndefined()
    })

    it('moves state by compare-and-set: only one claimer wins', async () => {
      const s = await store()
      const { hold } = await s.createOrJoin(newHold(), caps, 0, noAudit)
      expect(await s.transition(hold.id, ['approved'], 'executing', 2)).toBe(false)
      expect(
        await s.addApproval(
          hold.id,
          {
            approver: 'bob',
            at: 2,
            comment: null,
            context_sha256: 'c',
            ms_from_notify: 1,
            ms_from_view: 1,
            fast: true,
          },
          true,
        ),
      ).toBe(true)
      expect((await s.get(hold.id))!.state).toBe('approved')
      expect(await s.transition(hold.id, ['approved'], 'executing', 3)).toBe(true)
      expect(await s.transition(hold.id, ['approved'], 'executing', 3)).toBe(false)
      expect(
        await s.saveResponse(
          hold.id,
          { status: 201, headers: [['x', 'y']], body: new Uint8Array([1, 2, 3]), truncated: false },
          4,
        ),
      ).toBe(true)
      expect(
        await s.saveResponse(hold.id, { status: 500, headers: [], body: new Uint8Array(), truncated: false }, 5),
      ).toBe(false)
      const done = (await s.get(hold.id))!
      expect(done.state).toBe('executed')
      expect(done.response!.status).toBe(201)
      expect(Array.from(done.response!.body)).toEqual([1, 2, 3])
      expect(done.response!.truncated).toBe(false)
    })

    it('remembers that a stored response was truncated at the cap', async () => {
      const s = await store()
      const { hold } = await s.createOrJoin(newHold(), caps, 0, noAudit)
      await s.addApproval(
        hold.id,
        { approver: 'bob', at: 2, comment: null, context_sha256: 'c', ms_from_notify: 1, ms_from_view: 1, fast: true },
        true,
      )
      await s.transition(hold.id, ['approved'], 'executing', 3)
      await s.saveResponse(hold.id, { status: 200, headers: [], body: new Uint8Array([9]), truncated: true }, 4)
      expect((await s.get(hold.id))!.response!.truncated).toBe(true)
    })

    it('records each approver once and only while pending', async () => {
      const s = await store()
      const { hold } = await s.createOrJoin(newHold(), caps, 0, noAudit)
      const approval = {
        approver: 'bob',
        at: 2,
        comment: 'ok',
        context_sha256: 'c',
        ms_from_notify: 1,
        ms_from_view: 1,
        fast: false,
      }
      expect(await s.addApproval(hold.id, approval, false)).toBe(true)
      expect(await s.addApproval(hold.id, approval, false)).toBe(false)
      expect(await s.addApproval(hold.id, { ...approval, approver: 'carol' }, true)).toBe(true)
      expect(await s.addApproval(hold.id, { ...approval, approver: 'dan' }, true)).toBe(false)
      expect((await s.get(hold.id))!.approvals.map((a) => a.approver)).toEqual(['bob', 'carol'])
    })

    it('lists due expiries and holds by state', async () => {
      const s = await store()
      const a = (await s.createOrJoin(newHold({ expires_at: 10 }), caps, 0, noAudit)).hold
      await s.createOrJoin(newHold({ expires_at: 100 }), caps, 0, noAudit)
      expect(await s.idsIn('pending', 50)).toEqual([a.id])
      expect(await s.idsIn('pending')).toHaveLength(2)
      expect(await s.list({ state: 'pending', group: 'payments' })).toHaveLength(2)
      expect(await s.list({ state: 'pending', group: 'ops' })).toHaveLength(0)
    })

    it('answers when the earliest pending hold expires (the Durable Object arms its alarm for it)', async () => {
      const s = await store()
      expect(await s.nextExpiryAt()).toBeNull()
      const a = (await s.createOrJoin(newHold({ expires_at: 500 }), caps, 0, noAudit)).hold
      await s.createOrJoin(newHold({ expires_at: 300 }), caps, 0, noAudit)
      const b = (await s.createOrJoin(newHold({ expires_at: 200 }), caps, 0, noAudit)).hold
      expect(await s.nextExpiryAt()).toBe(200)
      // Only pending holds expire: a decided one no longer counts.
      expect(await s.transition(b.id, ['pending'], 'denied', 1)).toBe(true)
      expect(await s.nextExpiryAt()).toBe(300)
      expect(await s.transition(a.id, ['pending'], 'expired', 1)).toBe(true)
      expect(await s.nextExpiryAt()).toBe(300)
    })

    it('queues webhook deliveries, hands out due ones, and records outcomes', async () => {
      const s = await store()
      await s.enqueueDelivery({ hold_id: 'h', event: 'hold.created', grp: 'payments', hook: 0, payload: '{}' }, 100)
      expect(await s.dueDeliveries(99)).toHaveLength(0)
      const [d] = await s.dueDeliveries(100)
      await s.recordDelivery(d!.id, { state: 'pending', status: 503, error: 'down', next_at: 200, at: 100 })
      expect(await s.dueDeliveries(150)).toHaveLength(0)
      expect(await s.nextDeliveryAt()).toBe(200)
      await s.recordDelivery(d!.id, { state: 'delivered', status: 200, error: null, next_at: 200, at: 210 })
      expect((await s.deliveries('h'))[0]).toMatchObject({
        state: 'delivered',
        attempts: 2,
        last_status: 200,
        delivered_at: 210,
      })
      expect(await s.notifiedAt('h')).toBe(210)
      expect(await s.nextDeliveryAt()).toBeNull()
    })

    it('hands a due delivery out once until its outcome is recorded or its lease runs out (stores that lease)', async (ctx) => {
      const subject = await open()
      if (!subject.leasesDeliveries) return ctx.skip()
      const s = subject.store
      await s.enqueueDelivery({ hold_id: 'h', event: 'hold.created', grp: 'payments', hook: 0, payload: '{}' }, 100)
      const [first, second] = await Promise.all([s.dueDeliveries(100), s.dueDeliveries(100)])
      expect([...first, ...second]).toHaveLength(1)
      expect(await s.dueDeliveries(101)).toHaveLength(0)
      // The claimer never recorded an outcome (it died): after the lease, the delivery is due again, for anyone.
      const again = await s.dueDeliveries(100 + 10 * 60_000)
      expect(again.map((d) => d.id)).toEqual([...first, ...second].map((d) => d.id))
    })

    it('keeps the review queue and forwarded counts', async () => {
      const s = await store()
      await s.countForwarded('r1')
      await s.countForwarded('r1')
      await s.addReview({
        id: 'rv1',
        decision_id: 'd',
        created_at: 1,
        agent_id: 'a',
        route: 'x',
        rule: 'r1',
        summary: 's',
        context: { k: [1] },
        upstream_status: 200,
      })
      expect(await s.forwardedCounts()).toEqual({ r1: 2 })
      expect((await s.reviews('pending'))[0]).toMatchObject({ id: 'rv1', context: { k: [1] } })
      expect(await s.markReview('rv1', 'flagged', 'bob', 'no', 5)).toBe(true)
      expect(await s.markReview('rv1', 'ok', 'bob', null, 6)).toBe(false)
      expect(await s.getReview('rv1')).toMatchObject({ state: 'flagged', reviewer: 'bob', comment: 'no' })
    })

    it("scopes listings, review items and audit records to a reader's groups in the query (approver scoping)", async () => {
      const s = await store()
      const pay = (await s.createOrJoin(newHold({ groups: ['payments'] }), caps, 0, noAudit)).hold
      const ops = (await s.createOrJoin(newHold({ groups: ['ops', 'security'] }), { ...caps, security: 5 }, 0, noAudit))
        .hold
      expect((await s.list({ groups: ['ops'] })).map((h) => h.id)).toEqual([ops.id])
      expect((await s.list({ groups: ['ops', 'payments'], limit: 1, state: 'pending' })).map((h) => h.id)).toEqual([
        pay.id,
      ])
      expect(await s.list({ groups: ['nobody'] })).toEqual([])
      expect(await s.list({ groups: [] })).toEqual([])
      expect((await s.list({ group: 'security' })).map((h) => h.id)).toEqual([ops.id])
      expect((await s.all(['payments'])).map((h) => h.id)).toEqual([pay.id])
      expect(await s.all()).toHaveLength(2)
      const review = (id: string, context: unknown) =>
        s.addReview({
          id,
          decision_id: 'd',
          created_at: 1,
          agent_id: 'a',
          route: 'x',
          rule: id,
          summary: 's',
          context,
          upstream_status: 200,
        })
      await review('rv-pay', { approvers: ['payments'] })
      await review('rv-none', { approvers: [] })
      await review('rv-missing', { reason: 'no approvers key' })
      expect((await s.reviews(undefined, ['ops'])).map((r) => r.id)).toEqual(['rv-none', 'rv-missing'])
      expect((await s.reviews('pending', ['payments'])).map((r) => r.id)).toEqual(['rv-pay', 'rv-none', 'rv-missing'])
      expect(await s.reviews()).toHaveLength(3)
      await s.appendAudit('hold.created', 'policy:x', pay.id, {}, 1)
      await s.appendAudit('hold.created', 'policy:y', ops.id, {}, 2)
      await s.appendAudit('review.sampled', 'policy:z', null, { review_id: 'rv-pay' }, 3)
      await s.appendAudit('review.sampled', 'policy:z', null, { review_id: 'rv-none' }, 4)
      expect((await s.auditRecords(['ops'])).map((r) => r.seq)).toEqual([2, 4])
      expect((await s.auditRecords(['payments'])).map((r) => r.seq)).toEqual([1, 3, 4])
      expect(await s.auditRecords()).toHaveLength(4)
    })

    it('appends a hash chain that verifies, and detects an edited or removed record', async () => {
      const subject = await open()
      const s = subject.store
      for (let i = 0; i < 5; i++)
        await s.appendAudit('hold.approved', `approver:${i}`, `h${i}`, { comment: `c${i}`, n: i }, 10 + i)
      expect(verifyChain(await s.auditRecords())).toMatchObject({ ok: true, records: 5 })
      await subject.exec(`UPDATE audit SET record = '${JSON.stringify({ comment: 'changed', n: 2 })}' WHERE seq = 3`)
      expect(verifyChain(await s.auditRecords()).problems.join()).toMatch(/seq 3: content does not match/)
      await subject.exec(`DELETE FROM audit WHERE seq = 2`)
      expect(verifyChain(await s.auditRecords()).problems.join()).toMatch(/removed or reordered/)
    })

    // Grants (holds/grants.ts): the use limit, expiry and revocation are the database's, never a process's memory.
    const grant = (over: Partial<NewGrant> = {}): NewGrant => ({
      id: `g-${++seq}`,
      hold_id: 'hold-x',
      rule: 'stripe.refund_large',
      agent_id: 'billing-bot',
      route: 'stripe',
      groups: ['payments'],
      created_by: 'alice',
      created_at: 1_000,
      expires_at: 10_000,
      max_uses: 5,
      bounds: [{ in: 'body', field: 'customer', op: 'equals', value: 'cus_1' }],
      ...over,
    })
    const used = (id: string) => ({
      type: 'grant.used',
      actor: 'agent:billing-bot',
      record: { decision_id: `d-${id}` },
    })

    it('grants: exactly max_uses of 20 concurrent uses succeed, each audited in the chain', async () => {
      const s = await store()
      const g = await s.createGrant(grant(), {
        type: 'grant.created',
        actor: 'approver:alice',
        record: { max_uses: 5 },
      })
      expect(g).toMatchObject({
        uses: 0,
        max_uses: 5,
        groups: ['payments'],
        revoked_at: null,
        bounds: [{ field: 'customer', value: 'cus_1' }],
      })
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          s.useGrant(g.id, { agent_id: 'billing-bot', route: 'stripe', now: 2_000 }, used(String(i))),
        ),
      )
      const won = results.filter((r) => r !== undefined)
      expect(won).toHaveLength(5)
      expect(won.map((r) => r!.uses).sort()).toEqual([1, 2, 3, 4, 5])
      expect((await s.getGrant(g.id))!.uses).toBe(5)
      expect(await s.liveGrants('billing-bot', 2_000)).toEqual([])
      const audit = await s.auditRecords()
      expect(audit.filter((r) => r.type === 'grant.used')).toHaveLength(5)
      expect(audit.find((r) => r.type === 'grant.created')).toMatchObject({
        hold_id: 'hold-x',
        actor: 'approver:alice',
      })
      expect(verifyChain(audit)).toMatchObject({ ok: true, records: 6 })
    })

    it('grants: refused once expired, for another agent or route, and at once after a revoke', async () => {
      const s = await store()
      const a = await s.createGrant(grant(), { type: 'grant.created', actor: 'approver:alice', record: {} })
      const b = await s.createGrant(grant({ agent_id: 'other-bot' }), {
        type: 'grant.created',
        actor: 'approver:alice',
        record: {},
      })
      expect((await s.liveGrants('billing-bot', 2_000)).map((g) => g.id)).toEqual([a.id])
      expect((await s.grantAgents(2_000)).sort()).toEqual(['billing-bot', 'other-bot'])
      expect(await s.liveGrants('billing-bot', 10_000)).toEqual([])
      expect(
        await s.useGrant(a.id, { agent_id: 'billing-bot', route: 'stripe', now: 10_000 }, used('late')),
      ).toBeUndefined()
      expect(await s.useGrant(a.id, { agent_id: 'other-bot', route: 'stripe', now: 2_000 }, used('x'))).toBeUndefined()
      expect(
        await s.useGrant(a.id, { agent_id: 'billing-bot', route: 'github', now: 2_000 }, used('y')),
      ).toBeUndefined()
      expect(
        await s.useGrant(a.id, { agent_id: 'billing-bot', route: 'stripe', now: 2_000 }, used('ok')),
      ).toMatchObject({ uses: 1 })
      expect(
        await s.revokeGrant(a.id, 'bob', 3_000, { type: 'grant.revoked', actor: 'approver:bob', record: {} }),
      ).toBe(true)
      expect(
        await s.revokeGrant(a.id, 'bob', 3_001, { type: 'grant.revoked', actor: 'approver:bob', record: {} }),
      ).toBe(false)
      expect(
        await s.useGrant(a.id, { agent_id: 'billing-bot', route: 'stripe', now: 3_000 }, used('after')),
      ).toBeUndefined()
      expect(await s.getGrant(a.id)).toMatchObject({ uses: 1, revoked_at: 3_000, revoked_by: 'bob' })
      expect(await s.liveGrants('billing-bot', 3_000)).toEqual([])
      expect((await s.liveGrants('other-bot', 3_000)).map((g) => g.id)).toEqual([b.id])
    })

    it("grants: listed in a reader's scope, newest first", async () => {
      const s = await store()
      const pay = await s.createGrant(grant({ created_at: 1 }), {
        type: 'grant.created',
        actor: 'approver:alice',
        record: {},
      })
      const ops = await s.createGrant(grant({ created_at: 2, groups: ['ops'] }), {
        type: 'grant.created',
        actor: 'approver:alice',
        record: {},
      })
      expect((await s.grants()).map((g) => g.id)).toEqual([ops.id, pay.id])
      expect((await s.grants(['payments'])).map((g) => g.id)).toEqual([pay.id])
      expect(await s.grants(['nobody'])).toEqual([])
    })
  })
}
