// The review queue on PostgreSQL: items forwarded for a look after the fact, and how many each rule forwarded.
import type pg from 'pg'
import { toReview } from '../../core/holds/rows.ts'
import type { ReadScope } from '../../core/holds/scope.ts'
import type { Review } from '../../core/holds/types.ts'
import { changed, json, REVIEW_IN_SCOPE, rows } from './db.ts'

export async function countForwarded(pool: pg.Pool, rule: string): Promise<void> {
  await changed(
    pool,
    `INSERT INTO review_counts (rule, forwarded) VALUES ($1, 1) ON CONFLICT (rule) DO UPDATE SET forwarded = review_counts.forwarded + 1`,
    [rule],
  )
}

export async function forwardedCounts(pool: pg.Pool): Promise<Record<string, number>> {
  return Object.fromEntries(
    (await rows(pool, 'SELECT rule, forwarded FROM review_counts')).map((r) => [r.rule, r.forwarded]),
  )
}

export async function addReview(
  pool: pg.Pool,
  r: Omit<Review, 'state' | 'reviewer' | 'comment' | 'reviewed_at'>,
): Promise<void> {
  await changed(
    pool,
    `INSERT INTO reviews (id, decision_id, created_at, agent_id, route, rule, summary, context, upstream_status, state)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending')`,
    [r.id, r.decision_id, r.created_at, r.agent_id, r.route, r.rule, r.summary, json(r.context), r.upstream_status],
  )
}

export async function listReviews(pool: pg.Pool, state?: Review['state'], groups?: ReadScope): Promise<Review[]> {
  const where: string[] = []
  const params: unknown[] = []
  const p = (v: unknown) => `$${params.push(v)}`
  if (state) where.push(`state = ${p(state)}`)
  if (groups) where.push(REVIEW_IN_SCOPE(p(groups)))
  const found = await rows(
    pool,
    `SELECT * FROM reviews ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, ord`,
    params,
  )
  return found.map(toReview)
}

export async function getReview(pool: pg.Pool, id: string): Promise<Review | undefined> {
  const r = (await rows(pool, 'SELECT * FROM reviews WHERE id = $1', [id]))[0]
  return r ? toReview(r) : undefined
}

export async function markReview(
  pool: pg.Pool,
  id: string,
  state: 'ok' | 'flagged',
  reviewer: string,
  comment: string | null,
  at: number,
): Promise<boolean> {
  const n = await changed(
    pool,
    `UPDATE reviews SET state = $1, reviewer = $2, comment = $3, reviewed_at = $4 WHERE id = $5 AND state = 'pending'`,
    [state, reviewer, comment, at, id],
  )
  return n === 1
}
