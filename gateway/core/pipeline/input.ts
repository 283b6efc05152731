// Builds the policy input (the public contract documented in docs/policy.md) from a routed, authenticated request.
import type { RouteConfig } from '../config/schema.ts'
import { AirlockError } from '../errors.ts'
import type { McpInput } from '../mcp/jsonrpc.ts'
import { withRawBody } from '../policy/input-json.ts'
import { redactHeaders, redactQuery, redactUrl } from '../redact.ts'
import { decodeBody } from './body.ts'
import { messageHeaders } from './forward.ts'
import type { Agent, AgentUsage, GrantInput, PolicyInput } from './request.ts'

export interface InputParts {
  method: string
  upstreamUrl: URL
  headers: Headers
  body: Uint8Array | null
  bodySha256: string
  agent: Agent
  route: RouteConfig
  nowMs: number
  pendingHolds: Record<string, number>
  /** The agent's live grants (input.gateway.grants; docs/policy.md). */
  grants?: GrantInput[] | undefined
  /** The agent's usage from the limiter (input.agent.usage). */
  usage?: AgentUsage | undefined
  /** On an MCP route, the message being decided (input.mcp; docs/mcp.md). */
  mcp?: McpInput | undefined
}

const defaultPorts: Record<string, number> = { 'http:': 80, 'https:': 443 }

/** %2F and %5C: a `/` or `\` inside a segment, which an upstream may decode into a separator. */
const ENCODED_SEPARATOR = /%(2f|5c)/i

export function buildInput(p: InputParts): PolicyInput {
  const u = p.upstreamUrl
  // What the upstream will get: connection-scoped headers (and any named in Connection:) are not part of it.
  const headers = messageHeaders(p.headers)
  const intent = headers.get('airlock-intent')
  const port = u.port ? Number(u.port) : (defaultPorts[u.protocol] ?? 0)
  // A CONNECT tunnel is decided per host: Airlock sees no scheme, path or query inside it (RFC 9110 §9.3.6).
  const tunnel = p.method === 'CONNECT'
  if (!tunnel && !p.route.allow_encoded_slashes && ENCODED_SEPARATOR.test(u.pathname)) {
    throw new AirlockError(
      'AIRLOCK_PATH_AMBIGUOUS',
      `the path contains an encoded "/" or "\\" (%2F or %5C), which the upstream may read as a different path than the policy would judge; it was refused. Send the path without them${p.route.name ? `, or ask the operator to set allow_encoded_slashes on route "${p.route.name}"` : ''}`,
    )
  }
  const body = decodeBody(p.body, headers.get('content-type'))
  const input: PolicyInput = {
    request: {
      method: p.method,
      url: tunnel ? `${u.hostname}:${port}` : redactUrl(u),
      scheme: tunnel ? '' : u.protocol.slice(0, -1),
      host: u.hostname,
      port,
      path: tunnel ? '' : u.pathname,
      parsed_path: tunnel ? [] : u.pathname.split('/').filter(Boolean).map(decodeSegment),
      query: tunnel ? {} : redactQuery(u.searchParams),
      headers: redactHeaders(headers),
      body: body.value,
      body_media_type: tunnel ? null : body.mediaType,
      body_parse_error: tunnel ? null : body.parseError,
      body_size: p.body?.byteLength ?? 0,
      body_sha256: p.bodySha256,
    },
    agent: p.usage ? { ...p.agent, usage: p.usage } : p.agent,
    route: { name: p.route.name, upstream: p.route.upstream },
    intent: intent ? safeDecode(intent) : null,
    gateway: {
      now: new Date(p.nowMs).toISOString(),
      now_ns: p.nowMs * 1e6,
      pending_holds: p.pendingHolds,
      grants: p.grants ?? [],
    },
  }
  if (p.mcp) input.mcp = p.mcp
  return body.json === undefined ? input : withRawBody(input, body.json)
}

/** A segment decoded, except %2F and %5C (a route may allow them): a segment never shows a separator it lacks. */
function decodeSegment(s: string): string {
  return s
    .split(/(%2f|%5c)/i)
    .map((part, i) => (i % 2 ? part.toUpperCase() : safeDecode(part)))
    .join('')
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}
