// What an MCP client receives when Airlock answers a message itself (deny, a hold that has not executed, a failed
// send). The official SDK client throws a JSON-RPC error out of `callTool` as an exception (McpError), and agent
// frameworks differ in whether an exception ever reaches the model; a tool result with `isError: true` is returned
// as an ordinary result whose text goes to the model, which is what the MCP specification asks of tool execution
// errors ("so the LLM can see the error and self-correct"). So: tools/call is answered with a tool error result,
// every other request with a JSON-RPC error; both carry the same machine-readable details (docs/mcp.md).
import type { JsonRpcId, McpMessage } from './jsonrpc.ts'

/** The JSON-RPC error code of every answer Airlock gives itself (-32000…-32099 is for implementations). */
export const AIRLOCK_REFUSED = -32010

/** The `_meta` key of a tool error result that carries Airlock's details. */
export const META_KEY = 'airlock/error'

/** Why Airlock answered instead of the server; the same fields as Airlock's HTTP error bodies. */
export interface Refusal {
  code: string
  message: string
  decision_id: string
  rule?: string | undefined
  hold_id?: string | undefined
  retry_after_s?: number | undefined
  [extra: string]: unknown
}

export function rpcError(id: JsonRpcId, code: number, message: string, data?: unknown): object {
  return { jsonrpc: '2.0', id, error: data === undefined ? { code, message } : { code, message, data } }
}

/** The answer to one message, or null: notifications and responses get none (JSON-RPC 2.0 §4.1). */
export function refusalAnswer(m: McpMessage, r: Refusal): object | null {
  if (m.kind !== 'request') return null
  if (m.method === 'tools/call') {
    return {
      jsonrpc: '2.0',
      id: m.id,
      result: { content: [{ type: 'text', text: r.message }], isError: true, _meta: { [META_KEY]: r } },
    }
  }
  return rpcError(m.id, AIRLOCK_REFUSED, r.message, r)
}

/**
 * Airlock's HTTP error (errors.ts: `airlock-error-code` header, `{error: {code, message, …}}`) as a Refusal, with the
 * message rewritten for a model calling a tool; null when the response is not one of Airlock's errors.
 */
export async function refusalFromResponse(res: Response, m: McpMessage, reason?: string): Promise<Refusal | null> {
  if (!res.headers.get('airlock-error-code')) return null
  const body = (await res.json().catch(() => ({}))) as { error?: Record<string, unknown> }
  const e = body.error ?? {}
  const retry = Number(res.headers.get('retry-after'))
  const r: Refusal = {
    ...e,
    code: String(e.code ?? res.headers.get('airlock-error-code')),
    message: String(e.message ?? 'Airlock refused this message'),
    decision_id: String(e.decision_id ?? res.headers.get('airlock-decision-id') ?? ''),
    ...(Number.isFinite(retry) && retry > 0 ? { retry_after_s: retry } : {}),
  }
  if (r.code === 'AIRLOCK_HOLD_PENDING') r.message = pendingMessage(m, r, reason ?? r.message)
  return r
}

/** The hold message for a model: what to call again, not "the same method, URL and body". */
function pendingMessage(m: McpMessage, r: Refusal, reason: string): string {
  const what = m.method === 'tools/call' ? `tool "${(m.raw.params as { name: string }).name}"` : `"${m.method}" request`
  return (
    `This ${what} needs human approval before it runs: ${reason}. A person has been asked (hold ${r.hold_id}). ` +
    `It has NOT run yet. Call the same ${m.method === 'tools/call' ? 'tool with exactly the same arguments' : 'request with the same params'} ` +
    `again after ${r.retry_after_s ?? 'a few'} seconds to get its result; changed arguments would need a new approval.`
  )
}
