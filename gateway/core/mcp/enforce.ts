// Enforcement on an MCP route: every JSON-RPC message of a POST is decided on its own, then
//   deny  → Airlock answers that id itself (answers.ts); the message is never forwarded
//   hold  → the message alone becomes a hold, exactly as an HTTP hold (same store, waits, approvals, execution once);
//           a pending hold is answered as a refusal that says when to call again, an executed one with the
//           upstream's answer rewritten for the id of the call being answered (a retry has a new id)
//   allow / review → forwarded; a single message's response streams back untouched (JSON or SSE), except a
//           tools/list result, from which tools the policy would deny are removed (tools-list.ts)
// A batch forwards its allowed messages as one batch and merges Airlock's answers into the upstream's (JSON array,
// or extra SSE events before and after the upstream's). The runtime-facing parts (policy, upstream, holds) come in
// as functions, so this module is the same on Node and Workers.
import { AirlockError, type ErrorCode, errorResponse, toAirlockError } from '../errors.ts'
import type { Decision } from '../policy/decision.ts'
import { type Refusal, refusalAnswer, refusalFromResponse, rpcError } from './answers.ts'
import {
  dedupeDigest,
  type InvalidMessage,
  type JsonRpcId,
  type McpInput,
  type McpMessage,
  mcpInput,
  messageBytes,
  type Parsed,
} from './jsonrpc.ts'
import { isSse, mapSse, messagesIn, sseEvent } from './sse.ts'
import { filterToolsResult, listingInput } from './tools-list.ts'

export interface McpCall {
  parsed: Extract<Parsed, { ok: true }>
  /** The agent's bytes (forwarded unchanged when every message is). */
  body: Uint8Array
  headers: Headers
  decisionId: string
  /** Evaluates the policy with this input.mcp; throws an AirlockError when the policy fails (which refuses). */
  decide(mcp: McpInput): Promise<Decision>
  /** Sends bytes upstream (the route's credential is injected there). */
  forward(body: Uint8Array): Promise<Response>
  /** Holds one message (its own bytes; dedupe ignores its id) and returns the hold gate's answer. */
  hold(
    m: McpMessage,
    mcp: McpInput,
    decision: Decision,
    body: Uint8Array,
    dedupeSha256: string,
  ): Promise<{ holdId: string; response: Response }>
  /** A `review` message was forwarded and the upstream answered with this status. */
  reviewed?(m: McpMessage, mcp: McpInput, decision: Decision, status: number): Promise<void>
}

/** One message's fate, for the decision log. */
export interface MessageRecord {
  index: number
  method: string | null
  tool: string | null
  action: Decision['action'] | 'invalid' | 'error'
  rule: string | null
  hold_id?: string
  error_code?: string
  hidden_tools?: string[]
}

export interface McpOutcome {
  response: Response
  messages: MessageRecord[]
}

type Decided =
  | { m: McpMessage; input: McpInput; decision: Decision }
  | { m: McpMessage; input: McpInput; refusal: Refusal }

/** A body Airlock could not read as JSON-RPC: one error, HTTP 400 as the SDK servers answer it, nothing forwarded. */
export function malformedResponse(p: Extract<Parsed, { ok: false }>, decisionId: string): Response {
  return json(
    rpcError(p.id, p.code, p.message, { code: 'AIRLOCK_BODY_MALFORMED', decision_id: decisionId }),
    400,
    decisionId,
  )
}

export async function enforceMcp(call: McpCall): Promise<McpOutcome> {
  const { parsed, decisionId } = call
  const batchSize = parsed.batch ? parsed.messages.length : null
  const records: MessageRecord[] = []
  const early: object[] = []
  const decided: Decided[] = []

  for (const m of parsed.messages) {
    if (m.kind === 'invalid') {
      records.push({ index: m.index, method: null, tool: null, action: 'invalid', rule: null })
      early.push(invalidAnswer(m, decisionId))
      continue
    }
    const input = mcpInput(m, call.headers, batchSize)
    try {
      decided.push({ m, input, decision: await call.decide(input) })
    } catch (err) {
      const e = toAirlockError(err)
      decided.push({ m, input, refusal: { code: e.code, message: e.message, decision_id: decisionId, ...e.details } })
    }
  }

  const forwarded: Extract<Decided, { decision: Decision }>[] = []
  const held: Extract<Decided, { decision: Decision }>[] = []
  for (const d of decided) {
    const record: MessageRecord = {
      index: d.m.index,
      method: d.m.method,
      tool: d.input.tool,
      action: 'error',
      rule: null,
    }
    records.push(record)
    if ('refusal' in d) {
      record.error_code = d.refusal.code
      const answer = refusalAnswer(d.m, d.refusal)
      if (answer) early.push(answer)
      continue
    }
    record.action = d.decision.action
    record.rule = d.decision.rule
    if (d.decision.action === 'deny') {
      record.error_code = 'AIRLOCK_DENIED'
      const answer = refusalAnswer(d.m, {
        code: 'AIRLOCK_DENIED',
        message: denyMessage(d),
        rule: d.decision.rule,
        decision_id: decisionId,
      })
      if (answer) early.push(answer)
    } else if (d.decision.action === 'hold') held.push(d)
    else forwarded.push(d)
  }
  records.sort((a, b) => a.index - b.index)
  const recordOf = (m: McpMessage) => records.find((r) => r.index === m.index)!

  // Held messages wait for their person while the allowed ones go upstream.
  const holdAnswers = Promise.all(held.map((d) => answerHold(call, d, recordOf(d.m))))
  const keep = (list: McpInput) => async (tool: string) => {
    try {
      return (await call.decide(listingInput(list, tool))).action !== 'deny'
    } catch {
      return false
    }
  }

  if (!parsed.batch) {
    if (held.length) return { response: (await holdAnswers)[0]!.response, messages: records }
    if (!forwarded.length) {
      const answer = early[0]
      if (answer) return { response: json(answer, 200, decisionId), messages: records }
      // A refused notification or response has no JSON-RPC answer: say so in HTTP rather than feign a 202.
      const d = decided[0]!
      const e =
        'refusal' in d
          ? new AirlockError(d.refusal.code as ErrorCode, d.refusal.message, { rule: d.refusal.rule })
          : new AirlockError('AIRLOCK_DENIED', denyMessage(d), { rule: d.decision.rule, action: 'deny' })
      return { response: errorResponse(e, decisionId), messages: records }
    }
    const d = forwarded[0]!
    let res: Response
    try {
      res = await call.forward(call.body)
    } catch (err) {
      return { response: json(sendFailure(d.m, err, decisionId)!, 200, decisionId), messages: records }
    }
    if (d.decision.action === 'review') await call.reviewed?.(d.m, d.input, d.decision, res.status)
    if (d.m.method === 'tools/list')
      return { response: await filterResponse(res, d.m.id, keep(d.input), recordOf(d.m)), messages: records }
    return { response: res, messages: records }
  }

  // A batch.
  let upstream: Response | null = null
  const failed: object[] = []
  if (forwarded.length) {
    const all = forwarded.length === parsed.messages.length
    const bytes = all ? call.body : new TextEncoder().encode(JSON.stringify(forwarded.map((d) => d.m.raw)))
    try {
      upstream = await call.forward(bytes)
      for (const d of forwarded)
        if (d.decision.action === 'review') await call.reviewed?.(d.m, d.input, d.decision, upstream.status)
    } catch (err) {
      for (const d of forwarded) failed.push(...[sendFailure(d.m, err, decisionId)].filter((a) => a !== null))
    }
  }
  const lists = forwarded.filter((d) => d.m.method === 'tools/list')
  const change = async (message: unknown) => {
    for (const d of lists) {
      const f = await filterToolsResult(message, d.m.id, keep(d.input))
      if (f) {
        recordOf(d.m).hidden_tools = f.hidden
        return f.message
      }
    }
    return undefined
  }
  const mine = [...early, ...failed]
  // An upstream that failed the whole POST (e.g. 404 for an unknown session) answers it as it is.
  if (upstream && ![200, 202].includes(upstream.status)) return { response: upstream, messages: records }

  if (upstream && upstream.status === 200 && isSse(upstream.headers.get('content-type')) && upstream.body) {
    const body = upstream.body
    const enc = new TextEncoder()
    const stream = new ReadableStream<Uint8Array>({
      async start(out) {
        for (const a of mine) out.enqueue(enc.encode(sseEvent(a)))
        const reader = mapSse(body, change).getReader()
        for (let r = await reader.read(); !r.done; r = await reader.read()) out.enqueue(r.value)
        for (const a of (await holdAnswers).flatMap((h) => h.messages)) out.enqueue(enc.encode(sseEvent(a)))
        out.close()
      },
    })
    return {
      response: new Response(stream, { status: 200, headers: mergedHeaders(upstream, 'text/event-stream') }),
      messages: records,
    }
  }

  const fromUpstream =
    upstream?.status === 200
      ? messagesIn(new Uint8Array(await upstream.arrayBuffer()), upstream.headers.get('content-type'))
      : []
  const changed = await Promise.all(fromUpstream.map(async (m) => (await change(m)) ?? m))
  const answers = [...mine, ...changed, ...(await holdAnswers).flatMap((h) => h.messages)]
  if (!answers.length)
    return {
      response: new Response(null, {
        status: 202,
        headers: upstream ? mergedHeaders(upstream, null) : { 'airlock-decision-id': decisionId },
      }),
      messages: records,
    }
  return { response: json(answers, 200, decisionId, upstream ?? undefined), messages: records }
}

/** A held message: the hold gate's answer as a Response (single message) and as JSON-RPC messages (batch). */
async function answerHold(
  call: McpCall,
  d: Extract<Decided, { decision: Decision }>,
  record: MessageRecord,
): Promise<{ response: Response; messages: object[] }> {
  const single = !call.parsed.batch
  const body = single ? call.body : messageBytes(d.m)
  let outcome: { holdId: string; response: Response }
  try {
    outcome = await call.hold(d.m, d.input, d.decision, body, dedupeDigest(d.m))
  } catch (err) {
    const answer = sendFailure(d.m, err, call.decisionId)
    return {
      response: answer ? json(answer, 200, call.decisionId) : new Response(null, { status: 202 }),
      messages: answer ? [answer] : [],
    }
  }
  record.hold_id = outcome.holdId
  const res = outcome.response
  const refusal = await refusalFromResponse(res, d.m, d.decision.reason)
  if (refusal) {
    record.error_code = refusal.code
    const answer = refusalAnswer(d.m, { ...refusal, decision_id: call.decisionId })
    return {
      response: answer ? json(answer, 200, call.decisionId, res) : new Response(null, { status: 202 }),
      messages: answer ? [answer] : [],
    }
  }
  // Executed: the upstream's answer to the message as first sent, readdressed to the id being answered now.
  const readdress = (m: unknown) => (isResponse(m) ? { ...m, id: d.m.id } : undefined)
  if (!single) {
    const bytes = new Uint8Array(await res.arrayBuffer())
    return {
      response: res,
      messages: messagesIn(bytes, res.headers.get('content-type'))
        .map((m) => (readdress(m) ?? m) as object)
        .filter(isResponse),
    }
  }
  if (res.body && isSse(res.headers.get('content-type'))) {
    const h = new Headers(res.headers)
    h.delete('content-length')
    return { response: new Response(mapSse(res.body, readdress), { status: res.status, headers: h }), messages: [] }
  }
  const bytes = new Uint8Array(await res.arrayBuffer())
  const messages = messagesIn(bytes, res.headers.get('content-type'))
  if (messages.length !== 1 || !isResponse(messages[0])) return { response: new Response(bytes, res), messages: [] }
  const h = new Headers(res.headers)
  h.delete('content-length')
  return {
    response: new Response(JSON.stringify(readdress(messages[0])), { status: res.status, headers: h }),
    messages: [],
  }
}

async function filterResponse(
  res: Response,
  id: JsonRpcId,
  keep: (tool: string) => Promise<boolean>,
  record: MessageRecord,
): Promise<Response> {
  if (res.status !== 200 || !res.body) return res
  const change = async (m: unknown) => {
    const f = await filterToolsResult(m, id, keep)
    if (f) record.hidden_tools = f.hidden
    return f?.message
  }
  if (isSse(res.headers.get('content-type'))) return new Response(mapSse(res.body, change), res)
  const bytes = new Uint8Array(await res.arrayBuffer())
  const [m, ...more] = messagesIn(bytes, res.headers.get('content-type'))
  const changed = more.length ? undefined : await change(m)
  if (changed === undefined) return new Response(bytes, res)
  const h = new Headers(res.headers)
  h.delete('content-length')
  return new Response(JSON.stringify(changed), { status: 200, headers: h })
}

function denyMessage(d: { m: McpMessage; input: McpInput; decision: Decision }): string {
  const what = d.input.tool ? `the tool "${d.input.tool}"` : `"${d.m.method}"`
  return `Airlock (the gateway between you and this MCP server) refused ${what}: ${d.decision.reason}. It was not run; do not retry it unchanged.`
}

function invalidAnswer(m: InvalidMessage, decisionId: string): object {
  return rpcError(m.id, m.code, m.message, {
    code: 'AIRLOCK_BODY_MALFORMED',
    decision_id: decisionId,
    batch_index: m.index,
  })
}

/** Sending upstream failed (connect, timeout, credential missing): that message's answer says so. */
function sendFailure(m: McpMessage, err: unknown, decisionId: string): object | null {
  const e = toAirlockError(err)
  return refusalAnswer(m, { code: e.code, message: e.message, decision_id: decisionId, ...e.details })
}

function isResponse(m: unknown): m is Record<string, unknown> {
  return typeof m === 'object' && m !== null && !('method' in m) && 'id' in m && ('result' in m || 'error' in m)
}

/** The upstream's headers (session id, protocol version) for a body Airlock rebuilt. */
function mergedHeaders(upstream: Response, contentType: string | null): Headers {
  const h = new Headers(upstream.headers)
  h.delete('content-length')
  if (contentType) h.set('content-type', contentType)
  return h
}

function json(value: unknown, status: number, decisionId: string, upstream?: Response): Response {
  const h = upstream ? mergedHeaders(upstream, 'application/json') : new Headers({ 'content-type': 'application/json' })
  h.set('airlock-decision-id', decisionId)
  h.set('cache-control', 'no-store')
  return new Response(JSON.stringify(value), { status, headers: h })
}
