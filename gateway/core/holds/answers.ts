// What an agent is answered for its hold, in one place for every runtime and route: the pipeline's hold stage (Node
// in process, the Durable Object's settle on Workers) and the poll endpoint /_airlock/holds/:id. The wording per
// state is in responses.ts; this decides which answer, and how long the agent's request waits for an outcome.
import type { Config } from '../config/schema.ts'
import { parsePrefer } from './prefer.ts'
import { acceptedResponse, holdResponse } from './responses.ts'
import { type Hold, isTerminal } from './types.ts'

export interface AgentWait {
  /** How long the agent's request waits for an outcome before it is answered (0 for Prefer: respond-async). */
  waitMs: number
  /** The agent asked not to wait (Prefer: respond-async): an open hold is answered 202 with where to poll. */
  respondAsync: boolean
}

/** From the agent's Prefer header (RFC 7240: wait=N, respond-async), within the configured bounds. */
export function agentWait(prefer: string | null, holds: Config['holds']): AgentWait {
  const p = parsePrefer(prefer)
  if (p.respondAsync) return { waitMs: 0, respondAsync: true }
  return { waitMs: Math.min(p.wait ?? holds.wait_s, holds.max_wait_s) * 1000, respondAsync: false }
}

/**
 * The answer for a hold as it stands: 202 Accepted with where to poll when the agent asked not to wait and there is
 * no outcome yet; otherwise the state's answer (the upstream's stored response once executed, a refusal that says
 * what happened, or "pending: retry the identical request"). `decisionId` is the request being answered's own.
 */
export function answerAgent(
  hold: Hold,
  opts: { respondAsync: boolean; retryAfterS: number; decisionId?: string | undefined },
): Response {
  if (opts.respondAsync && !isTerminal(hold.state)) return acceptedResponse(hold, opts.retryAfterS, opts.decisionId)
  return holdResponse(hold, opts.retryAfterS, opts.decisionId)
}
