// Webhook deliveries on PostgreSQL, claimed with a lease (FOR UPDATE SKIP LOCKED, next_at pushed past the lease): one
// gateway sends each; if it dies mid-delivery, the lease runs out and another gateway sends it.
import type pg from 'pg'
import type { Delivery } from '../../core/holds/types.ts'
import { changed, rows } from './db.ts'

const toDelivery = (r: Record<string, unknown>): Delivery => r as unknown as Delivery

export async function enqueueDelivery(
  pool: pg.Pool,
  d: Pick<Delivery, 'hold_id' | 'event' | 'grp' | 'hook' | 'payload'>,
  at: number,
): Promise<void> {
  await changed(
    pool,
    `INSERT INTO deliveries (hold_id, event, grp, hook, payload, state, next_at, created_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6)`,
    [d.hold_id, d.event, d.grp, d.hook, d.payload, at],
  )
}

/**
 * Claims due deliveries for this gateway: each is handed out once, and comes due again only when its lease runs
 * out without an outcome recorded (the claimer died), so another gateway sends it then.
 */
export async function claimDueDeliveries(
  pool: pg.Pool,
  leaseMs: number,
  now: number,
  limit: number,
): Promise<Delivery[]> {
  const claimed = await rows(
    pool,
    `UPDATE deliveries SET next_at = $1 WHERE id IN (
       SELECT id FROM deliveries WHERE state = 'pending' AND next_at <= $2 ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
     RETURNING *`,
    [now + leaseMs, now, limit],
  )
  return claimed.map(toDelivery).sort((a, b) => a.id - b.id)
}

export async function recordDelivery(
  pool: pg.Pool,
  id: number,
  o: { state: Delivery['state']; status: number | null; error: string | null; next_at: number; at: number },
): Promise<void> {
  await changed(
    pool,
    `UPDATE deliveries SET state = $1, attempts = attempts + 1, last_status = $2, last_error = $3, next_at = $4,
       delivered_at = CASE WHEN $1 = 'delivered' THEN $5::bigint ELSE delivered_at END
     WHERE id = $6`,
    [o.state, o.status, o.error, o.next_at, o.at, id],
  )
}

export async function listDeliveries(pool: pg.Pool, holdId?: string): Promise<Delivery[]> {
  const found = holdId
    ? await rows(pool, 'SELECT * FROM deliveries WHERE hold_id = $1 ORDER BY id', [holdId])
    : await rows(pool, 'SELECT * FROM deliveries ORDER BY id')
  return found.map(toDelivery)
}

export async function notifiedAt(pool: pg.Pool, holdId: string): Promise<number | null> {
  const r = await rows(
    pool,
    `SELECT MIN(delivered_at) AS t FROM deliveries WHERE hold_id = $1 AND event = 'hold.created' AND state = 'delivered'`,
    [holdId],
  )
  return (r[0]?.t as number | null) ?? null
}
