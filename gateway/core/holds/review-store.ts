// The review queue in the SQLite hold store (node:sqlite on Node, the Durable Object's SQLite on Workers): the
// HoldStore's review methods delegate here. reviews.ts decides what to sample; this file keeps the per-rule counts,
// the items and their verdicts (a verdict is compare-and-set: only a pending item can be marked).
import type { SqlDriver, SqlValue } from '../ports.ts'
import { toReview } from './rows.ts'
import type { ReadScope } from './scope.ts'
import type { Review } from './types.ts'

type Row = { [column: string]: SqlValue }

// A review item belongs to the groups its rule named, or to every group when it named none (scope.ts reviewGroups);
// the reader's groups are one JSON array parameter. store.ts scopes the audit log's review records with it too.
export const REVIEW_IN_SCOPE = `(COALESCE(json_array_length(reviews.context, '$.approvers'), 0) = 0
  OR EXISTS (SELECT 1 FROM json_each(reviews.context, '$.approvers') AS g WHERE g.value IN (SELECT value FROM json_each(?))))`

export function countForwarded(db: SqlDriver, rule: string): void {
  db.run(
    `INSERT INTO review_counts (rule, forwarded) VALUES (?, 1) ON CONFLICT (rule) DO UPDATE SET forwarded = forwarded + 1`,
    rule,
  )
}

export function forwardedCounts(db: SqlDriver): Record<string, number> {
  return Object.fromEntries(
    db
      .all<{ rule: string; forwarded: number }>(`SELECT rule, forwarded FROM review_counts`)
      .map((r) => [r.rule, r.forwarded]),
  )
}

export function addReview(db: SqlDriver, r: Omit<Review, 'state' | 'reviewer' | 'comment' | 'reviewed_at'>): void {
  db.run(
    `INSERT INTO reviews (id, decision_id, created_at, agent_id, route, rule, summary, context, upstream_status, state)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')`,
    r.id,
    r.decision_id,
    r.created_at,
    r.agent_id,
    r.route,
    r.rule,
    r.summary,
    JSON.stringify(r.context),
    r.upstream_status,
  )
}

/** Review items, oldest first; `groups` is a reader's scope (scope.ts reviewGroups: no named group = every group). */
export function reviews(db: SqlDriver, state?: Review['state'], groups?: ReadScope): Review[] {
  const where: string[] = []
  const params: SqlValue[] = []
  const and = (clause: string, param: SqlValue) => {
    where.push(clause)
    params.push(param)
  }
  if (state) and('state = ?', state)
  if (groups) and(REVIEW_IN_SCOPE, JSON.stringify(groups))
  const rows = db.all<Row>(
    `SELECT * FROM reviews ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at`,
    ...params,
  )
  return rows.map(toReview)
}

export function getReview(db: SqlDriver, id: string): Review | undefined {
  const r = db.all<Row>(`SELECT * FROM reviews WHERE id = ?`, id)[0]
  return r ? toReview(r) : undefined
}

export function markReview(
  db: SqlDriver,
  id: string,
  state: 'ok' | 'flagged',
  reviewer: string,
  comment: string | null,
  at: number,
): boolean {
  return (
    db.run(
      `UPDATE reviews SET state = ?, reviewer = ?, comment = ?, reviewed_at = ? WHERE id = ? AND state = 'pending'`,
      state,
      reviewer,
      comment,
      at,
      id,
    ) === 1
  )
}
