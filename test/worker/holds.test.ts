// Holds on Workers, inside workerd: the core HoldService running in the holds Durable Object, reached from the
// Worker. The hold flow both runtimes share is the conformance suite (test/conformance/hold-flow.case.ts), run here
// against the Worker; what follows is the object's own: expiry through its alarm, and a sync wait that survives a
// reset of the object.

import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HOLDS_OBJECT } from '../../gateway/worker/hold-gate.ts'
import { runHoldFlowSuite } from '../conformance/hold-flow.case.ts'
import { keys, secrets, UPSTREAM } from './fixtures.ts'
import { api, captureLogs, gateway, hooksFor, post, received, toUpstream, until } from './helpers.ts'

const holds = () => env.HOLDS.get(env.HOLDS.idFromName(HOLDS_OBJECT))
const holdIdOf = (res: Response) => res.headers.get('airlock-hold-id')!

let logs: ReturnType<typeof captureLogs>
beforeAll(() => {
  logs = captureLogs()
})
afterAll(() => logs.restore())

runHoldFlowSuite('Workers (the holds Durable Object, in workerd)', {
  post: (path, opts = {}) => post(path, opts),
  api: (path, who, body) => api(path, who, body),
  gateway: (path, init) => gateway(path, init),
  upstream: () => received('upstream.test'),
  hooks: () => received('hooks.test'),
  decisions: async () => logs.lines.filter((l) => l.msg === 'decision'),
  upstreamUrl: UPSTREAM,
  keys: { billing: keys.billing, dev: keys.dev },
  secrets: { webhook: secrets.WEBHOOK_SECRET!, upstreamToken: secrets.UPSTREAM_TOKEN! },
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
    expect(logs.lines.some((l) => l.event === 'holds_object_retry' && l.call === 'settle' && l.reset === true)).toBe(
      true,
    )
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
