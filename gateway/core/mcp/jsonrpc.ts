// JSON-RPC 2.0 as an MCP client sends it over the Streamable HTTP transport: one POST carries one message or a batch
// (an array). Each message is validated here and described to the policy as `input.mcp`; a body that is not JSON-RPC
// is refused before the policy runs and never forwarded (an upstream must not be asked to interpret what Airlock
// could not). JSON-RPC 2.0 §5.1 fixes the codes: -32700 parse error, -32600 invalid request, -32602 invalid params.

import { sha256HexSync } from '../digest.ts'
import { canonicalJson } from '../holds/audit.ts'

export type JsonRpcId = string | number | null

export const PARSE_ERROR = -32700
export const INVALID_REQUEST = -32600
export const INVALID_PARAMS = -32602

/** A message Airlock understood: a request (has an id), a notification (no id) or a response (to a server request). */
export interface McpMessage {
  kind: 'request' | 'notification' | 'response'
  /** Position in the batch; 0 for a single message. */
  index: number
  id: JsonRpcId
  method: string | null
  raw: Record<string, unknown>
}

/** A batch element that is not JSON-RPC: answered with an invalid-request error for its id, never forwarded. */
export interface InvalidMessage {
  kind: 'invalid'
  index: number
  id: JsonRpcId
  code: number
  message: string
}

export type Parsed =
  | { ok: true; batch: boolean; messages: (McpMessage | InvalidMessage)[] }
  | { ok: false; code: number; message: string; id: JsonRpcId }

/** What the policy sees of one message (docs/mcp.md). */
export interface McpInput {
  kind: McpMessage['kind'] | 'http'
  method: string | null
  id: JsonRpcId
  tool: string | null
  arguments: Record<string, unknown>
  uri: string | null
  name: string | null
  params: Record<string, unknown>
  session_id: string | null
  protocol_version: string | null
  /** Null for a single message; the message's position for a batch. */
  batch_index: number | null
  batch_size: number
  /** True only for the per-tool query that filters a tools/list result (tools-list.ts). */
  listing: boolean
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isId = (v: unknown): v is JsonRpcId =>
  typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)) || v === null

function isJsonContentType(ct: string | null): boolean {
  const type = (ct ?? '').split(';')[0]!.trim().toLowerCase()
  return type === 'application/json' || type.endsWith('+json')
}

/** Parses a POST body on an MCP route. */
export function parseJsonRpc(body: Uint8Array | null, contentType: string | null): Parsed {
  if (!isJsonContentType(contentType)) {
    return {
      ok: false,
      code: INVALID_REQUEST,
      message: 'MCP messages must be sent as Content-Type: application/json (Streamable HTTP transport)',
      id: null,
    }
  }
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body ?? new Uint8Array(0)))
  } catch {
    return {
      ok: false,
      code: PARSE_ERROR,
      message: 'the request body is not valid JSON, so it is not a JSON-RPC message; it was not forwarded',
      id: null,
    }
  }
  if (Array.isArray(value)) {
    if (value.length === 0)
      return {
        ok: false,
        code: INVALID_REQUEST,
        message: 'an empty JSON-RPC batch is not a valid request; it was not forwarded',
        id: null,
      }
    return { ok: true, batch: true, messages: value.map((v, i) => validate(v, i)) }
  }
  const one = validate(value, 0)
  if (one.kind === 'invalid') return { ok: false, code: one.code, message: one.message, id: one.id }
  return { ok: true, batch: false, messages: [one] }
}

function validate(v: unknown, index: number): McpMessage | InvalidMessage {
  const invalid = (message: string, code = INVALID_REQUEST): InvalidMessage => ({
    kind: 'invalid',
    index,
    id: isObject(v) && isId(v.id) ? v.id : null,
    code,
    message: `${message}; it was not forwarded`,
  })
  if (!isObject(v)) return invalid('a JSON-RPC message must be an object')
  if (v.jsonrpc !== '2.0') return invalid('a JSON-RPC message must have "jsonrpc": "2.0"')
  if ('id' in v && !isId(v.id)) return invalid('a JSON-RPC id must be a string, a number or null')
  if ('method' in v) {
    if (typeof v.method !== 'string' || v.method === '') return invalid('"method" must be a non-empty string')
    if ('params' in v && !isObject(v.params) && !Array.isArray(v.params))
      return invalid('"params" must be an object or an array')
    const params = isObject(v.params) ? v.params : {}
    if (v.method === 'tools/call') {
      if (typeof params.name !== 'string') return invalid('tools/call needs params.name, the tool name', INVALID_PARAMS)
      if ('arguments' in params && !isObject(params.arguments)) {
        return invalid('tools/call params.arguments must be an object', INVALID_PARAMS)
      }
    }
    return {
      kind: 'id' in v ? 'request' : 'notification',
      index,
      id: 'id' in v ? (v.id as JsonRpcId) : null,
      method: v.method,
      raw: v,
    }
  }
  if ('id' in v && 'result' in v !== 'error' in v)
    return { kind: 'response', index, id: v.id as JsonRpcId, method: null, raw: v }
  return invalid(
    'a JSON-RPC message needs a "method" (request or notification) or an "id" with "result" or "error" (response)',
  )
}

/** input.mcp for one message. */
export function mcpInput(m: McpMessage, headers: Headers, batchSize: number | null): McpInput {
  const params = isObject(m.raw.params) ? m.raw.params : {}
  const str = (x: unknown) => (typeof x === 'string' ? x : null)
  return {
    kind: m.kind,
    method: m.method,
    id: m.id,
    tool: m.method === 'tools/call' ? str(params.name) : null,
    arguments: m.method === 'tools/call' && isObject(params.arguments) ? params.arguments : {},
    uri: str(params.uri),
    name: m.method === 'prompts/get' ? str(params.name) : null,
    params,
    session_id: headers.get('mcp-session-id'),
    protocol_version: headers.get('mcp-protocol-version'),
    batch_index: batchSize === null ? null : m.index,
    batch_size: batchSize ?? 1,
    listing: false,
  }
}

/** input.mcp for a request on an MCP route that carries no JSON-RPC (GET opens the server's stream, DELETE ends a session). */
export function httpMcpInput(headers: Headers): McpInput {
  return {
    kind: 'http',
    method: null,
    id: null,
    tool: null,
    arguments: {},
    uri: null,
    name: null,
    params: {},
    session_id: headers.get('mcp-session-id'),
    protocol_version: headers.get('mcp-protocol-version'),
    batch_index: null,
    batch_size: 0,
    listing: false,
  }
}

/** The bytes that go upstream for one message of a batch (a held message is stored and executed on its own). */
export function messageBytes(m: McpMessage): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(m.raw))
}

/**
 * What makes two calls "the same" for a hold: the message without its JSON-RPC id and without params._meta (the SDKs
 * put a per-call progress token there). An agent that retries a held tools/call sends a new id: it must join the
 * hold it is waiting for, not ask a person again.
 */
export function dedupeDigest(m: McpMessage): string {
  const { id: _id, ...rest } = m.raw
  const params = isObject(rest.params) ? (({ _meta, ...p }) => p)(rest.params) : rest.params
  return sha256HexSync(canonicalJson({ ...rest, params }))
}
