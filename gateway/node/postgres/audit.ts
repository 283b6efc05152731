// The audit chain on PostgreSQL: appends are serialized by an advisory lock, so concurrent appenders on any gateway
// extend one chain; other changes append inside their own transaction (appendIn), so no change goes unaudited.
import type pg from 'pg'
import { type AuditRecord, nextAuditRecord } from '../../core/holds/audit.ts'
import { toAudit } from '../../core/holds/rows.ts'
import type { ReadScope } from '../../core/holds/scope.ts'
import { type Db, IN_SCOPE, json, REVIEW_IN_SCOPE, rows, transaction } from './db.ts'
import { LOCK, LOCK_NS } from './schema.ts'

/** Appends inside the caller's transaction, taking the chain's lock until it ends. */
export async function appendIn(
  db: Db,
  type: string,
  actor: string,
  holdId: string | null,
  record: unknown,
  at: number,
): Promise<AuditRecord> {
  await db.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_NS, LOCK.audit])
  const last = (await db.query('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1')).rows[0] as
    | { seq: number; hash: string }
    | undefined
  const entry = nextAuditRecord(last, { at, type, actor, hold_id: holdId, record })
  await db.query(
    'INSERT INTO audit (seq, at, type, actor, hold_id, record, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
    [entry.seq, at, type, actor, holdId, json(record), entry.prev_hash, entry.hash],
  )
  return entry
}

export function appendAudit(
  pool: pg.Pool,
  type: string,
  actor: string,
  holdId: string | null,
  record: unknown,
  at: number,
): Promise<AuditRecord> {
  return transaction(pool, [], (db) => appendIn(db, type, actor, holdId, record, at))
}

export async function auditRecords(pool: pg.Pool, groups?: ReadScope): Promise<AuditRecord[]> {
  const found = groups
    ? await rows(
        pool,
        `SELECT * FROM audit WHERE
           (hold_id IS NOT NULL AND EXISTS (SELECT 1 FROM holds WHERE holds.id = audit.hold_id AND ${IN_SCOPE('holds.groups', '$1')}))
           OR (hold_id IS NULL AND EXISTS (SELECT 1 FROM reviews WHERE reviews.id = (audit.record::jsonb->>'review_id')
                                             AND ${REVIEW_IN_SCOPE('$1')}))
         ORDER BY seq`,
        [groups],
      )
    : await rows(pool, 'SELECT * FROM audit ORDER BY seq')
  return found.map(toAudit)
}
