// The MCP core (gateway/core/mcp/): JSON-RPC parsing into input.mcp, answers a client understands, SSE handling,
// per-message enforcement of a batch. End-to-end with the official SDK on both sides: test/integration/mcp.test.ts.
import { describe, expect, it } from 'vitest'
import { enforceMcp, type McpCall } from '../../gateway/core/mcp/enforce.ts'
import { dedupeDigest, type McpMessage, mcpInput, parseJsonRpc } from '../../gateway/core/mcp/jsonrpc.ts'
import { mapSse, messagesIn, splitEvents } from '../../gateway/core/mcp/sse.ts'
import type { Decision } from '../../gateway/core/policy/decision.ts'

const enc = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v))
const JSON_CT = 'application/json'
const call = (id: number, name: string, args: object = {}) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: args },
})

describe('parseJsonRpc', () => {
  it.each([
    ['not JSON', enc('{'), JSON_CT, -32700],
    ['not JSON content', enc(call(1, 'x')), 'text/plain', -32600],
    ['an empty batch', enc([]), JSON_CT, -32600],
    ['no jsonrpc member', enc({ id: 1, method: 'ping' }), JSON_CT, -32600],
    ['an object id', enc({ jsonrpc: '2.0', id: {}, method: 'ping' }), JSON_CT, -32600],
    ['a tools/call without a name', enc({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: {} }), JSON_CT, -32602],
    [
      'tools/call arguments that are not an object',
      enc({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'a', arguments: [1] } }),
      JSON_CT,
      -32602,
    ],
  ])('refuses %s with JSON-RPC code %i', (_name, body, ct, code) => {
    const p = parseJsonRpc(body, ct)
    expect(p.ok).toBe(false)
    if (!p.ok) expect([p.code, p.message.length > 10]).toEqual([code, true])
  })

  it('describes a tools/call, a notification and a response', () => {
    const p = parseJsonRpc(
      enc([
        call(7, 'refund', { amount: 5 }),
        { jsonrpc: '2.0', method: 'notifications/initialized' },
        { jsonrpc: '2.0', id: 's1', result: {} },
        5,
      ]),
      JSON_CT,
    )
    if (!p.ok) throw new Error(p.message)
    expect(p.messages.map((m) => m.kind)).toEqual(['request', 'notification', 'response', 'invalid'])
    const headers = new Headers({ 'mcp-session-id': 'sess-1', 'mcp-protocol-version': '2025-11-25' })
    expect(mcpInput(p.messages[0] as McpMessage, headers, 4)).toMatchObject({
      method: 'tools/call',
      id: 7,
      tool: 'refund',
      arguments: { amount: 5 },
      session_id: 'sess-1',
      protocol_version: '2025-11-25',
      batch_index: 0,
      batch_size: 4,
      listing: false,
    })
    expect(mcpInput(p.messages[1] as McpMessage, new Headers(), null)).toMatchObject({
      method: 'notifications/initialized',
      id: null,
      tool: null,
      arguments: {},
      batch_index: null,
    })
  })

  it('reads the uri of resources/read and the name of prompts/get', () => {
    const p = parseJsonRpc(
      enc([
        { jsonrpc: '2.0', id: 1, method: 'resources/read', params: { uri: 'file:///a' } },
        { jsonrpc: '2.0', id: 2, method: 'prompts/get', params: { name: 'p' } },
      ]),
      JSON_CT,
    )
    if (!p.ok) throw new Error(p.message)
    expect(mcpInput(p.messages[0] as McpMessage, new Headers(), 2).uri).toBe('file:///a')
    expect(mcpInput(p.messages[1] as McpMessage, new Headers(), 2).name).toBe('p')
  })

  it('dedupes a retried call with a new id and progress token, but not changed arguments', () => {
    const m = (v: object) => (parseJsonRpc(enc(v), JSON_CT) as { messages: McpMessage[] }).messages[0]!
    const first = dedupeDigest(
      m({
        ...call(1, 'refund', { amount: 5 }),
        params: { name: 'refund', arguments: { amount: 5 }, _meta: { progressToken: 1 } },
      }),
    )
    expect(dedupeDigest(m(call(2, 'refund', { amount: 5 })))).toBe(first)
    expect(dedupeDigest(m(call(3, 'refund', { amount: 6 })))).not.toBe(first)
  })
})

describe('SSE', () => {
  it('splits events on any line ending and keeps an incomplete one', () => {
    const { events, rest } = splitEvents(
      'event: message\ndata: {"a":1}\n\nid: 2\r\ndata: {"b":\r\ndata: 2}\r\n\r\ndata: {"c"',
    )
    expect(events.map((e) => e.data)).toEqual(['{"a":1}', '{"b":\n2}'])
    expect(rest).toBe('data: {"c"')
  })

  it('changes one message across chunk boundaries and passes the others byte for byte', async () => {
    const text =
      ': comment\n\nevent: message\nid: e1\ndata: {"jsonrpc":"2.0","method":"notifications/progress"}\n\nevent: message\nid: e2\ndata: {"jsonrpc":"2.0","id":1,"result":{}}\n\n'
    const bytes = enc(text)
    const source = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += 7) c.enqueue(bytes.slice(i, i + 7))
        c.close()
      },
    })
    const out = await new Response(
      mapSse(source, (m) => ((m as { id?: number }).id === 1 ? { ...(m as object), id: 'new' } : undefined)),
    ).text()
    expect(out).toContain(
      ': comment\n\nevent: message\nid: e1\ndata: {"jsonrpc":"2.0","method":"notifications/progress"}\n\n',
    )
    expect(out).toContain('event: message\nid: e2\ndata: {"jsonrpc":"2.0","id":"new","result":{}}\n\n')
    expect(messagesIn(enc(out), 'text/event-stream')).toHaveLength(2)
  })
})

describe('enforceMcp', () => {
  const decision = (action: Decision['action'], rule: string): Decision => ({
    action,
    rule,
    reason: `because ${rule}`,
    risk: 'low',
    summary: '',
    approvers: action === 'hold' ? ['ops'] : [],
    approvals_required: 1,
    require_comment: false,
    timeout_s: 60,
    sample_rate: 0,
  })
  const rules: Record<string, Decision> = {
    read: decision('allow', 'read'),
    wipe: decision('deny', 'wipe'),
    pay: decision('hold', 'pay'),
  }

  function harness(bodyValue: unknown, upstream: (sent: unknown) => Response) {
    const sent: unknown[] = []
    const body = enc(bodyValue)
    const parsed = parseJsonRpc(body, JSON_CT)
    if (!parsed.ok) throw new Error(parsed.message)
    const c: McpCall = {
      parsed,
      body,
      headers: new Headers(),
      decisionId: 'd-1',
      decide: async (mcp) =>
        mcp.tool ? (rules[mcp.tool] ?? decision('deny', 'airlock.default_deny')) : decision('allow', 'protocol'),
      forward: async (b) => {
        const v = JSON.parse(new TextDecoder().decode(b))
        sent.push(v)
        return upstream(v)
      },
      hold: async () => {
        throw new Error('not in this test')
      },
    }
    return { c, sent }
  }
  const echo = (v: unknown) =>
    Response.json(
      (v as { id: number; params: { name: string } }[]).map((m) => ({
        jsonrpc: '2.0',
        id: m.id,
        result: { content: [{ type: 'text', text: `ran ${m.params.name}` }] },
      })),
    )

  it('forwards the allowed message of a batch and answers the denied one itself', async () => {
    const { c, sent } = harness([call(1, 'read'), call(2, 'wipe')], echo)
    const out = await enforceMcp(c)
    expect(sent).toEqual([[call(1, 'read')]])
    const answers = (await out.response.json()) as {
      id: number
      result: { isError?: boolean; content: { text: string }[]; _meta?: Record<string, { code: string; rule: string }> }
    }[]
    expect(out.response.status).toBe(200)
    expect(answers.map((a) => [a.id, a.result.isError ?? false])).toEqual([
      [2, true],
      [1, false],
    ])
    expect(answers[0]!.result.content[0]!.text).toContain('because wipe')
    expect(answers[0]!.result._meta!['airlock/error']).toMatchObject({
      code: 'AIRLOCK_DENIED',
      rule: 'wipe',
      decision_id: 'd-1',
    })
    expect(out.messages.map((m) => [m.index, m.action])).toEqual([
      [0, 'allow'],
      [1, 'deny'],
    ])
  })

  it('answers a denied non-tool request with a JSON-RPC error and forwards nothing', async () => {
    const { c, sent } = harness({ jsonrpc: '2.0', id: 9, method: 'resources/read', params: { uri: 'x' } }, echo)
    c.decide = async () => decision('deny', 'no_resources')
    const out = await enforceMcp(c)
    expect(sent).toEqual([])
    expect(await out.response.json()).toMatchObject({
      id: 9,
      error: { code: -32010, data: { code: 'AIRLOCK_DENIED', rule: 'no_resources' } },
    })
  })

  it('removes the tools the policy denies from a tools/list result, one query per tool', async () => {
    const tools = ['read', 'wipe', 'pay', 'other'].map((name) => ({ name, inputSchema: { type: 'object' } }))
    const { c } = harness({ jsonrpc: '2.0', id: 3, method: 'tools/list' }, () =>
      Response.json({ jsonrpc: '2.0', id: 3, result: { tools } }),
    )
    const out = await enforceMcp(c)
    const listed = ((await out.response.json()) as { result: { tools: { name: string }[] } }).result.tools.map(
      (t) => t.name,
    )
    expect(listed).toEqual(['read', 'pay'])
    expect(out.messages[0]!.hidden_tools).toEqual(['wipe', 'other'])
  })

  it('refuses a message whose policy evaluation fails (fail closed) and says why', async () => {
    const { c, sent } = harness(call(4, 'read'), echo)
    c.decide = async () => {
      throw new Error('boom')
    }
    const out = await enforceMcp(c)
    expect(sent).toEqual([])
    expect(await out.response.json()).toMatchObject({
      id: 4,
      result: { isError: true, _meta: { 'airlock/error': { code: 'AIRLOCK_INTERNAL' } } },
    })
  })

  describe('holds', () => {
    const pending = () =>
      new Response(
        JSON.stringify({
          error: {
            code: 'AIRLOCK_HOLD_PENDING',
            message: 'This request needs human approval…',
            hold_id: 'h-1',
            rule: 'pay',
            decision_id: 'd-0',
          },
        }),
        {
          status: 409,
          headers: {
            'airlock-error-code': 'AIRLOCK_HOLD_PENDING',
            'retry-after': '7',
            'content-type': 'application/json',
          },
        },
      )
    const executed = (type: string, body: string) =>
      new Response(body, {
        status: 200,
        headers: { 'content-type': type, 'airlock-hold-id': 'h-1', 'content-length': String(body.length) },
      })

    it('a pending hold tells the model what to call again, and the hold got the message with its dedupe digest', async () => {
      const { c, sent } = harness(call(5, 'pay', { amount: 10 }), echo)
      const holds: unknown[] = []
      c.hold = async (m, mcp, d, body, dedupe) => {
        holds.push({ id: m.id, tool: mcp.tool, rule: d.rule, body: new TextDecoder().decode(body), dedupe })
        return { holdId: 'h-1', response: pending() }
      }
      const out = await enforceMcp(c)
      const answer = (await out.response.json()) as {
        id: number
        result: { isError: boolean; content: { text: string }[]; _meta: Record<string, object> }
      }
      expect(sent).toEqual([])
      expect(holds).toEqual([
        {
          id: 5,
          tool: 'pay',
          rule: 'pay',
          body: JSON.stringify(call(5, 'pay', { amount: 10 })),
          dedupe: expect.stringMatching(/^[0-9a-f]{64}$/),
        },
      ])
      expect(answer.id).toBe(5)
      expect(answer.result.content[0]!.text).toMatch(
        /tool "pay" needs human approval before it runs: because pay\. .*hold h-1.*It has NOT run yet.*after 7 seconds/,
      )
      expect(answer.result._meta['airlock/error']).toMatchObject({
        code: 'AIRLOCK_HOLD_PENDING',
        hold_id: 'h-1',
        retry_after_s: 7,
        decision_id: 'd-1',
      })
      expect(out.messages[0]).toMatchObject({ action: 'hold', hold_id: 'h-1', error_code: 'AIRLOCK_HOLD_PENDING' })
    })

    it('an executed hold answers a retry with the stored result readdressed to its new id (JSON and SSE)', async () => {
      const stored = JSON.stringify({ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'paid' }] } })
      const { c } = harness(call(42, 'pay'), echo)
      c.hold = async () => ({ holdId: 'h-1', response: executed('application/json', stored) })
      expect(await (await enforceMcp(c)).response.json()).toMatchObject({
        id: 42,
        result: { content: [{ text: 'paid' }] },
      })

      const sse = `event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}\n\nevent: message\ndata: ${stored}\n\n`
      c.hold = async () => ({ holdId: 'h-1', response: executed('text/event-stream', sse) })
      const res = (await enforceMcp(c)).response
      expect(res.headers.get('content-length')).toBeNull()
      expect(messagesIn(new Uint8Array(await res.arrayBuffer()), 'text/event-stream')).toEqual([
        { jsonrpc: '2.0', method: 'notifications/progress', params: { progress: 1 } },
        { jsonrpc: '2.0', id: 42, result: { content: [{ type: 'text', text: 'paid' }] } },
      ])
    })

    it('in a batch, the held message is stored alone and its answer joins the batch answer', async () => {
      const { c, sent } = harness([call(1, 'read'), call(2, 'pay', { amount: 3 })], echo)
      let heldBody = ''
      c.hold = async (_m, _mcp, _d, body) => {
        heldBody = new TextDecoder().decode(body)
        return { holdId: 'h-1', response: pending() }
      }
      const answers = (await (await enforceMcp(c)).response.json()) as { id: number; result: { isError?: boolean } }[]
      expect(sent).toEqual([[call(1, 'read')]])
      expect(JSON.parse(heldBody)).toEqual(call(2, 'pay', { amount: 3 }))
      expect(answers.map((a) => [a.id, a.result.isError ?? false])).toEqual([
        [1, false],
        [2, true],
      ])
    })
  })
})
