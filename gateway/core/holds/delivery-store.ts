// Webhook deliveries in the SQLite hold store (node:sqlite on Node, the Durable Object's SQLite on Workers): the
// HoldStore's delivery methods delegate here. The notifier (notifier.ts) queues one row per event and group, sends due
// rows and records each attempt; the approver's view lists them, and the first delivered hold.created is "notified at".
import type { SqlDriver } from '../ports.ts'
import type { Delivery } from './types.ts'

export function enqueueDelivery(
  db: SqlDriver,
  d: Pick<Delivery, 'hold_id' | 'event' | 'grp' | 'hook' | 'payload'>,
  at: number,
): void {
  db.run(
    `INSERT INTO deliveries (hold_id, event, grp, hook, payload, state, next_at, created_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)`,
    d.hold_id,
    d.event,
    d.grp,
    d.hook,
    d.payload,
    at,
    at,
  )
}

export function dueDeliveries(db: SqlDriver, now: number, limit: number): Delivery[] {
  return db.all<Delivery>(
    `SELECT * FROM deliveries WHERE state = 'pending' AND next_at <= ? ORDER BY id LIMIT ?`,
    now,
    limit,
  )
}

export function nextDeliveryAt(db: SqlDriver): number | null {
  return db.all<{ t: number | null }>(`SELECT MIN(next_at) AS t FROM deliveries WHERE state = 'pending'`)[0]?.t ?? null
}

export function recordDelivery(
  db: SqlDriver,
  id: number,
  outcome: { state: Delivery['state']; status: number | null; error: string | null; next_at: number; at: number },
): void {
  db.run(
    `UPDATE deliveries SET state = ?, attempts = attempts + 1, last_status = ?, last_error = ?, next_at = ?,
       delivered_at = CASE WHEN ? = 'delivered' THEN ? ELSE delivered_at END
     WHERE id = ?`,
    outcome.state,
    outcome.status,
    outcome.error,
    outcome.next_at,
    outcome.state,
    outcome.at,
    id,
  )
}

export function deliveries(db: SqlDriver, holdId?: string): Delivery[] {
  return holdId
    ? db.all<Delivery>(`SELECT * FROM deliveries WHERE hold_id = ? ORDER BY id`, holdId)
    : db.all<Delivery>(`SELECT * FROM deliveries ORDER BY id`)
}

/** When the first delivery of hold.created succeeded: "notified at". */
export function notifiedAt(db: SqlDriver, holdId: string): number | null {
  return (
    db.all<{ t: number | null }>(
      `SELECT MIN(delivered_at) AS t FROM deliveries WHERE hold_id = ? AND event = 'hold.created' AND state = 'delivered'`,
      holdId,
    )[0]?.t ?? null
  )
}
