// The hold store: every state change is one atomic statement or transaction over the SqlDriver, so the
// guarantees (one hold per identical request, caps, exactly-once claims, an unbroken audit chain) hold on both
// runtimes. Business rules (who may approve, comments, expiry) live in HoldService; this file only keeps state.

import type { SqlDriver, SqlValue } from '../ports.ts'
import { type AuditRecord, nextAuditRecord } from './audit.ts'
import * as deliverySql from './delivery-store.ts'
import * as grantSql from './grant-store.ts'
import type { Grant, NewGrant } from './grants.ts'
import * as reviewSql from './review-store.ts'
import { REVIEW_IN_SCOPE } from './review-store.ts'
import { checkCapacity, newHoldRow, toAudit, toHold } from './rows.ts'
import type { ReadScope } from './scope.ts'
import type { PostedMessage, SlackMessageStore } from './slack-store.ts'
import * as slackSql from './slack-store.ts'
import { migrate } from './sql.ts'
import type { Approval, Delivery, Denial, Hold, HoldState, NewHold, Review, StoredResponse, View } from './types.ts'

type Row = { [column: string]: SqlValue }

// A reader's scope in SQL (SQLite's JSON1, on Node and in Durable Objects): the item's groups (a JSON array column)
// meet the reader's groups (one JSON array parameter).
const IN_SCOPE = (column: string) =>
  `EXISTS (SELECT 1 FROM json_each(${column}) AS g WHERE g.value IN (SELECT value FROM json_each(?)))`
const json = (v: unknown) => JSON.stringify(v)

export type { NewHold } from './types.ts'

/** An audit record to append in the same transaction as a new hold (the hold's id is its subject). */
export interface PendingAudit {
  type: string
  actor: string
  record: unknown
  /** Defaults to the hold's created_at. */
  at?: number
}

export interface CreateResult {
  hold: Hold
  /** false when an identical request joined an existing hold. */
  created: boolean
}

export class HoldStore implements SlackMessageStore {
  readonly db: SqlDriver
  constructor(db: SqlDriver) {
    this.db = db
    migrate(db)
  }

  /**
   * Stores a new hold, or returns the live (or executed) hold an identical request already created: an agent's
   * retry attaches to it, so there is never a second hold, notification or upstream call. Caps are checked in the
   * same transaction, so concurrent requests cannot overshoot them.
   */
  createOrJoin(
    h: NewHold,
    caps: Record<string, number>,
    settledSince: number,
    audit: (hold: Hold) => PendingAudit | undefined,
  ): CreateResult {
    return this.db.transaction(() => {
      // Live holds always join; executed and denied ones join within the dedupe window (the retry gets the stored
      // response or the denial again, rather than a second approval request).
      const existing = this.db.all<Row>(
        `SELECT * FROM holds WHERE dedupe_key = ?
           AND (state IN ('pending','approved','executing','outcome_unknown') OR (state IN ('executed','denied') AND updated_at >= ?))
         ORDER BY created_at DESC LIMIT 1`,
        h.dedupe_key,
        settledSince,
      )[0]
      if (existing) return { hold: toHold(existing), created: false }
      const pending = this.pendingCounts()
      checkCapacity(h.groups, caps, pending)
      const row = newHoldRow(h)
      const columns = Object.keys(row)
      this.db.run(
        `INSERT INTO holds (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
        ...Object.values(row),
      )
      this.#pending = undefined
      const hold = this.get(h.id)!
      const entry = audit(hold)
      if (entry) this.appendAudit(entry.type, entry.actor, hold.id, entry.record, entry.at ?? h.created_at)
      return { hold, created: true }
    })
  }

  get(id: string): Hold | undefined {
    const r = this.db.all<Row>(`SELECT * FROM holds WHERE id = ?`, id)[0]
    return r ? toHold(r) : undefined
  }

  /**
   * Holds by state and group (by state: oldest first, the order to work through them; else newest first). `groups` is a
   * reader's scope (scope.ts): applied in the query, before the LIMIT, so the limit counts only visible holds.
   */
  list(
    filter: { state?: HoldState | undefined; group?: string | undefined; groups?: ReadScope; limit?: number } = {},
  ): Hold[] {
    const where: string[] = []
    const params: SqlValue[] = []
    const and = (clause: string, param: SqlValue) => {
      where.push(clause)
      params.push(param)
    }
    if (filter.state) and('state = ?', filter.state)
    if (filter.group) and(`EXISTS (SELECT 1 FROM json_each(holds.groups) AS g WHERE g.value = ?)`, filter.group)
    if (filter.groups) and(IN_SCOPE('holds.groups'), json(filter.groups))
    const order = filter.state ? 'created_at' : 'created_at DESC'
    const sql = `SELECT * FROM holds ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order} LIMIT ?`
    return this.db.all<Row>(sql, ...params, filter.limit ?? 500).map(toHold)
  }

  /** Every hold (in a reader's scope when `groups` is given), oldest first: the report reads them all. */
  all(groups?: ReadScope): Hold[] {
    return groups
      ? this.db
          .all<Row>(`SELECT * FROM holds WHERE ${IN_SCOPE('holds.groups')} ORDER BY created_at`, json(groups))
          .map(toHold)
      : this.db.all<Row>(`SELECT * FROM holds ORDER BY created_at`).map(toHold)
  }

  /** Pending holds per group. Read on every request (policy input), so it is cached and dropped on any change. */
  pendingCounts(): Record<string, number> {
    if (this.#pending) return { ...this.#pending }
    const counts: Record<string, number> = {}
    for (const r of this.db.all<{ groups: string }>(`SELECT groups FROM holds WHERE state = 'pending'`)) {
      for (const g of JSON.parse(r.groups) as string[]) counts[g] = (counts[g] ?? 0) + 1
    }
    this.#pending = counts
    return { ...counts }
  }
  #pending: Record<string, number> | undefined

  /** Moves a hold from one of `from` to `to`; false when another actor moved it first (compare-and-set). */
  transition(
    id: string,
    from: readonly HoldState[],
    to: HoldState,
    at: number,
    fields: { decided_at?: number; error?: string | undefined; denial?: Denial } = {},
  ): boolean {
    this.#pending = undefined
    const changed = this.db.run(
      `UPDATE holds SET state = ?, updated_at = ?, decided_at = COALESCE(?, decided_at), error = COALESCE(?, error),
         denial = COALESCE(?, denial)
       WHERE id = ? AND state IN (${from.map(() => '?').join(',')})`,
      to,
      at,
      fields.decided_at ?? null,
      fields.error ?? null,
      fields.denial ? json(fields.denial) : null,
      id,
      ...from,
    )
    return changed === 1
  }

  addView(id: string, view: View): void {
    const h = this.get(id)
    if (!h) return
    this.db.run(`UPDATE holds SET views = ? WHERE id = ?`, json([...h.views, view]), id)
  }

  /** Records an approval while the hold is pending; moves it to approved when `approve` is true. */
  addApproval(id: string, approval: Approval, approve: boolean): boolean {
    this.#pending = undefined
    return this.db.transaction(() => {
      const h = this.get(id)
      if (h?.state !== 'pending') return false
      if (h.approvals.some((a) => a.approver === approval.approver)) return false
      this.db.run(
        `UPDATE holds SET approvals = ?, updated_at = ?, state = ?, decided_at = ? WHERE id = ? AND state = 'pending'`,
        json([...h.approvals, approval]),
        approval.at,
        approve ? 'approved' : 'pending',
        approve ? approval.at : null,
        id,
      )
      return true
    })
  }

  saveResponse(id: string, r: StoredResponse, at: number): boolean {
    return (
      this.db.run(
        `UPDATE holds SET state = 'executed', updated_at = ?, response_status = ?, response_headers = ?, response_body = ?,
           response_truncated = ?
         WHERE id = ? AND state = 'executing'`,
        at,
        r.status,
        json(r.headers),
        r.body,
        r.truncated ? 1 : 0,
        id,
      ) === 1
    )
  }

  /** When the earliest pending hold expires (the Durable Object arms its alarm for it), or null with none pending. */
  nextExpiryAt(): number | null {
    return (
      this.db.all<{ t: number | null }>(`SELECT MIN(expires_at) AS t FROM holds WHERE state = 'pending'`)[0]?.t ?? null
    )
  }

  idsIn(state: HoldState, dueBefore?: number): string[] {
    const rows =
      dueBefore === undefined
        ? this.db.all<{ id: string }>(`SELECT id FROM holds WHERE state = ?`, state)
        : this.db.all<{ id: string }>(`SELECT id FROM holds WHERE state = ? AND expires_at <= ?`, state, dueBefore)
    return rows.map((r) => r.id)
  }

  // Webhook deliveries (delivery-store.ts) ---------------------------------------------------------------------

  enqueueDelivery(d: Pick<Delivery, 'hold_id' | 'event' | 'grp' | 'hook' | 'payload'>, at: number): void {
    deliverySql.enqueueDelivery(this.db, d, at)
  }
  dueDeliveries(now: number, limit = 50): Delivery[] {
    return deliverySql.dueDeliveries(this.db, now, limit)
  }
  nextDeliveryAt(): number | null {
    return deliverySql.nextDeliveryAt(this.db)
  }
  recordDelivery(
    id: number,
    outcome: { state: Delivery['state']; status: number | null; error: string | null; next_at: number; at: number },
  ): void {
    deliverySql.recordDelivery(this.db, id, outcome)
  }
  deliveries(holdId?: string): Delivery[] {
    return deliverySql.deliveries(this.db, holdId)
  }
  /** When the first delivery of hold.created succeeded: "notified at". */
  notifiedAt(holdId: string): number | null {
    return deliverySql.notifiedAt(this.db, holdId)
  }

  // Review queue (review-store.ts) -----------------------------------------------------------------------------

  countForwarded(rule: string): void {
    reviewSql.countForwarded(this.db, rule)
  }
  forwardedCounts(): Record<string, number> {
    return reviewSql.forwardedCounts(this.db)
  }
  addReview(r: Omit<Review, 'state' | 'reviewer' | 'comment' | 'reviewed_at'>): void {
    reviewSql.addReview(this.db, r)
  }
  /** Review items, oldest first; `groups` is a reader's scope (scope.ts reviewGroups: no named group = every group). */
  reviews(state?: Review['state'], groups?: ReadScope): Review[] {
    return reviewSql.reviews(this.db, state, groups)
  }
  getReview(id: string): Review | undefined {
    return reviewSql.getReview(this.db, id)
  }
  markReview(id: string, state: 'ok' | 'flagged', reviewer: string, comment: string | null, at: number): boolean {
    return reviewSql.markReview(this.db, id, state, reviewer, comment, at)
  }

  // Grants (grant-store.ts) ------------------------------------------------------------------------------------

  #append = (type: string, actor: string, holdId: string | null, record: unknown, at: number) =>
    this.appendAudit(type, actor, holdId, record, at)
  // Posted Slack messages (slack-store.ts) ----------------------------------------------------------------------

  saveSlackMessage(m: PostedMessage): void {
    slackSql.saveSlackMessage(this.db, m)
  }

  slackMessage(holdId: string, grp: string): PostedMessage | undefined {
    return slackSql.slackMessage(this.db, holdId, grp)
  }

  slackMessageAt(channel: string, ts: string): PostedMessage | undefined {
    return slackSql.slackMessageAt(this.db, channel, ts)
  }

  createGrant(g: NewGrant, audit: PendingAudit): Grant {
    return grantSql.createGrant(this.db, this.#append, g, audit)
  }
  getGrant(id: string): Grant | undefined {
    return grantSql.getGrant(this.db, id)
  }
  liveGrants(agentId: string, now: number): Grant[] {
    return grantSql.liveGrants(this.db, agentId, now)
  }
  grantAgents(now: number): string[] {
    return grantSql.grantAgents(this.db, now)
  }
  grants(groups?: ReadScope, limit?: number): Grant[] {
    return grantSql.listGrants(this.db, groups, limit)
  }
  useGrant(id: string, use: { agent_id: string; route: string; now: number }, audit: PendingAudit): Grant | undefined {
    return grantSql.useGrant(this.db, this.#append, id, use, audit)
  }
  revokeGrant(id: string, by: string, at: number, audit: PendingAudit): boolean {
    return grantSql.revokeGrant(this.db, this.#append, id, by, at, audit)
  }

  // Audit ------------------------------------------------------------------------------------------------------

  appendAudit(type: string, actor: string, holdId: string | null, record: unknown, at: number): AuditRecord {
    return this.db.transaction(() => {
      const last = this.db.all<{ seq: number; hash: string }>(
        `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`,
      )[0]
      const entry = nextAuditRecord(last, { at, type, actor, hold_id: holdId, record })
      this.db.run(
        `INSERT INTO audit (seq, at, type, actor, hold_id, record, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        entry.seq,
        at,
        type,
        actor,
        holdId,
        json(record),
        entry.prev_hash,
        entry.hash,
      )
      return entry
    })
  }

  /**
   * The audit log in order. With `groups` (a reader's scope), only the records about holds and review items in it:
   * such a slice cannot be verified as a chain, which is why verification reads the whole log (verifyChain).
   */
  auditRecords(groups?: ReadScope): AuditRecord[] {
    const rows = groups
      ? this.db.all<Row>(
          `SELECT * FROM audit WHERE
             (hold_id IS NOT NULL AND EXISTS (SELECT 1 FROM holds WHERE holds.id = audit.hold_id AND ${IN_SCOPE('holds.groups')}))
             OR (hold_id IS NULL AND EXISTS (SELECT 1 FROM reviews WHERE reviews.id = json_extract(audit.record, '$.review_id')
                                               AND ${REVIEW_IN_SCOPE}))
           ORDER BY seq`,
          json(groups),
          json(groups),
        )
      : this.db.all<Row>(`SELECT * FROM audit ORDER BY seq`)
    return rows.map(toAudit)
  }
}
