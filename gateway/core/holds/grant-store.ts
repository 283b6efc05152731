// Grants in the SQLite hold store (node:sqlite on Node, the Durable Object's SQLite on Workers): the HoldStore's grant
// methods delegate here. A use is one conditional UPDATE (not revoked, not expired, uses < max_uses) in a transaction
// with its audit record, so no two callers can take the last use and no use goes unaudited.
import type { SqlDriver, SqlValue } from '../ports.ts'
import type { AuditRecord } from './audit.ts'
import type { Grant, NewGrant } from './grants.ts'
import { toGrant } from './rows.ts'
import type { ReadScope } from './scope.ts'

type Row = { [column: string]: SqlValue }
/** An audit record to append with the change (store.ts PendingAudit; not imported: store.ts imports this file). */
type PendingAudit = { type: string; actor: string; record: unknown; at?: number }
type Append = (type: string, actor: string, holdId: string | null, record: unknown, at: number) => AuditRecord

const LIVE = `revoked_at IS NULL AND expires_at > ? AND uses < max_uses`

export function createGrant(db: SqlDriver, append: Append, g: NewGrant, audit: PendingAudit): Grant {
  return db.transaction(() => {
    db.run(
      `INSERT INTO grants (id, hold_id, rule, agent_id, route, groups, created_by, created_at, expires_at, max_uses, bounds)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      g.id,
      g.hold_id,
      g.rule,
      g.agent_id,
      g.route,
      JSON.stringify(g.groups),
      g.created_by,
      g.created_at,
      g.expires_at,
      g.max_uses,
      JSON.stringify(g.bounds),
    )
    append(audit.type, audit.actor, g.hold_id, audit.record, audit.at ?? g.created_at)
    return getGrant(db, g.id)!
  })
}

export function getGrant(db: SqlDriver, id: string): Grant | undefined {
  const r = db.all<Row>(`SELECT * FROM grants WHERE id = ?`, id)[0]
  return r ? toGrant(r) : undefined
}

/** The agent's grants that may still be used at `now` (an indexed lookup: cheap when the agent has none). */
export function liveGrants(db: SqlDriver, agentId: string, now: number): Grant[] {
  return db.all<Row>(`SELECT * FROM grants WHERE agent_id = ? AND ${LIVE} ORDER BY id`, agentId, now).map(toGrant)
}

/** The agents that have a live grant at `now` (the Workers gate reads this once a second to skip the others). */
export function grantAgents(db: SqlDriver, now: number): string[] {
  return db.all<{ agent_id: string }>(`SELECT DISTINCT agent_id FROM grants WHERE ${LIVE}`, now).map((r) => r.agent_id)
}

/** Every grant (in a reader's scope), newest first. */
export function listGrants(db: SqlDriver, groups: ReadScope, limit = 500): Grant[] {
  const rows = groups
    ? db.all<Row>(
        `SELECT * FROM grants WHERE EXISTS (SELECT 1 FROM json_each(grants.groups) AS g WHERE g.value IN (SELECT value FROM json_each(?)))
         ORDER BY created_at DESC LIMIT ?`,
        JSON.stringify(groups),
        limit,
      )
    : db.all<Row>(`SELECT * FROM grants ORDER BY created_at DESC LIMIT ?`, limit)
  return rows.map(toGrant)
}

/**
 * Takes one use of a grant for this agent and route at `now`, with its audit record, atomically; the grant after the
 * use, or undefined when it was refused (revoked, expired, used up, or not this agent's or route's).
 */
export function useGrant(
  db: SqlDriver,
  append: Append,
  id: string,
  use: { agent_id: string; route: string; now: number },
  audit: PendingAudit,
): Grant | undefined {
  return db.transaction(() => {
    const changed = db.run(
      `UPDATE grants SET uses = uses + 1 WHERE id = ? AND agent_id = ? AND route = ? AND ${LIVE}`,
      id,
      use.agent_id,
      use.route,
      use.now,
    )
    if (changed !== 1) return undefined
    const g = getGrant(db, id)!
    append(
      audit.type,
      audit.actor,
      g.hold_id,
      { ...(audit.record as object), grant_id: id, use: g.uses, max_uses: g.max_uses },
      audit.at ?? use.now,
    )
    return g
  })
}

/** Revokes a grant at once (its next use is refused); false when it was already revoked or does not exist. */
export function revokeGrant(
  db: SqlDriver,
  append: Append,
  id: string,
  by: string,
  at: number,
  audit: PendingAudit,
): boolean {
  return db.transaction(() => {
    if (
      db.run(`UPDATE grants SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL`, at, by, id) !== 1
    )
      return false
    append(audit.type, audit.actor, getGrant(db, id)!.hold_id, audit.record, audit.at ?? at)
    return true
  })
}
