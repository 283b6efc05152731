// An MCP route on Workers, inside workerd: the official SDK's MCP server on the fake network (test/worker/outbound.ts,
// stateless, JSON answers), policies/payments_mcp.rego compiled into the bundle, holds in the Durable Object. The same
// answers as on Node (test/integration/mcp.test.ts): a denied call as a tool error that never reaches the server, and
// a held call whose retry with a new JSON-RPC id joins the hold and, once approved, gets the result; executed once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { keys } from './fixtures.ts'
import { api, captureLogs, gateway, received, until } from './helpers.ts'

let logs: ReturnType<typeof captureLogs>
beforeAll(() => {
  logs = captureLogs()
})
afterAll(() => logs.restore())

let id = 0
const rpc = (method: string, params: object) =>
  gateway('/mcp/rpc', {
    method: 'POST',
    headers: {
      'airlock-agent-key': keys.billing,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-11-25',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params }),
  })
const toolCalls = async (tool: string) => (await received('mcp.test')).filter((r) => r.body.includes(`"${tool}"`))

describe('MCP on Workers', () => {
  it('initializes and lists only the tools the policy would not deny', async () => {
    const init = await rpc('initialize', {
      protocolVersion: '2025-11-25',
      capabilities: {},
      clientInfo: { name: 'workerd-test', version: '1' },
    })
    expect(init.status).toBe(200)
    expect(await init.json()).toMatchObject({ id, result: { serverInfo: { name: 'payments' } } })
    const list = (await (await rpc('tools/list', {})).json()) as { result: { tools: { name: string }[] } }
    expect(list.result.tools.map((t) => t.name).sort()).toEqual([
      'create_payout',
      'get_balance',
      'list_payments',
      'refund_payment',
      'update_customer',
    ])
  })

  it('denies a tool no rule allows with a tool error; the server never sees it', async () => {
    const res = await rpc('tools/call', { name: 'wipe_ledger', arguments: {} })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({
      id,
      result: { isError: true, _meta: { 'airlock/error': { code: 'AIRLOCK_DENIED', rule: 'airlock.default_deny' } } },
    })
    expect(await toolCalls('wipe_ledger')).toHaveLength(0)
  })

  it('holds a refund; the retry with a new id joins the hold and gets the result after approval; it ran once', async () => {
    const args = { payment_id: 'pay_w1', amount_cents: 250000, reason: 'workerd' }
    const first = (await (await rpc('tools/call', { name: 'refund_payment', arguments: args })).json()) as any
    const pending = first.result._meta['airlock/error']
    expect(pending).toMatchObject({ code: 'AIRLOCK_HOLD_PENDING', rule: 'payments_mcp.refund' })
    const again = (await (await rpc('tools/call', { name: 'refund_payment', arguments: args })).json()) as any
    expect(again.result._meta['airlock/error'].hold_id).toBe(pending.hold_id)
    expect(await toolCalls('refund_payment')).toHaveLength(0)

    const view = (await (await api(`/holds/${pending.hold_id}`, 'bob')).json()) as any
    expect(view.hold.mcp).toEqual({ method: 'tools/call', tool: 'refund_payment', arguments: args })
    expect(view.hold.summary).toBe('Refund $2,500.00 on pay_w1 (workerd)')
    expect((await api(`/holds/${pending.hold_id}/approve`, 'bob', { comment: 'ok' })).status).toBe(200)
    await until(async () => (await toolCalls('refund_payment')).length === 1)

    const res = await rpc('tools/call', { name: 'refund_payment', arguments: args })
    const body = (await res.json()) as any
    expect(body.id).toBe(id)
    expect(body.result.content[0].text).toBe('refunded 250000 on pay_w1')
    expect(body.result.isError).toBeUndefined()
    const sent = await toolCalls('refund_payment')
    expect(sent).toHaveLength(1)
    expect(sent[0]!.headers.authorization).toBe('Bearer sk_live_real_upstream_secret')
  })
})
