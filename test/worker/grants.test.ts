// Grants on Workers, inside workerd: the holds Durable Object owns them like holds; a use is one conditional UPDATE
// in its SQLite, so 20 concurrent requests through the Worker against max_uses 5 forward exactly 5. Revocation holds
// the next request at once; every use is in the audit chain.
import { describe, expect, it } from 'vitest'
import { keys } from './fixtures.ts'
import { api, gateway, toUpstream } from './helpers.ts'

const send = (body: object) =>
  gateway('/api/granted', {
    method: 'POST',
    headers: { 'airlock-agent-key': keys.billing, 'content-type': 'application/json', prefer: 'respond-async' },
    body: JSON.stringify({ n: crypto.randomUUID(), ...body }),
  })

async function grantFor(customer: string, grant: object): Promise<Record<string, any>> {
  const held = await send({ customer })
  expect(held.status).toBe(202)
  const res = await api(`/holds/${held.headers.get('airlock-hold-id')}/approve`, 'bob', {
    comment: 'for a while',
    grant,
  })
  expect(res.status).toBe(200)
  return (await res.json()).grant
}

describe('grants (the holds Durable Object, in workerd)', () => {
  it('20 concurrent requests against max_uses 5: exactly 5 forwarded, the rest held; each use audited', async () => {
    const grant = await grantFor('cus_w', { minutes: 10, max_uses: 5, bounds: { same: ['customer'] } })
    expect(grant).toMatchObject({ state: 'live', uses: 0, max_uses: 5, created_by: 'bob', rule: 't.granted' })
    const marker = crypto.randomUUID()
    const statuses = (await Promise.all(Array.from({ length: 20 }, () => send({ customer: 'cus_w', marker })))).map(
      (r) => r.status,
    )
    expect(statuses.filter((s) => s === 200)).toHaveLength(5)
    expect(statuses.filter((s) => s === 202)).toHaveLength(15)
    expect(await toUpstream(marker)).toHaveLength(5)
    // another customer is outside the grant's bounds
    const other = crypto.randomUUID()
    expect((await send({ customer: 'cus_other', marker: other })).status).toBe(202)
    const audit = (await (await api('/audit', 'carol')).json()).records as { type: string; record: any }[]
    expect(audit.filter((r) => r.type === 'grant.used' && r.record.grant_id === grant.id)).toHaveLength(5)
    expect((await (await api('/audit/verify', 'carol')).json()).ok).toBe(true)
  })

  it('revocation takes effect at once', async () => {
    const grant = await grantFor('cus_rv', { minutes: 10, max_uses: 50, bounds: { same: ['customer'] } })
    expect((await send({ customer: 'cus_rv' })).status).toBe(200)
    expect((await api(`/grants/${grant.id}/revoke`, 'carol', { comment: 'enough' })).status).toBe(200)
    const marker = crypto.randomUUID()
    expect((await send({ customer: 'cus_rv', marker })).status).toBe(202)
    expect(await toUpstream(marker)).toHaveLength(0)
    const listed = (await (await api('/grants', 'carol')).json()).grants as {
      id: string
      state: string
      uses: number
    }[]
    expect(listed.find((g) => g.id === grant.id)).toMatchObject({ state: 'revoked', uses: 1 })
  })
})
