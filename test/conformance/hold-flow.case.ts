// One hold-flow suite, run against every runtime: the Node gateway in process (test/integration/holds.test.ts) and
// the Worker with its holds Durable Object inside workerd (test/worker/holds.test.ts). Like the store suite
// (hold-store.case.ts), the guarantees an agent and an approver rely on are written once; each runtime supplies a
// harness that reaches its gateway, its upstream and its webhook receiver. Both run the same rules
// (test/support/holds-policy.ts), the same approvers and the same holds settings.
// No node:* imports here: this file also runs in workerd.
import { describe, expect, it } from 'vitest'
import { verifySignature } from '../../gateway/core/holds/webhooks.ts'

/** A request the fake upstream or webhook receiver got. */
export interface Received {
  body: string
  headers: Record<string, string | string[] | undefined>
}

export interface HoldFlowHarness {
  /** POST /api<path> as billing-bot (key, JSON body, Airlock-Intent: refund a duplicate charge). */
  post(path: string, opts?: { body?: string; prefer?: string }): Promise<Response>
  /** The approver API (/_airlock/api<path>) with an approver's token: GET, or POST with a JSON body. */
  api(path: string, who: 'alice' | 'bob' | 'carol', body?: object): Promise<Response>
  /** Any request to the gateway, e.g. an agent polling its hold or trying the approver API with its key. */
  gateway(path: string, init?: RequestInit): Promise<Response>
  /** What the upstream received, in order. */
  upstream(): Promise<Received[]>
  /** What the webhook receiver received, in order. */
  hooks(): Promise<Received[]>
  /** The decision log lines written so far. */
  decisions(): Promise<Record<string, any>[]>
  /** The route's upstream origin as the holds show it. */
  upstreamUrl: string
  keys: { billing: string; dev: string }
  secrets: { webhook: string; upstreamToken: string }
}

export async function until(pred: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!(await pred())) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 25))
  }
}

export function runHoldFlowSuite(name: string, h: HoldFlowHarness): void {
  /** A marker unique to this run: the store persists across tests (and, in workerd, across files of one run). */
  const mark = (label: string) => `${label}-${crypto.randomUUID()}`
  const body = (marker: string) => JSON.stringify({ marker })
  const toUpstream = async (marker: string) => (await h.upstream()).filter((r) => r.body.includes(marker))
  const hooksFor = async (holdId: string, event?: string) =>
    (await h.hooks())
      .map((r) => ({ r, body: JSON.parse(r.body) }))
      .filter((x) => x.body.hold?.id === holdId && (!event || x.body.type === event))
  const holdIdOf = (res: Response) => res.headers.get('airlock-hold-id')!

  describe(`hold flow: ${name}`, () => {
    describe('hold → webhook → approve → execute', () => {
      it('stores the hold, signs the webhook, executes the exact bytes once after approval, and the waiting agent gets the upstream response', async () => {
        const marker = mark('sync')
        const sent = JSON.stringify({ marker, amount: 5000, note: 'exact bytes  with  spacing' })
        const agent = h.post('/hold', { body: sent, prefer: 'wait=10' })

        await until(async () => (await h.hooks()).some((r) => r.body.includes(marker)))
        const hook = (await h.hooks()).find((r) => r.body.includes(marker))!
        const raw = hook.body
        const signature = hook.headers['airlock-signature'] as string
        const now = Date.now() / 1000
        expect(await verifySignature(h.secrets.webhook, raw, signature, now)).toBe(true)
        expect(await verifySignature('wrong-secret', raw, signature, now)).toBe(false)
        expect(await verifySignature(h.secrets.webhook, raw.replace('5000', '5001'), signature, now)).toBe(false)
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
          request: { method: 'POST', url: `${h.upstreamUrl}/hold` },
        })
        expect(event.hold.request.body_preview).toContain(`"marker": "${marker}"`)
        expect(event.links.approve).toBe(`https://airlock.example.com/_airlock/api/holds/${event.hold.id}/approve`)
        expect(event.links.console).toBe(`https://airlock.example.com/_airlock/console/holds/${event.hold.id}`)
        expect(raw).not.toContain(h.keys.billing)
        expect(raw).not.toContain(h.secrets.upstreamToken)
        expect(await toUpstream(marker)).toHaveLength(0)

        const view = await (await h.api(`/holds/${event.hold.id}`, 'bob')).json()
        expect(view.state).toBe('pending')
        expect(view.context_sha256).toMatch(/^[0-9a-f]{64}$/)
        const approved = await h.api(`/holds/${event.hold.id}/approve`, 'bob', {
          comment: 'checked the duplicate',
          context_sha256: view.context_sha256,
        })
        expect(approved.status).toBe(200)

        const res = await agent
        expect(res.status).toBe(200)
        expect(holdIdOf(res)).toBe(event.hold.id)
        expect(await res.json()).toMatchObject({ method: 'POST', url: '/hold' })
        const upstream = await toUpstream(marker)
        expect(upstream).toHaveLength(1)
        expect(upstream[0]!.body).toBe(sent)
        expect(upstream[0]!.headers.authorization).toBe(`Bearer ${h.secrets.upstreamToken}`)
        expect(upstream[0]!.headers['idempotency-key']).toBe(`airlock-hold-${event.hold.id}`)
        await until(async () => (await hooksFor(event.hold.id, 'hold.executed')).length === 1)
        expect(await hooksFor(event.hold.id, 'hold.decided')).toHaveLength(1)
        await until(async () => (await h.decisions()).some((l) => l.hold_id === event.hold.id && l.status === 200))
        expect((await h.decisions()).find((l) => l.hold_id === event.hold.id && l.status === 200)).toMatchObject({
          action: 'hold',
          rule: 't.hold',
        })
      })
    })

    describe('what the agent sees', () => {
      it('still pending after the wait: a non-2xx with Retry-After, Airlock-Hold-Id and a body an LLM can act on', async () => {
        const res = await h.post('/hold', { body: body(mark('pending')) })
        expect(res.status).toBe(409)
        expect(res.headers.get('retry-after')).toBe('7')
        expect(res.headers.get('airlock-error-code')).toBe('AIRLOCK_HOLD_PENDING')
        const id = res.headers.get('airlock-hold-id')
        expect(id).toBeTruthy()
        const json = await res.json()
        expect(json.error).toMatchObject({
          code: 'AIRLOCK_HOLD_PENDING',
          hold_id: id,
          state: 'pending',
          rule: 't.hold',
        })
        expect(json.error.message).toMatch(/NOT been executed/)
        expect(json.error.message).toMatch(/Retry the identical request/)
      })

      it('Prefer: respond-async → 202 with Location; the poll gives the state, then the stored upstream response', async () => {
        const marker = mark('async')
        const res = await h.post('/hold', { body: body(marker), prefer: 'respond-async' })
        expect(res.status).toBe(202)
        const location = res.headers.get('location')!
        expect(location).toMatch(/^\/_airlock\/holds\//)
        const poll = (key: string) => h.gateway(location, { headers: { 'airlock-agent-key': key } })
        expect((await poll(h.keys.billing)).status).toBe(202)
        expect((await poll(h.keys.dev)).status).toBe(404)
        const id = holdIdOf(res)
        await h.api(`/holds/${id}`, 'carol')
        await new Promise((r) => setTimeout(r, 60))
        expect((await h.api(`/holds/${id}/approve`, 'carol', {})).status).toBe(200)
        await until(async () => (await poll(h.keys.billing)).status === 200)
        const done = await poll(h.keys.billing)
        expect(await done.json()).toMatchObject({ method: 'POST', url: '/hold' })
        expect(await toUpstream(marker)).toHaveLength(1)
      })

      it('dedupes retries: one hold, one notification, one upstream call; the retry after execution gets the stored response', async () => {
        const marker = mark('dedupe')
        const first = await h.post('/hold', { body: body(marker) })
        expect(first.status).toBe(409)
        expect(first.headers.get('airlock-error-code')).toBe('AIRLOCK_HOLD_PENDING')
        const second = await h.post('/hold', { body: body(marker) })
        const id = holdIdOf(first)
        expect(holdIdOf(second)).toBe(id)
        // Each retry has its own decision (and log line); the body names the decision that created the hold.
        expect(second.headers.get('airlock-decision-id')).not.toBe(first.headers.get('airlock-decision-id'))
        expect((await second.json()).error.hold_decision_id).toBe(first.headers.get('airlock-decision-id'))
        await until(async () =>
          (await h.decisions()).some((l) => l.decision_id === second.headers.get('airlock-decision-id')),
        )
        expect(
          (await h.decisions()).find((l) => l.decision_id === second.headers.get('airlock-decision-id')),
        ).toMatchObject({ hold_id: id, error_code: 'AIRLOCK_HOLD_PENDING', status: 409 })
        await until(async () => (await hooksFor(id, 'hold.created')).length >= 1)
        expect((await h.api(`/holds/${id}/approve`, 'bob', { comment: 'ok' })).status).toBe(200)
        await until(async () => (await toUpstream(marker)).length === 1)
        await until(async () => (await h.post('/hold', { body: body(marker) })).status === 200)
        const again = await h.post('/hold', { body: body(marker) })
        expect(again.status).toBe(200)
        expect(holdIdOf(again)).toBe(id)
        expect(await again.json()).toMatchObject({ url: '/hold' })
        expect(await toUpstream(marker)).toHaveLength(1)
        expect(await hooksFor(id, 'hold.created')).toHaveLength(1)
      })

      it('denied with a comment → 403 carrying the comment; the upstream never sees it', async () => {
        const marker = mark('deny')
        const res = await h.post('/hold', { body: body(marker) })
        const id = holdIdOf(res)
        expect((await h.api(`/holds/${id}/deny`, 'carol', { comment: 'wrong customer' })).status).toBe(200)
        const retry = await h.post('/hold', { body: body(marker) })
        expect(retry.status).toBe(403)
        const json = await retry.json()
        expect(json.error).toMatchObject({ code: 'AIRLOCK_HOLD_DENIED', hold_id: id })
        expect(json.error.message).toContain('wrong customer')
        expect(await toUpstream(marker)).toHaveLength(0)
      })
    })

    describe('deciding', () => {
      it('executes once under concurrent approvals', async () => {
        const marker = mark('race')
        const id = holdIdOf(await h.post('/hold', { body: body(marker) }))
        const results = await Promise.all(
          [...Array(6)].map((_, i) => h.api(`/holds/${id}/approve`, i % 2 ? 'bob' : 'carol', {})),
        )
        expect(results.filter((r) => r.status === 200)).toHaveLength(1)
        expect(results.filter((r) => r.status === 409)).toHaveLength(5)
        await until(async () => (await toUpstream(marker)).length === 1)
        await new Promise((r) => setTimeout(r, 300))
        expect(await toUpstream(marker)).toHaveLength(1)
      })

      it('two-person rule: needs two distinct approvers', async () => {
        const marker = mark('two')
        const id = holdIdOf(await h.post('/two', { body: body(marker) }))
        expect((await h.api(`/holds/${id}/approve`, 'bob', {})).status).toBe(200)
        expect((await (await h.api(`/holds/${id}`, 'bob')).json()).state).toBe('pending')
        const twice = await h.api(`/holds/${id}/approve`, 'bob', {})
        expect(twice.status).toBe(409)
        expect((await twice.json()).error.message).toMatch(/distinct approvers/)
        expect(await toUpstream(marker)).toHaveLength(0)
        expect((await h.api(`/holds/${id}/approve`, 'carol', {})).status).toBe(200)
        await until(async () => (await toUpstream(marker)).length === 1)
      })

      it('a required comment must be given', async () => {
        const id = holdIdOf(await h.post('/comment', { body: body(mark('comment')) }))
        const bare = await h.api(`/holds/${id}/approve`, 'bob', { comment: '   ' })
        expect(bare.status).toBe(400)
        expect((await bare.json()).error.message).toMatch(/requires a written comment/)
        expect((await h.api(`/holds/${id}/approve`, 'bob', { comment: 'customer asked by phone' })).status).toBe(200)
      })

      it("the agent's owner cannot approve, an approver outside the group cannot, and agent keys never can", async () => {
        const marker = mark('owner')
        const id = holdIdOf(await h.post('/hold', { body: body(marker) }))
        const owner = await h.api(`/holds/${id}/approve`, 'alice', {})
        expect(owner.status).toBe(403)
        expect((await owner.json()).error.message).toMatch(/owns the agent/)
        const asAgent = await h.gateway(`/_airlock/api/holds/${id}/approve`, {
          method: 'POST',
          headers: { authorization: `Bearer ${h.keys.billing}` },
          body: '{}',
        })
        expect(asAgent.status).toBe(401)
        const pay = holdIdOf(await h.post('/pay', { body: body(mark('group')) }))
        // Another group's hold does not exist for carol (approver-scope.test.ts guards the scoping in full).
        const outsider = await h.api(`/holds/${pay}/approve`, 'carol', {})
        expect(outsider.status).toBe(404)
        expect((await outsider.json()).error.message).toMatch(/in your approver groups/)
        expect(await toUpstream(marker)).toHaveLength(0)
      })
    })
  })
}
