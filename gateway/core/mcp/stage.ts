// The pipeline's stage for a POST on an MCP route (`protocol: mcp`): after authentication and the body, it decides
// each JSON-RPC message (enforce.ts) with the pipeline's own stages — decide() for the policy, the forward stage for
// the upstream, the hold gate and review sampling — so an MCP message is logged, held, executed and reviewed exactly
// as an HTTP request is. Returns the response and the decision-log fields it produced, like every stage.
import { sha256Hex } from '../digest.ts'
import { AirlockError } from '../errors.ts'
import { decide } from '../pipeline/decide.ts'
import type { DecisionLogLine } from '../pipeline/decision-log.ts'
import { downstreamResponse, upstreamHeaders } from '../pipeline/forward.ts'
import { buildInput, type InputParts } from '../pipeline/input.ts'
import type { Evaluated, InboundRequest, PolicyInput, Target } from '../pipeline/request.ts'
import type { DecisionDefaults } from '../policy/decision.ts'
import type { HoldGate, Metrics, PolicyEvaluator } from '../ports.ts'
import { enforceMcp, type MessageRecord, malformedResponse } from './enforce.ts'
import { httpMcpInput, type McpInput, parseJsonRpc } from './jsonrpc.ts'

export { httpMcpInput }

/** What the stage uses of the pipeline. */
export interface McpStageDeps {
  policy: PolicyEvaluator
  defaults: DecisionDefaults
  /** Put the input in the log fields (config log.decision_input). */
  logInput: boolean
  holds: HoldGate | undefined
  metrics: Metrics
  /** The forward stage: sends a request upstream with the route's credential. */
  send(e: Pick<Evaluated, 'route' | 'method' | 'upstreamUrl' | 'headers' | 'body'>): Promise<Response>
}

/** One POST on an MCP route, authenticated and read. */
export interface McpRequest {
  decisionId: string
  request: Pick<InboundRequest, 'headers' | 'signal'>
  target: Target
  /** What the policy input is built from (input.ts); body and its sha256 included. */
  parts: InputParts
  revision: string
}

/** The decision-log fields this stage produces (the pipeline composes the one line per request). */
export type McpLog = Pick<
  DecisionLogLine,
  | 'input'
  | 'eval_us'
  | 'metrics'
  | 'action'
  | 'rule'
  | 'reason'
  | 'hold_id'
  | 'error_code'
  | 'upstream_status'
  | 'sampled'
  | 'mcp'
>

const rank = { invalid: 0, error: 4, allow: 1, review: 2, hold: 3, deny: 4 } as const

export async function handleMcpPost(deps: McpStageDeps, r: McpRequest): Promise<{ response: Response; log: McpLog }> {
  const { decisionId, parts, target } = r
  const requestHeaders = r.request.headers
  const log: McpLog = {}
  const parsed = parseJsonRpc(parts.body, requestHeaders.get('content-type'))
  if (!parsed.ok) {
    return {
      response: malformedResponse(parsed, decisionId),
      log: { error_code: 'AIRLOCK_BODY_MALFORMED', reason: parsed.message },
    }
  }
  const base = buildInput(parts)
  if (deps.logInput) log.input = base
  // A copy with the message's input.mcp; the property descriptors keep what input-json.ts attached (the raw body).
  const withMcp = (mcp: McpInput): PolicyInput =>
    Object.assign(Object.defineProperties({}, Object.getOwnPropertyDescriptors(base)) as PolicyInput, { mcp })
  const headers = upstreamHeaders(requestHeaders, {
    route: target.route,
    clientAddress: target.clientAddress,
    requestUrl: target.requestUrl,
    proxied: target.proxied ?? false,
  })
  const evaluatedFor = (
    input: PolicyInput,
    decision: Evaluated['decision'],
    body: Uint8Array,
    bodySha256: string,
  ): Evaluated => ({
    decisionId,
    route: target.route,
    agent: parts.agent,
    method: 'POST',
    upstreamUrl: target.upstreamUrl,
    headers: new Headers(headers),
    body,
    bodySha256,
    input,
    decision,
    revision: r.revision,
  })
  const outcome = await enforceMcp({
    parsed,
    body: parts.body ?? new Uint8Array(0),
    headers: requestHeaders,
    decisionId,
    decide: async (mcp) => {
      const decided = decide(
        deps.policy,
        { input: withMcp(mcp) },
        { defaults: deps.defaults, fallbackSummary: fallbackSummary(mcp) },
      )
      // One evaluation per message (and per listed tool): the line carries their sum.
      log.eval_us = (log.eval_us ?? 0) + (decided.log.eval_us ?? 0)
      log.metrics = {
        timer_rego_query_eval_ns:
          (log.metrics?.timer_rego_query_eval_ns ?? 0) + (decided.log.metrics?.timer_rego_query_eval_ns ?? 0),
      }
      if (!decided.ok) throw decided.error
      return decided.decision
    },
    forward: async (body) => {
      const res = downstreamResponse(
        await deps.send({
          route: target.route,
          method: 'POST',
          upstreamUrl: target.upstreamUrl,
          headers: new Headers(headers),
          body,
        }),
        decisionId,
      )
      log.upstream_status = res.status
      return res
    },
    hold: async (_m, mcp, decision, body, dedupeSha256) => {
      if (!deps.holds) {
        throw new AirlockError(
          'AIRLOCK_DENIED',
          `${decision.reason} (this needs human approval, and approvals are not enabled on this gateway)`,
          { rule: decision.rule, action: 'hold' },
        )
      }
      const e = evaluatedFor(withMcp(mcp), decision, body, await sha256Hex(body))
      return deps.holds.hold({ ...e, prefer: waitOnly(requestHeaders.get('prefer')), dedupeSha256 }, r.request.signal)
    },
    reviewed: async (_m, mcp, decision, status) => {
      if (!deps.holds) return
      const body = parts.body ?? new Uint8Array(0)
      const sampled = await deps.holds.review(evaluatedFor(withMcp(mcp), decision, body, parts.bodySha256), status)
      log.sampled = log.sampled || sampled
    },
  })
  logMessages(deps.metrics, log, outcome.messages)
  return { response: outcome.response, log }
}

/**
 * Prefer without respond-async: an MCP client waits for a JSON-RPC answer and has no use for a 202 with a Location
 * to poll (the transport would take it as "accepted, no response"); the pending answer tells it when to call again.
 */
function waitOnly(prefer: string | null): string | null {
  const kept = (prefer ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p && !/^respond-async\b/i.test(p))
  return kept.length ? kept.join(', ') : null
}

/** What an approver reads when the rule gives no summary: the tool and its arguments. */
export function fallbackSummary(mcp: McpInput): string {
  if (mcp.method !== 'tools/call') return `MCP ${mcp.method ?? mcp.kind}${mcp.uri ? ` ${mcp.uri}` : ''}`
  const args = JSON.stringify(mcp.arguments)
  return `MCP tool ${mcp.tool}(${args.length > 200 ? `${args.slice(0, 199)}…` : args})`
}

/** One decision line per POST: the strictest message's decision at the top, every message under `mcp`. */
function logMessages(metrics: Metrics, line: McpLog, messages: MessageRecord[]): void {
  line.mcp = messages
  const top = [...messages].sort((a, b) => rank[b.action] - rank[a.action])[0]
  if (!top) return
  line.action = top.action === 'invalid' || top.action === 'error' ? 'deny' : top.action
  line.rule = top.rule ?? undefined
  const held = messages.find((m) => m.hold_id)
  if (held) line.hold_id = held.hold_id
  const code = top.error_code ?? messages.find((m) => m.error_code)?.error_code
  if (code) line.error_code = code
  for (const m of messages) metrics.decision(m.action, m.rule ?? 'none', (line.eval_us ?? 0) / 1e6 / messages.length)
}
