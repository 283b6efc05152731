// What the request pipeline needs from the holds subsystem. On Node the HoldService implements it in process;
// on Workers a thin client forwards each call to the Durable Object that owns the state.
import type { Hono } from 'hono'
import type { Evaluated } from '../gateway.ts'

export interface HeldRequest extends Evaluated {
  /** The agent's Prefer header (RFC 7240): wait=N, respond-async. */
  prefer: string | null
}

export interface HoldOutcome {
  holdId: string
  response: Response
}

export interface HoldGate {
  /** Pending holds per approver group, shown to policies as input.gateway.pending_holds. */
  pendingCounts(): Promise<Record<string, number>>
  /** Stores (or joins, for an identical retry) a hold, notifies approvers, waits as the agent asked. */
  hold(req: HeldRequest, signal: AbortSignal): Promise<HoldOutcome>
  /** Samples a forwarded `review` request into the after-the-fact review queue; true when sampled. */
  review(req: Evaluated, upstreamStatus: number): Promise<boolean>
  /** Adds the approver and hold-status API to the gateway's app. */
  mount(app: Hono): void
}
