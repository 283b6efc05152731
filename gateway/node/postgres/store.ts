// The hold store on PostgreSQL, for several Node gateways sharing one database (issue 15). Same contract as the
// SQLite store (holds/store.ts, checked by test/conformance/hold-store.case.ts), but every guarantee comes from the
// database, never from this process's memory, because another gateway may act at the same instant:
// - one hold per identical request, and group caps: creation under an advisory lock; state moves compare-and-set
//   (holds.ts);
// - webhook deliveries are claimed with a lease, so one gateway sends each (deliveries.ts);
// - audit appends are serialized by an advisory lock, so concurrent appenders extend one chain (audit.ts);
// - a gateway's unfinished sends are told from a live one's by its executor lock (executor.ts).
// This class opens the pool and composes those modules behind the HoldStorePort the holds service uses.
import type pg from 'pg'
import type { AuditRecord } from '../../core/holds/audit.ts'
import type { Grant, NewGrant } from '../../core/holds/grants.ts'
import type { ReadScope } from '../../core/holds/scope.ts'
import type { CreateResult, NewHold, PendingAudit } from '../../core/holds/store.ts'
import type { Approval, Delivery, Hold, HoldState, Review, StoredResponse, View } from '../../core/holds/types.ts'
import * as audits from './audit.ts'
import { earliest, openPool, storeError } from './db.ts'
import * as deliveries from './deliveries.ts'
import { ExecutorListener, orphanedExecutions } from './executor.ts'
import * as grants from './grants.ts'
import * as holds from './holds.ts'
import * as reviews from './reviews.ts'
import { migratePg } from './schema.ts'

export interface PgStoreOptions {
  connectionString: string
  /** Most connections this gateway opens (pg's pool `max`). */
  max?: number
  /** How long a claimed webhook delivery is reserved for the claiming gateway before another may send it. */
  deliveryLeaseMs?: number
  /** TLS to the database (pg's `ssl` option); also settable in the URL (sslmode=…). */
  ssl?: pg.PoolConfig['ssl']
  connectionTimeoutMs?: number
}

export class PgHoldStore {
  readonly pool: pg.Pool
  readonly #leaseMs: number
  /**
   * This gateway's id as an executor: recorded on the holds it sends, and the key of the session advisory lock it
   * holds on its listening connection while it lives (executor.ts).
   */
  readonly executor = 1 + Math.floor(Math.random() * 0x7f_ff_ff_fe)
  readonly #listener: ExecutorListener

  private constructor(pool: pg.Pool, leaseMs: number, options: PgStoreOptions) {
    this.pool = pool
    this.#leaseMs = leaseMs
    this.#listener = new ExecutorListener(options, this.executor)
  }

  /** Opens the pool and migrates (under an advisory lock, so gateways starting together are safe). */
  static async open(o: PgStoreOptions): Promise<PgHoldStore> {
    const pool = openPool(o)
    const store = new PgHoldStore(pool, o.deliveryLeaseMs ?? 60_000, o)
    try {
      await migratePg(pool)
    } catch (err) {
      await pool.end()
      throw storeError(err)
    }
    return store
  }

  /** Re-runs the migrations (a no-op when current); returns the schema version. */
  migrate(): Promise<number> {
    return migratePg(this.pool)
  }

  async close(): Promise<void> {
    await this.#listener.close()
    await this.pool.end()
  }

  /** Calls fn with a hold's id whenever any gateway changes its state; also takes this gateway's executor lock. */
  listen(fn: (holdId: string) => void): Promise<void> {
    return this.#listener.listen(fn)
  }

  /** Whether this gateway currently holds its executor lock (its listening connection is up). */
  get listening(): boolean {
    return this.#listener.connected
  }

  /** Holds left in 'executing' by gateways that are gone (never this one's, never a live one's). */
  orphanedExecutions(): Promise<string[]> {
    return orphanedExecutions(this.pool, this.executor)
  }

  // Holds (holds.ts) -------------------------------------------------------------------------------------------

  createOrJoin(
    h: NewHold,
    caps: Record<string, number>,
    settledSince: number,
    audit: (hold: Hold) => PendingAudit | undefined,
  ): Promise<CreateResult> {
    return holds.createOrJoin(this.pool, h, caps, settledSince, audit)
  }
  get(id: string): Promise<Hold | undefined> {
    return holds.getHold(this.pool, id)
  }
  list(filter: holds.HoldFilter = {}): Promise<Hold[]> {
    return holds.listHolds(this.pool, filter)
  }
  all(groups?: ReadScope): Promise<Hold[]> {
    return holds.allHolds(this.pool, groups)
  }
  pendingCounts(): Promise<Record<string, number>> {
    return holds.pendingCounts(this.pool)
  }
  transition(
    id: string,
    from: readonly HoldState[],
    to: HoldState,
    at: number,
    fields: holds.TransitionFields = {},
  ): Promise<boolean> {
    return holds.transition(this.pool, this.executor, id, from, to, at, fields)
  }
  addView(id: string, view: View): Promise<void> {
    return holds.addView(this.pool, id, view)
  }
  addApproval(id: string, approval: Approval, approve: boolean): Promise<boolean> {
    return holds.addApproval(this.pool, id, approval, approve)
  }
  saveResponse(id: string, r: StoredResponse, at: number): Promise<boolean> {
    return holds.saveResponse(this.pool, id, r, at)
  }
  idsIn(state: HoldState, dueBefore?: number): Promise<string[]> {
    return holds.idsIn(this.pool, state, dueBefore)
  }
  nextExpiryAt(): Promise<number | null> {
    return earliest(this.pool, `SELECT MIN(expires_at) AS t FROM holds WHERE state = 'pending'`)
  }

  // Webhook deliveries (deliveries.ts) -------------------------------------------------------------------------

  enqueueDelivery(d: Pick<Delivery, 'hold_id' | 'event' | 'grp' | 'hook' | 'payload'>, at: number): Promise<void> {
    return deliveries.enqueueDelivery(this.pool, d, at)
  }
  /** Claims due deliveries for this gateway, each under a lease (deliveryLeaseMs). */
  dueDeliveries(now: number, limit = 50): Promise<Delivery[]> {
    return deliveries.claimDueDeliveries(this.pool, this.#leaseMs, now, limit)
  }
  nextDeliveryAt(): Promise<number | null> {
    return earliest(this.pool, `SELECT MIN(next_at) AS t FROM deliveries WHERE state = 'pending'`)
  }
  recordDelivery(
    id: number,
    o: { state: Delivery['state']; status: number | null; error: string | null; next_at: number; at: number },
  ): Promise<void> {
    return deliveries.recordDelivery(this.pool, id, o)
  }
  deliveries(holdId?: string): Promise<Delivery[]> {
    return deliveries.listDeliveries(this.pool, holdId)
  }
  notifiedAt(holdId: string): Promise<number | null> {
    return deliveries.notifiedAt(this.pool, holdId)
  }

  // Review queue (reviews.ts) ----------------------------------------------------------------------------------

  countForwarded(rule: string): Promise<void> {
    return reviews.countForwarded(this.pool, rule)
  }
  forwardedCounts(): Promise<Record<string, number>> {
    return reviews.forwardedCounts(this.pool)
  }
  addReview(r: Omit<Review, 'state' | 'reviewer' | 'comment' | 'reviewed_at'>): Promise<void> {
    return reviews.addReview(this.pool, r)
  }
  reviews(state?: Review['state'], groups?: ReadScope): Promise<Review[]> {
    return reviews.listReviews(this.pool, state, groups)
  }
  getReview(id: string): Promise<Review | undefined> {
    return reviews.getReview(this.pool, id)
  }
  markReview(
    id: string,
    state: 'ok' | 'flagged',
    reviewer: string,
    comment: string | null,
    at: number,
  ): Promise<boolean> {
    return reviews.markReview(this.pool, id, state, reviewer, comment, at)
  }

  // Grants (grants.ts) -----------------------------------------------------------------------------------------

  createGrant(g: NewGrant, audit: PendingAudit): Promise<Grant> {
    return grants.createGrant(this.pool, g, audit)
  }
  getGrant(id: string): Promise<Grant | undefined> {
    return grants.getGrant(this.pool, id)
  }
  liveGrants(agentId: string, now: number): Promise<Grant[]> {
    return grants.liveGrants(this.pool, agentId, now)
  }
  grantAgents(now: number): Promise<string[]> {
    return grants.grantAgents(this.pool, now)
  }
  grants(groups?: ReadScope, limit = 500): Promise<Grant[]> {
    return grants.listGrants(this.pool, groups, limit)
  }
  useGrant(
    id: string,
    use: { agent_id: string; route: string; now: number },
    audit: PendingAudit,
  ): Promise<Grant | undefined> {
    return grants.useGrant(this.pool, id, use, audit)
  }
  revokeGrant(id: string, by: string, at: number, audit: PendingAudit): Promise<boolean> {
    return grants.revokeGrant(this.pool, id, by, at, audit)
  }

  // Audit (audit.ts) -------------------------------------------------------------------------------------------

  /** Appends to the one chain: the advisory lock makes concurrent appenders (any gateway) take turns. */
  appendAudit(type: string, actor: string, holdId: string | null, record: unknown, at: number): Promise<AuditRecord> {
    return audits.appendAudit(this.pool, type, actor, holdId, record, at)
  }
  auditRecords(groups?: ReadScope): Promise<AuditRecord[]> {
    return audits.auditRecords(this.pool, groups)
  }
}
