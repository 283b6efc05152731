// Rows → records, once for both hold stores: the SQLite store (store.ts: node:sqlite on Node, the Durable Object's
// SQLite on Workers) and the PostgreSQL store (gateway/node/postgres/). The decoders accept what either driver hands
// back for a column, so one mapper serves both; the other way, newHoldRow is the row both stores insert.
import { AirlockError } from '../errors.ts'
import type { SqlValue } from '../ports.ts'
import type { AuditRecord } from './audit.ts'
import type { Grant } from './grants.ts'
import type { Hold, HoldState, NewHold, Review } from './types.ts'

type Row = { readonly [column: string]: unknown }

/** A JSON column: SQLite (and PostgreSQL TEXT) gives the text; PostgreSQL JSONB gives the value already parsed. */
export const parseJson = <T>(v: unknown): T => (typeof v === 'string' ? (JSON.parse(v) as T) : (v as T))

/**
 * A BLOB/BYTEA column as a plain Uint8Array: node:sqlite gives one (kept as is), the Durable Object an ArrayBuffer
 * (viewed), pg a Buffer (copied into a plain Uint8Array, so callers never see Buffer's own toJSON/toString).
 */
export const bytes = (v: unknown): Uint8Array | null =>
  v == null
    ? null
    : v instanceof Uint8Array && v.constructor === Uint8Array
      ? v
      : new Uint8Array(v as ArrayBuffer | ArrayLike<number>)

export function toHold(r: Row): Hold {
  return {
    id: r.id as string,
    state: r.state as HoldState,
    created_at: r.created_at as number,
    updated_at: r.updated_at as number,
    expires_at: r.expires_at as number,
    decided_at: r.decided_at as number | null,
    dedupe_key: r.dedupe_key as string,
    agent: { id: r.agent_id as string, owner: r.agent_owner as string },
    route: r.route as string,
    method: r.method as string,
    url: r.url as string,
    headers: parseJson(r.headers),
    body: bytes(r.body),
    body_sha256: r.body_sha256 as string,
    intent: r.intent as string | null,
    decision: parseJson(r.decision),
    decision_id: r.decision_id as string,
    policy_revision: r.policy_revision as string,
    groups: parseJson(r.groups),
    approvals: parseJson(r.approvals),
    views: parseJson(r.views),
    denial: r.denial === null ? null : parseJson(r.denial),
    response:
      r.response_status === null
        ? null
        : {
            status: r.response_status as number,
            headers: parseJson(r.response_headers),
            body: bytes(r.response_body) ?? new Uint8Array(0),
            truncated: r.response_truncated === 1,
          },
    error: r.error as string | null,
  }
}

/**
 * A new hold's row: its columns (the keys, in order) and their values, pending from its creation. Each store writes
 * its own placeholders (SQLite ?, PostgreSQL $n) for the same INSERT.
 */
export const newHoldRow = (h: NewHold): Record<string, SqlValue> => ({
  id: h.id,
  state: 'pending',
  created_at: h.created_at,
  updated_at: h.created_at,
  expires_at: h.expires_at,
  dedupe_key: h.dedupe_key,
  agent_id: h.agent.id,
  agent_owner: h.agent.owner,
  route: h.route,
  method: h.method,
  url: h.url,
  headers: JSON.stringify(h.headers),
  body: h.body,
  body_sha256: h.body_sha256,
  intent: h.intent,
  decision: JSON.stringify(h.decision),
  decision_id: h.decision_id,
  policy_revision: h.policy_revision,
  groups: JSON.stringify(h.groups),
})

/** `ord` is PostgreSQL's insertion order (a tie-break for equal created_at), not part of a Review. */
export const toReview = ({ ord: _, ...r }: Row): Review => ({
  ...(r as unknown as Review),
  context: parseJson(r.context),
})

export const toAudit = (r: Row): AuditRecord => ({ ...(r as unknown as AuditRecord), record: parseJson(r.record) })

export const toGrant = (r: Row): Grant => ({
  ...(r as unknown as Grant),
  groups: parseJson(r.groups),
  bounds: parseJson(r.bounds),
})

/**
 * Refuses a new hold when one of its groups already has `caps[group]` pending (a group without a cap takes none).
 * Both stores call it inside the transaction that counts and inserts, so concurrent requests cannot overshoot.
 */
export function checkCapacity(
  groups: readonly string[],
  caps: Record<string, number>,
  pending: Record<string, number>,
): void {
  for (const g of groups) {
    const cap = caps[g] ?? 0
    if ((pending[g] ?? 0) >= cap) {
      throw new AirlockError(
        'AIRLOCK_HOLD_CAPACITY',
        `approver group "${g}" already has ${pending[g] ?? 0} requests waiting (its limit is ${cap}); this request was refused, not queued. Try again later or ask a person to clear the queue.`,
        { group: g, pending: pending[g] ?? 0, limit: cap },
      )
    }
  }
}
