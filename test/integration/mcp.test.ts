// MCP routes end to end: the official SDK on both sides (its McpServer behind Airlock, its Client pointed at Airlock),
// the example policy policies/payments_mcp.rego compiled to wasm, a webhook receiver and the approver API.
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sha256HexSync } from '../../gateway/core/digest.ts'
import { buildPolicy } from '../../gateway/node/toolchain/build.ts'
import { repoRoot } from '../../gateway/node/toolchain/opa.ts'
import {
  approverTokens,
  keys,
  policySource,
  startTestGateway,
  type TestGateway,
  testAgents,
  testApprovers,
  testConfig,
} from '../support/gateway.ts'
import { LONG_RESULT_CHARS, startMcpServer, type TestMcpServer } from '../support/mcp-server.ts'
import { startUpstream, type TestUpstream } from '../support/upstream.ts'

const SUPPORT_KEY = 'test-support-key'
let mcp: TestMcpServer
let receiver: TestUpstream
let gw: TestGateway
const clients: Client[] = []

beforeAll(async () => {
  mcp = await startMcpServer()
  receiver = await startUpstream((_req, res) => {
    res.writeHead(204)
    res.end()
  })
  const policyDir = mkdtempSync(join(tmpdir(), 'airlock-mcp-policy-'))
  await buildPolicy(
    policySource({ 'payments_mcp.rego': readFileSync(join(repoRoot, 'policies/payments_mcp.rego'), 'utf8') }),
    policyDir,
  )
  const hook = { url: receiver.url + '/hook', secret_env: 'WEBHOOK_SECRET', allow_private: true }
  gw = await startTestGateway(
    testConfig({
      policy: { dir: policyDir, watch: false },
      holds: { wait_s: 0.3, retry_after_s: 2 },
      review: { sample_rate: 1 },
      agents: [
        ...testAgents!,
        {
          id: 'support-bot',
          owner: 'carol@example.com',
          labels: { team: 'support' },
          key_sha256: sha256HexSync(SUPPORT_KEY),
        },
      ],
      routes: [
        {
          name: 'payments-mcp',
          prefix: '/mcp/payments',
          upstream: mcp.url,
          protocol: 'mcp',
          allow_private: true,
          credential: { env: 'UPSTREAM_TOKEN' },
        },
      ],
      approver_groups: { payments: { max_pending: 50, webhooks: [hook] }, ops: { max_pending: 50 } },
      approvers: testApprovers,
    }),
    { tickMs: 100 },
  )
})
afterAll(async () => {
  for (const c of clients) await c.close().catch(() => {})
  await gw?.close()
  await mcp?.close()
  await receiver?.close()
})

const endpoint = () => new URL(`${gw.url}/mcp/payments/mcp`)

async function connect(key: string): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(endpoint(), {
    requestInit: { headers: { 'airlock-agent-key': key } },
  })
  const client = new Client({ name: 'airlock-test-agent', version: '1.0.0' })
  await client.connect(transport)
  clients.push(client)
  return { client, transport }
}

type ToolResult = { isError?: boolean; content: { type: string; text: string }[]; _meta?: Record<string, any> }
const textOf = (r: unknown) => (r as ToolResult).content.map((c) => c.text).join('')
const until = async (pred: () => boolean | Promise<boolean>, ms = 5000) => {
  const end = Date.now() + ms
  while (!(await pred())) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 25))
  }
}

describe('an MCP client through Airlock', () => {
  it('initializes, and tools/list offers each agent only the tools the policy would not deny', async () => {
    const { client, transport } = await connect(keys.billing)
    expect(transport.sessionId).toMatch(/^[0-9a-f-]{36}$/)
    const billing = (await client.listTools()).tools.map((t) => t.name).sort()
    expect(billing).toEqual(['create_payout', 'get_balance', 'list_payments', 'refund_payment', 'update_customer'])

    const support = await connect(SUPPORT_KEY)
    expect((await support.client.listTools()).tools.map((t) => t.name).sort()).toEqual(['get_balance', 'list_payments'])
    const line = gw.decisions().findLast((l) => l.agent === 'support-bot' && l.mcp?.[0]?.method === 'tools/list')
    expect(line).toMatchObject({
      action: 'allow',
      rule: 'payments_mcp.protocol',
      status: 200,
      mcp: [{ index: 0, method: 'tools/list', action: 'allow' }],
    })
    expect(line!.metrics.timer_rego_query_eval_ns).toBeGreaterThan(0)
  })

  it('an allowed call returns the tool result, with the route credential injected and the session header passed', async () => {
    const { client, transport } = await connect(keys.billing)
    const before = mcp.calls.get_balance ?? 0
    const result = await client.callTool({ name: 'get_balance', arguments: {} })
    expect(textOf(result)).toBe('balance: 1,000.00 USD')
    expect(mcp.calls.get_balance).toBe(before + 1)
    const sent = mcp.requests.findLast((r) => r.body.includes('"get_balance"'))!
    expect(sent.headers.authorization).toBe('Bearer sk_live_real_upstream_secret')
    expect(sent.headers['mcp-session-id']).toBe(transport.sessionId)
    expect(JSON.stringify(sent.headers)).not.toContain(keys.billing)
  })

  it('a denied call reaches the model as a readable tool error and never reaches the server', async () => {
    const { client } = await connect(SUPPORT_KEY)
    const result = (await client.callTool({
      name: 'refund_payment',
      arguments: { payment_id: 'pay_9', amount_cents: 100 },
    })) as ToolResult
    expect(result.isError).toBe(true)
    expect(textOf(result)).toContain('support agents may only use the read tools')
    expect(result._meta!['airlock/error']).toMatchObject({
      code: 'AIRLOCK_DENIED',
      rule: 'payments_mcp.support_read_only',
    })
    expect(result._meta!['airlock/error'].decision_id).toMatch(/^[0-9a-f-]{36}$/)
    const unknown = (await (
      await connect(keys.billing)
    ).client.callTool({ name: 'wipe_ledger', arguments: {} })) as ToolResult
    expect([unknown.isError, unknown._meta!['airlock/error'].rule]).toEqual([true, 'airlock.default_deny'])
    expect(mcp.calls.refund_payment ?? 0).toBe(0)
    expect(mcp.calls.wipe_ledger ?? 0).toBe(0)
  })

  it('a held call: webhook with tool and arguments, approval, the retry with a new id gets the result, the tool ran once', async () => {
    const { client } = await connect(keys.billing)
    const args = { payment_id: 'pay_123', amount_cents: 125000, reason: 'duplicate charge' }
    const first = (await client.callTool({ name: 'refund_payment', arguments: args })) as ToolResult
    expect(first.isError).toBe(true)
    const pending = first._meta!['airlock/error']
    expect(pending).toMatchObject({ code: 'AIRLOCK_HOLD_PENDING', rule: 'payments_mcp.refund', retry_after_s: 2 })
    expect(textOf(first)).toContain('Call the same tool with exactly the same arguments again after 2 seconds')
    expect(mcp.calls.refund_payment ?? 0).toBe(0)

    // A retry before anyone decides joins the same hold (new JSON-RPC id, same tool and arguments).
    const again = (await client.callTool({ name: 'refund_payment', arguments: args })) as ToolResult
    expect(again._meta!['airlock/error'].hold_id).toBe(pending.hold_id)

    await until(() => receiver.received.some((r) => r.body.toString().includes(pending.hold_id)))
    const event = JSON.parse(
      receiver.received.find((r) => r.body.toString().includes(pending.hold_id))!.body.toString(),
    )
    expect(event.type).toBe('hold.created')
    expect(event.hold.summary).toBe('Refund $1,250.00 on pay_123 (duplicate charge)')
    expect(event.hold.mcp).toEqual({ method: 'tools/call', tool: 'refund_payment', arguments: args })
    expect(event.hold.request.body_preview).toContain('"refund_payment"')

    const approve = await fetch(`${gw.url}/_airlock/api/holds/${pending.hold_id}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${approverTokens.bob}`, 'content-type': 'application/json' },
      body: JSON.stringify({ comment: 'duplicate confirmed' }),
    })
    expect(approve.status).toBe(200)
    await until(() => mcp.calls.refund_payment === 1)

    const result = (await client.callTool({ name: 'refund_payment', arguments: args })) as ToolResult
    expect(result.isError).toBeFalsy()
    expect(textOf(result)).toBe('refunded 125000 on pay_123')
    const once = (await client.callTool({ name: 'refund_payment', arguments: args })) as ToolResult
    expect(textOf(once)).toBe('refunded 125000 on pay_123')
    expect(mcp.calls.refund_payment).toBe(1)
  })

  it('a batch: the allowed message is forwarded, the denied one answered by Airlock', async () => {
    const { transport } = await connect(keys.billing)
    const before = { balance: mcp.calls.get_balance ?? 0, wipe: mcp.calls.wipe_ledger ?? 0 }
    const res = await fetch(endpoint(), {
      method: 'POST',
      headers: {
        'airlock-agent-key': keys.billing,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': transport.sessionId!,
        'mcp-protocol-version': transport.protocolVersion ?? '2025-11-25',
      },
      body: JSON.stringify([
        { jsonrpc: '2.0', id: 'a', method: 'tools/call', params: { name: 'get_balance', arguments: {} } },
        { jsonrpc: '2.0', id: 'b', method: 'tools/call', params: { name: 'wipe_ledger', arguments: {} } },
      ]),
    })
    expect(res.status).toBe(200)
    const type = res.headers.get('content-type') ?? ''
    const text = await res.text()
    const messages: any[] = type.startsWith('text/event-stream')
      ? text
          .split('\n')
          .filter((l) => l.startsWith('data: '))
          .map((l) => JSON.parse(l.slice(6)))
      : JSON.parse(text)
    const byId = Object.fromEntries(messages.map((m) => [m.id, m]))
    expect(byId.a.result.content[0].text).toBe('balance: 1,000.00 USD')
    expect(byId.b.result).toMatchObject({
      isError: true,
      _meta: { 'airlock/error': { code: 'AIRLOCK_DENIED', rule: 'airlock.default_deny' } },
    })
    expect(mcp.calls.get_balance).toBe(before.balance + 1)
    expect(mcp.calls.wipe_ledger ?? 0).toBe(before.wipe)
    const forwarded = mcp.requests.findLast((r) => r.body.includes('"get_balance"'))!
    expect(forwarded.body).not.toContain('wipe_ledger')
  })

  it('malformed JSON-RPC gets a parse or invalid-request error and is never forwarded', async () => {
    const before = mcp.requests.length
    const post = (body: string) =>
      fetch(endpoint(), {
        method: 'POST',
        headers: {
          'airlock-agent-key': keys.billing,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body,
      })
    const notJson = await post('{"jsonrpc": "2.0", "id": 1, ')
    expect(notJson.status).toBe(400)
    expect(await notJson.json()).toMatchObject({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32700, data: { code: 'AIRLOCK_BODY_MALFORMED' } },
    })
    const badMethod = await post('{"jsonrpc": "2.0", "id": 1, "method": 5}')
    expect(await badMethod.json()).toMatchObject({ id: 1, error: { code: -32600 } })
    expect(mcp.requests.length).toBe(before)
  })

  it('streams a long SSE tool result as it comes: progress notifications arrive before the result', async () => {
    const { client } = await connect(keys.billing)
    const progressAt: number[] = []
    const started = Date.now()
    const result = await client.callTool({ name: 'list_payments', arguments: { steps: 4 } }, undefined, {
      onprogress: () => void progressAt.push(Date.now()),
    })
    const done = Date.now()
    expect(textOf(result)).toHaveLength(LONG_RESULT_CHARS)
    expect(progressAt).toHaveLength(4)
    // The first notification was received long before the tool finished (4 × 150 ms): nothing buffered the stream.
    expect(progressAt[0]! - started).toBeLessThan(done - started - 300)
  })
})
