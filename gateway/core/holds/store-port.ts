// What the holds subsystem needs from its store, whichever database keeps it: the SQLite store (store.ts: node:sqlite
// on Node, the Durable Object's SQLite on Workers) answers synchronously inside its transactions; the PostgreSQL store
// (gateway/node/postgres/) answers with promises. Callers await every call, so either fits; each call is one atomic
// statement or transaction in the database, which is where the guarantees live (test/conformance/hold-store.case.ts).
import type { AuditRecord } from './audit.ts'
import type { Grant, NewGrant } from './grants.ts'
import type { ReadScope } from './scope.ts'
import type { CreateResult, NewHold, PendingAudit } from './store.ts'
import type { Approval, Delivery, Denial, Hold, HoldState, Review, StoredResponse, View } from './types.ts'

export type Awaitable<T> = T | Promise<T>

export interface HoldStorePort {
  createOrJoin(
    h: NewHold,
    caps: Record<string, number>,
    settledSince: number,
    audit: (hold: Hold) => PendingAudit | undefined,
  ): Awaitable<CreateResult>
  get(id: string): Awaitable<Hold | undefined>
  list(filter?: {
    state?: HoldState | undefined
    group?: string | undefined
    groups?: ReadScope
    limit?: number
  }): Awaitable<Hold[]>
  all(groups?: ReadScope): Awaitable<Hold[]>
  pendingCounts(): Awaitable<Record<string, number>>
  transition(
    id: string,
    from: readonly HoldState[],
    to: HoldState,
    at: number,
    fields?: { decided_at?: number; error?: string | undefined; denial?: Denial },
  ): Awaitable<boolean>
  addView(id: string, view: View): Awaitable<void>
  addApproval(id: string, approval: Approval, approve: boolean): Awaitable<boolean>
  saveResponse(id: string, r: StoredResponse, at: number): Awaitable<boolean>
  idsIn(state: HoldState, dueBefore?: number): Awaitable<string[]>
  /** When the earliest pending hold expires, or null with none pending. */
  nextExpiryAt(): Awaitable<number | null>
  enqueueDelivery(d: Pick<Delivery, 'hold_id' | 'event' | 'grp' | 'hook' | 'payload'>, at: number): Awaitable<void>
  /** Due deliveries for this caller to send (the PostgreSQL store leases them, so one gateway sends each). */
  dueDeliveries(now: number, limit?: number): Awaitable<Delivery[]>
  nextDeliveryAt(): Awaitable<number | null>
  recordDelivery(
    id: number,
    outcome: { state: Delivery['state']; status: number | null; error: string | null; next_at: number; at: number },
  ): Awaitable<void>
  deliveries(holdId?: string): Awaitable<Delivery[]>
  notifiedAt(holdId: string): Awaitable<number | null>
  countForwarded(rule: string): Awaitable<void>
  forwardedCounts(): Awaitable<Record<string, number>>
  addReview(r: Omit<Review, 'state' | 'reviewer' | 'comment' | 'reviewed_at'>): Awaitable<void>
  reviews(state?: Review['state'], groups?: ReadScope): Awaitable<Review[]>
  getReview(id: string): Awaitable<Review | undefined>
  markReview(
    id: string,
    state: 'ok' | 'flagged',
    reviewer: string,
    comment: string | null,
    at: number,
  ): Awaitable<boolean>
  /** Stores a grant with its audit record (subject: the approved hold), in one transaction. */
  createGrant(g: NewGrant, audit: PendingAudit): Awaitable<Grant>
  getGrant(id: string): Awaitable<Grant | undefined>
  /** The agent's grants not revoked, not expired at `now` and not used up. */
  liveGrants(agentId: string, now: number): Awaitable<Grant[]>
  /** The agents that have a live grant at `now`. */
  grantAgents(now: number): Awaitable<string[]>
  /** Grants in a reader's scope, newest first. */
  grants(groups?: ReadScope, limit?: number): Awaitable<Grant[]>
  /**
   * Takes one use atomically (one conditional UPDATE: same agent and route, not revoked, not expired, uses < max_uses)
   * with its audit record; the grant after the use, or undefined when refused.
   */
  useGrant(
    id: string,
    use: { agent_id: string; route: string; now: number },
    audit: PendingAudit,
  ): Awaitable<Grant | undefined>
  /** Revokes at once, with its audit record; false when already revoked or unknown. */
  revokeGrant(id: string, by: string, at: number, audit: PendingAudit): Awaitable<boolean>
  appendAudit(type: string, actor: string, holdId: string | null, record: unknown, at: number): Awaitable<AuditRecord>
  auditRecords(groups?: ReadScope): Awaitable<AuditRecord[]>
}
