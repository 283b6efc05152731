// Grants on PostgreSQL: a use is one conditional UPDATE … RETURNING, in a transaction with its audit record, so no
// two gateways can take the last use and no use goes unaudited.
import type pg from 'pg'
import type { Grant, NewGrant } from '../../core/holds/grants.ts'
import { toGrant } from '../../core/holds/rows.ts'
import type { ReadScope } from '../../core/holds/scope.ts'
import type { PendingAudit } from '../../core/holds/store.ts'
import { appendIn } from './audit.ts'
import { IN_SCOPE, json, type Row, rows, transaction } from './db.ts'

export function createGrant(pool: pg.Pool, g: NewGrant, audit: PendingAudit): Promise<Grant> {
  return transaction(pool, [], async (db) => {
    const row = (
      await db.query(
        `INSERT INTO grants (id, hold_id, rule, agent_id, route, groups, created_by, created_at, expires_at, max_uses, bounds)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *`,
        [
          g.id,
          g.hold_id,
          g.rule,
          g.agent_id,
          g.route,
          json(g.groups),
          g.created_by,
          g.created_at,
          g.expires_at,
          g.max_uses,
          json(g.bounds),
        ],
      )
    ).rows[0] as Row
    await appendIn(db, audit.type, audit.actor, g.hold_id, audit.record, audit.at ?? g.created_at)
    return toGrant(row)
  })
}

export async function getGrant(pool: pg.Pool, id: string): Promise<Grant | undefined> {
  const r = (await rows(pool, 'SELECT * FROM grants WHERE id = $1', [id]))[0]
  return r ? toGrant(r) : undefined
}

export async function liveGrants(pool: pg.Pool, agentId: string, now: number): Promise<Grant[]> {
  const found = await rows(
    pool,
    'SELECT * FROM grants WHERE agent_id = $1 AND revoked_at IS NULL AND expires_at > $2 AND uses < max_uses ORDER BY id',
    [agentId, now],
  )
  return found.map(toGrant)
}

export async function grantAgents(pool: pg.Pool, now: number): Promise<string[]> {
  const found = await rows(
    pool,
    'SELECT DISTINCT agent_id FROM grants WHERE revoked_at IS NULL AND expires_at > $1 AND uses < max_uses',
    [now],
  )
  return found.map((r) => r.agent_id as string)
}

export async function listGrants(pool: pg.Pool, groups: ReadScope | undefined, limit: number): Promise<Grant[]> {
  const found = groups
    ? await rows(
        pool,
        `SELECT * FROM grants WHERE ${IN_SCOPE('grants.groups', '$1')} ORDER BY created_at DESC LIMIT $2`,
        [groups, limit],
      )
    : await rows(pool, 'SELECT * FROM grants ORDER BY created_at DESC LIMIT $1', [limit])
  return found.map(toGrant)
}

export function useGrant(
  pool: pg.Pool,
  id: string,
  use: { agent_id: string; route: string; now: number },
  audit: PendingAudit,
): Promise<Grant | undefined> {
  return transaction(pool, [], async (db) => {
    const row = (
      await db.query(
        `UPDATE grants SET uses = uses + 1
         WHERE id = $1 AND agent_id = $2 AND route = $3 AND revoked_at IS NULL AND expires_at > $4 AND uses < max_uses
         RETURNING *`,
        [id, use.agent_id, use.route, use.now],
      )
    ).rows[0] as Row | undefined
    if (!row) return undefined
    const g = toGrant(row)
    const record = { ...(audit.record as object), grant_id: id, use: g.uses, max_uses: g.max_uses }
    await appendIn(db, audit.type, audit.actor, g.hold_id, record, audit.at ?? use.now)
    return g
  })
}

export function revokeGrant(pool: pg.Pool, id: string, by: string, at: number, audit: PendingAudit): Promise<boolean> {
  return transaction(pool, [], async (db) => {
    const row = (
      await db.query(
        'UPDATE grants SET revoked_at = $1, revoked_by = $2 WHERE id = $3 AND revoked_at IS NULL RETURNING hold_id',
        [at, by, id],
      )
    ).rows[0] as { hold_id: string } | undefined
    if (!row) return false
    await appendIn(db, audit.type, audit.actor, row.hold_id, audit.record, audit.at ?? at)
    return true
  })
}
