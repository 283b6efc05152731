// Holds on Workers, inside workerd: the core HoldService running in the holds Durable Object, reached from the
// Worker. The same state machine as on Node: signed webhooks, exactly-once execution of the approved bytes, retry
// dedupe, expiry through the object's alarm, and a sync wait that survives a reset of the object.
import { env } from 'cloudflare:workers'
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifySignature } from '../../gateway/core/holds/webhooks.ts'
import { HOLDS_OBJECT } from '../../gateway/worker/hold-gate.ts'
import { keys, secrets } from './fixtures.ts'
import { api, captureLogs, gateway, hooksFor, post, received, toUpstream, until } from './helpers.ts'

const holds = () => env.HOLDS.get(env.HOLDS.idFromName(HOLDS_OBJECT))
const holdIdOf = (res: Response) => res.headers.get('airlock-hold-id')!

let logs: ReturnType<typeof captureLogs>
beforeAll(() => {
  logs = captureLogs()
})
afterAll(() => logs.restore())

describe('hold → webhook → approve → execute', () => {
  it('signs the webhook, executes the exact bytes once after approval, and the waiting agent gets the upstream response', async () => {
    const marker = crypto.randomUUID()
    const body = JSON.stringify({ marker, amount: 5000, note: 'exact bytes  with  spacing' })
    const agent = post('/hold', { body, prefer: 'wait=10' })

    await until(async () => (await toHooks(marker)).length > 0)
    const [hook] = await toHooks(marker)
    const now = Date.now() / 1000
    expect(await verifySignature(secrets.WEBHOOK_SECRET!, hook!.body, hook!.headers['airlock-signature']!, now)).toBe(true)
    expect(await verifySignature('wrong-secret', hook!.body, hook!.headers['airlock-signature']!, now)).toBe(false)
    expect(await verifySignature(secrets.WEBHOOK_SECRET!, hook!.body.replace('5000', '5001'), hook!.headers['airlock-signature']!, now)).toBe(false)
    const event = JSON.parse(hook!.body)
    expect(event).toMatchObject({ type: 'hold.created', hold: { rule: 't.hold', summary: 'Hold one', agent: { id: 'billing-bot' }, approvers: ['ops'] } })
    expect(event.links.approve).toBe(`https://airlock.example.com/_airlock/api/holds/${event.hold.id}/approve`)
    expect(hook!.body).not.toContain(keys.billing)
    expect(hook!.body).not.toContain(secrets.UPSTREAM_TOKEN)
    expect(await toUpstream(marker)).toHaveLength(0)

    const view = await (await api(`/holds/${event.hold.id}`, 'bob')).json()
    expect(view.state).toBe('pending')
    const approved = await api(`/holds/${event.hold.id}/approve`, 'bob', { comment: 'checked', context_sha256: view.context_sha256 })
    expect(approved.status).toBe(200)

    const res = await agent
    expect(res.status).toBe(200)
    expect(holdIdOf(res)).toBe(event.hold.id)
    expect(await res.json()).toMatchObject({ method: 'POST', url: '/hold' })
    const sent = await toUpstream(marker)
    expect(sent).toHaveLength(1)
    expect(sent[0]!.body).toBe(body)
    expect(sent[0]!.headers.authorization).toBe(`Bearer ${secrets.UPSTREAM_TOKEN}`)
    expect(sent[0]!.headers['idempotency-key']).toBe(`airlock-hold-${event.hold.id}`)
    await until(async () => (await hooksFor(event.hold.id, 'hold.executed')).length === 1)
    expect(await hooksFor(event.hold.id, 'hold.decided')).toHaveLength(1)
    expect(logs.lines.find((l) => l.msg === 'decision' && l.hold_id === event.hold.id)).toMatchObject({ action: 'hold', rule: 't.hold', status: 200 })
  })

  it('executes once under concurrent approvals', async () => {
    const marker = crypto.randomUUID()
    const id = holdIdOf(await post('/hold', { marker }))
    const results = await Promise.all([...Array(6)].map((_, i) => api(`/holds/${id}/approve`, i % 2 ? 'bob' : 'carol', {})))
    expect(results.filter((r) => r.status === 200)).toHaveLength(1)
    expect(results.filter((r) => r.status === 409)).toHaveLength(5)
    await until(async () => (await toUpstream(marker)).length === 1)
    await new Promise((r) => setTimeout(r, 300))
    expect(await toUpstream(marker)).toHaveLength(1)
  })

  it('dedupes retries: one hold, one notification, one upstream call; a retry after execution gets the stored response', async () => {
    const marker = crypto.randomUUID()
    const body = JSON.stringify({ marker })
    const first = await post('/hold', { body })
    expect(first.status).toBe(409)
    expect((await first.json()).error.code).toBe('AIRLOCK_HOLD_PENDING')
    const id = holdIdOf(first)
    expect(holdIdOf(await post('/hold', { body }))).toBe(id)
    await until(async () => (await hooksFor(id, 'hold.created')).length === 1)
    expect((await api(`/holds/${id}/approve`, 'bob', {})).status).toBe(200)
    await until(async () => (await toUpstream(marker)).length === 1)
    await until(async () => (await post('/hold', { body })).status === 200)
    const again = await post('/hold', { body })
    expect(holdIdOf(again)).toBe(id)
    expect(await again.json()).toMatchObject({ url: '/hold' })
    expect(await toUpstream(marker)).toHaveLength(1)
    expect(await hooksFor(id, 'hold.created')).toHaveLength(1)
  })

  it('an approver cannot approve their own agent’s request, and a denial reaches the agent; the upstream never sees it', async () => {
    const marker = crypto.randomUUID()
    const id = holdIdOf(await post('/hold', { marker }))
    expect((await api(`/holds/${id}/approve`, 'alice', {})).status).toBe(403) // alice owns billing-bot
    expect((await api(`/holds/${id}/deny`, 'carol', { comment: 'wrong customer' })).status).toBe(200)
    const retry = await post('/hold', { body: JSON.stringify({ marker, amount: 5000 }) })
    expect(retry.status).toBe(403)
    expect((await retry.json()).error).toMatchObject({ code: 'AIRLOCK_HOLD_DENIED', hold_id: id })
    expect(await toUpstream(marker)).toHaveLength(0)
  })

  it('answers 202 to Prefer: respond-async, and the agent polls its hold through the Worker', async () => {
    const res = await post('/hold', { prefer: 'respond-async' })
    expect(res.status).toBe(202)
    const poll = (key: string) => gateway(res.headers.get('location')!, { headers: { 'airlock-agent-key': key } })
    expect((await poll(keys.billing)).status).toBe(202)
    expect((await poll(keys.dev)).status).toBe(404)
  })
})

describe('time: the holds object’s alarm', () => {
  it('arms the alarm for the expiry, and the alarm expires the hold: 403 to the agent, a hold.expired event, no upstream call', async () => {
    const marker = crypto.randomUUID()
    const res = await post('/short', { marker, prefer: 'respond-async' }) // timeout_s: 1
    expect(res.status).toBe(202)
    const id = holdIdOf(res)
    const { alarm, expiresAt } = await runInDurableObject(holds(), async (_, state) => ({
      alarm: await state.storage.getAlarm(),
      expiresAt: state.storage.sql.exec('SELECT expires_at FROM holds WHERE id = ?', id).one().expires_at as number,
    }))
    expect(alarm).not.toBeNull()
    expect(alarm).toBeLessThanOrEqual(expiresAt)

    await until(() => Date.now() > expiresAt + 50, 3000)
    await runDurableObjectAlarm(holds()) // runs it now if it has not fired on its own yet
    await until(async () => (await hooksFor(id, 'hold.expired')).length === 1)
    const after = await gateway(res.headers.get('location')!, { headers: { 'airlock-agent-key': keys.billing } })
    expect(after.status).toBe(403)
    expect((await after.json()).error).toMatchObject({ code: 'AIRLOCK_HOLD_EXPIRED', hold_id: id })
    expect((await api(`/holds/${id}/approve`, 'bob', {})).status).toBe(409)
    expect(await toUpstream(marker)).toHaveLength(0)
  })
})

describe('a reset of the holds object', () => {
  it('does not lose a waiting agent: the Worker calls again and the new instance answers from SQLite', async () => {
    const marker = crypto.randomUUID()
    const agent = post('/hold', { marker, prefer: 'wait=20' })
    await until(async () => (await toHooks(marker)).length > 0)
    const id = JSON.parse((await toHooks(marker))[0]!.body).hold.id as string

    // What a deploy does: the instance is reset mid-call (in-memory waiters gone), its storage kept. The reason is the
    // one the Vitest pool gives its own disposals, whose expected "broken object" logs from workerd it filters out.
    await runInDurableObject(holds(), (_, state) => state.abort('Instance dispose')).catch(() => {})
    expect((await api(`/holds/${id}/approve`, 'bob', {})).status).toBe(200)

    const res = await agent
    expect(res.status).toBe(200)
    expect(holdIdOf(res)).toBe(id)
    expect(await toUpstream(marker)).toHaveLength(1)
    expect(logs.lines.some((l) => l.event === 'holds_object_retry' && l.call === 'settle' && l.reset === true)).toBe(true)
  })
})

describe('audit', () => {
  it('keeps one hash chain that verifies', async () => {
    const res = await api('/audit/verify', 'bob')
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ ok: true })
  })
})

/** Webhook deliveries whose body contains the marker (the hold id is not known yet). */
async function toHooks(marker: string) {
  return (await received('hooks.test')).filter((r) => r.body.includes(marker))
}
