// The request as the pipeline's stages see it: what a mode's adapter hands in (InboundRequest, Target) and what
// every stage after policy evaluation reads (Evaluated), with who sent it (Agent) and what the policy sees of it
// (PolicyInput). Plain types only: this module imports no stage and no port, so any stage, port or adapter can use
// it without an import loop.
import type { RouteConfig } from '../config/schema.ts'
import type { McpInput } from '../mcp/jsonrpc.ts'
import type { Decision } from '../policy/decision.ts'

/** Who sent a request: an agent from the config, identified by its Airlock key. */
export interface Agent {
  id: string
  owner: string
  labels: Record<string, string>
}

/** input.agent.usage: what the agent is using now, this request included (limits/agent-limiter.ts enforces it). */
export interface AgentUsage {
  in_flight: number
  max_in_flight: number
  rate: { per_minute: number; burst: number; remaining: number } | null
}

/** The policy input: the public contract documented in docs/policy.md, built by input.ts. */
export interface PolicyInput {
  request: {
    method: string
    url: string
    scheme: string
    host: string
    port: number
    path: string
    parsed_path: string[]
    query: Record<string, string | string[]>
    headers: Record<string, string>
    body: unknown
    /** The declared media type ("application/json"), lower case, no parameters; null without a Content-Type. */
    body_media_type: string | null
    /** Why a non-empty body is not in `body` (no/repeated Content-Type, unparsed type, malformed multipart), or null. */
    body_parse_error: string | null
    body_size: number
    body_sha256: string
  }
  /** usage is absent only where no request is being admitted (airlock policy eval of a hand-written input). */
  agent: Agent & { usage?: AgentUsage }
  route: { name: string; upstream: string }
  intent: string | null
  /** grants: the agent's live grants (docs/policy.md); absent only for a hand-written input (airlock policy eval). */
  gateway: { now: string; now_ns: number; pending_holds: Record<string, number>; grants?: GrantInput[] }
  /** MCP routes only: the JSON-RPC message being decided (docs/mcp.md). */
  mcp?: McpInput | undefined
}

/**
 * What the pipeline reads from an inbound request, and all it reads: a Web Request satisfies it, and so does the
 * adapter's view of a CONNECT (which a Request cannot carry). The stages touch it only through these five fields
 * (method and url once, headers by name, the body once through readBody), so an adapter may hand in a lighter view
 * of its own (a method, a URL, a header list behind a Headers-compatible object, already-read body bytes) without
 * any stage changing.
 */
export interface InboundRequest {
  readonly method: string
  readonly url: string
  readonly headers: Headers
  /** The body as a stream, or bytes an adapter has already read (readBody applies the same limit to both). */
  readonly body: ReadableStream<Uint8Array> | Uint8Array | null
  /** Aborts when the agent goes away (a held request stops waiting). */
  readonly signal: AbortSignal
}

/** How the request reached Airlock: a route (reverse), HTTP_PROXY (forward), a decrypted tunnel (intercept), a CONNECT (tunnel). */
export type Mode = 'reverse' | 'forward' | 'intercept' | 'tunnel'

/** The request's destination, chosen by the mode's adapter before the pipeline runs. */
export interface Target {
  mode: Mode
  route: RouteConfig
  upstreamUrl: URL
  /** Who sent it: the Airlock key where the route allows it (reverse), Proxy-Authorization (forward), or the agent that opened the tunnel. */
  authenticate(headers: Headers): Promise<Agent>
  /** The scheme and host the agent used to reach Airlock (X-Forwarded-*). */
  requestUrl: URL
  clientAddress: string | undefined
  /** The agent's Authorization and X-Api-Key are its own (it authenticated with Proxy-Authorization). */
  proxied?: boolean
  /** Replaces sending upstream on allow/review: a CONNECT opens its tunnel here. Such a request cannot be held. */
  send?: (e: Evaluated) => Promise<Response>
}

/** The parts of one request every stage after policy evaluation needs. */
export interface Evaluated {
  decisionId: string
  route: RouteConfig
  agent: Agent
  method: string
  upstreamUrl: URL
  headers: Headers
  body: Uint8Array | null
  bodySha256: string
  input: PolicyInput
  decision: Decision
  revision: string
}

/** A request the policy held, as the hold gate receives it. */
export interface HeldRequest extends Evaluated {
  /** The agent's Prefer header (RFC 7240): wait=N, respond-async. */
  prefer: string | null
  /** What makes a retry "identical" when the body alone cannot: an MCP message without its JSON-RPC id. */
  dedupeSha256?: string | undefined
}

/** What the policy sees of a live grant (input.gateway.grants[]; docs/policy.md). */
export interface GrantInput {
  id: string
  hold_id: string
  rule: string
  agent_id: string
  route: string
  created_by: string
  expires_at: string
  expires_at_ns: number
  uses: number
  max_uses: number
  /** Field constraints from the approved request (docs/policy.md): {in: body|query, field, op: equals|max, value}. */
  bounds: { in: 'body' | 'query'; field: string; op: 'equals' | 'max'; value: unknown }[]
}
