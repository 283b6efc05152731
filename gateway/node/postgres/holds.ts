// Holds on PostgreSQL. Creation is serialized by a transaction-scoped advisory lock (creations are rare, a person
// must look at each), so the "is there one already / is the group full" read and the insert cannot interleave with
// another gateway's; state moves are compare-and-set UPDATEs (… WHERE state IN (…)): one approval wins, one gateway
// executes.
import type pg from 'pg'
import { checkCapacity, newHoldRow, parseJson, toHold } from '../../core/holds/rows.ts'
import type { ReadScope } from '../../core/holds/scope.ts'
import type { CreateResult, PendingAudit } from '../../core/holds/store.ts'
import type { Approval, Denial, Hold, HoldState, NewHold, StoredResponse, View } from '../../core/holds/types.ts'
import { appendIn } from './audit.ts'
import { asCaller, changed, type Db, IN_SCOPE, json, type Row, rows, storeError, transaction } from './db.ts'
import { LOCK } from './schema.ts'

export type HoldFilter = {
  state?: HoldState | undefined
  group?: string | undefined
  groups?: ReadScope
  limit?: number
}
export type TransitionFields = { decided_at?: number; error?: string | undefined; denial?: Denial }

/**
 * Stores a new hold, or returns the live (or recently settled) hold an identical request already created, on any
 * gateway. Caps are counted in the same transaction; the audit record is appended in it too.
 */
export function createOrJoin(
  pool: pg.Pool,
  h: NewHold,
  caps: Record<string, number>,
  settledSince: number,
  audit: (hold: Hold) => PendingAudit | undefined,
): Promise<CreateResult> {
  return transaction(pool, [LOCK.create], async (db) => {
    const existing = (
      await db.query(
        `SELECT * FROM holds WHERE dedupe_key = $1
           AND (state IN ('pending','approved','executing','outcome_unknown') OR (state IN ('executed','denied') AND updated_at >= $2))
         ORDER BY created_at DESC LIMIT 1`,
        [h.dedupe_key, settledSince],
      )
    ).rows[0] as Row | undefined
    if (existing) return { hold: toHold(existing), created: false }
    checkCapacity(h.groups, caps, await pendingCountsIn(db))
    const insert = newHoldRow(h)
    const row = (
      await db.query(
        `INSERT INTO holds (${Object.keys(insert).join(', ')})
         VALUES (${Object.keys(insert)
           .map((_, i) => `$${i + 1}`)
           .join(', ')}) RETURNING *`,
        Object.values(insert),
      )
    ).rows[0] as Row
    const hold = toHold(row)
    const entry = asCaller(() => audit(hold) ?? undefined)
    if (entry) await appendIn(db, entry.type, entry.actor, hold.id, entry.record, entry.at ?? h.created_at)
    return { hold, created: true }
  })
}

export async function getHold(pool: pg.Pool, id: string): Promise<Hold | undefined> {
  const r = (await rows(pool, 'SELECT * FROM holds WHERE id = $1', [id]))[0]
  return r ? toHold(r) : undefined
}

export async function listHolds(pool: pg.Pool, filter: HoldFilter = {}): Promise<Hold[]> {
  const where: string[] = []
  const params: unknown[] = []
  const p = (v: unknown) => `$${params.push(v)}`
  if (filter.state) where.push(`state = ${p(filter.state)}`)
  if (filter.group) where.push(`groups ? ${p(filter.group)}`)
  if (filter.groups) where.push(IN_SCOPE('holds.groups', p(filter.groups)))
  const order = filter.state ? 'created_at' : 'created_at DESC'
  const sql = `SELECT * FROM holds ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order} LIMIT ${p(filter.limit ?? 500)}`
  return (await rows(pool, sql, params)).map(toHold)
}

export async function allHolds(pool: pg.Pool, groups?: ReadScope): Promise<Hold[]> {
  const found = groups
    ? await rows(pool, `SELECT * FROM holds WHERE ${IN_SCOPE('holds.groups', '$1')} ORDER BY created_at`, [groups])
    : await rows(pool, 'SELECT * FROM holds ORDER BY created_at')
  return found.map(toHold)
}

/** Pending holds per group, across every gateway (read from the database each time: it is global state). */
export async function pendingCounts(pool: pg.Pool): Promise<Record<string, number>> {
  try {
    return await pendingCountsIn(pool)
  } catch (err) {
    throw storeError(err)
  }
}

async function pendingCountsIn(db: Db): Promise<Record<string, number>> {
  const found = (
    await db.query(
      `SELECT g, COUNT(*)::int AS n FROM holds, jsonb_array_elements_text(holds.groups) AS g WHERE state = 'pending' GROUP BY g`,
    )
  ).rows as { g: string; n: number }[]
  return Object.fromEntries(found.map((r) => [r.g, r.n]))
}

/** Compare-and-set; a move to 'executing' records `executor` (this gateway) on the hold. */
export async function transition(
  pool: pg.Pool,
  executor: number,
  id: string,
  from: readonly HoldState[],
  to: HoldState,
  at: number,
  fields: TransitionFields = {},
): Promise<boolean> {
  const n = await changed(
    pool,
    `UPDATE holds SET state = $1, updated_at = $2, decided_at = COALESCE($3, decided_at), error = COALESCE($4, error),
       denial = COALESCE($5, denial), executor = CASE WHEN $1 = 'executing' THEN $8::integer ELSE executor END
     WHERE id = $6 AND state = ANY($7::text[])`,
    [
      to,
      at,
      fields.decided_at ?? null,
      fields.error ?? null,
      fields.denial ? json(fields.denial) : null,
      id,
      from,
      executor,
    ],
  )
  return n === 1
}

export async function addView(pool: pg.Pool, id: string, view: View): Promise<void> {
  // Appended in the statement itself, so two gateways recording views at once both keep theirs.
  await changed(pool, `UPDATE holds SET views = (views::jsonb || $1::jsonb)::text WHERE id = $2`, [json([view]), id])
}

/** Records an approval while the hold is pending (row locked, so approvals on two gateways queue, never merge). */
export function addApproval(pool: pg.Pool, id: string, approval: Approval, approve: boolean): Promise<boolean> {
  return transaction(pool, [], async (db) => {
    const r = (await db.query('SELECT state, approvals FROM holds WHERE id = $1 FOR UPDATE', [id])).rows[0] as
      | Row
      | undefined
    if (r?.state !== 'pending') return false
    const approvals = parseJson<Approval[]>(r.approvals)
    if (approvals.some((a) => a.approver === approval.approver)) return false
    await db.query(
      `UPDATE holds SET approvals = $1, updated_at = $2, state = $3, decided_at = $4 WHERE id = $5 AND state = 'pending'`,
      [json([...approvals, approval]), approval.at, approve ? 'approved' : 'pending', approve ? approval.at : null, id],
    )
    return true
  })
}

export async function saveResponse(pool: pg.Pool, id: string, r: StoredResponse, at: number): Promise<boolean> {
  const n = await changed(
    pool,
    `UPDATE holds SET state = 'executed', updated_at = $1, response_status = $2, response_headers = $3, response_body = $4,
       response_truncated = $5
     WHERE id = $6 AND state = 'executing'`,
    [at, r.status, json(r.headers), r.body, r.truncated ? 1 : 0, id],
  )
  return n === 1
}

export async function idsIn(pool: pg.Pool, state: HoldState, dueBefore?: number): Promise<string[]> {
  const found =
    dueBefore === undefined
      ? await rows(pool, 'SELECT id FROM holds WHERE state = $1', [state])
      : await rows(pool, 'SELECT id FROM holds WHERE state = $1 AND expires_at <= $2', [state, dueBefore])
  return found.map((r) => r.id as string)
}
