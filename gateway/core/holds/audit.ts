// The audit log: append-only and hash-chained. Each record's hash covers its content and the previous hash, so
// editing, removing or reordering any record breaks every hash after it; `airlock audit verify` recomputes the chain.
// (Truncating the newest records is only detectable against a head hash kept elsewhere: the report prints it.)
import { sha256HexSync } from '../digest.ts'

export const GENESIS = '0'.repeat(64)

export interface AuditRecord {
  seq: number
  at: number
  type: string
  actor: string
  hold_id: string | null
  record: unknown
  prev_hash: string
  hash: string
}

/** JSON with object keys sorted at every level, so the same content always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
}

export function auditHash(r: Omit<AuditRecord, 'hash'>): string {
  const { seq, at, type, actor, hold_id, record, prev_hash } = r
  return sha256HexSync(prev_hash + '\n' + canonicalJson({ seq, at, type, actor, hold_id, record }))
}

/** The record that follows `last` in the chain (the first one when the log is empty), hashed. */
export function nextAuditRecord(
  last: { seq: number; hash: string } | undefined,
  e: { at: number; type: string; actor: string; hold_id: string | null; record: unknown },
): AuditRecord {
  const seq = (last?.seq ?? 0) + 1
  const entry = {
    seq,
    at: e.at,
    type: e.type,
    actor: e.actor,
    hold_id: e.hold_id,
    record: e.record,
    prev_hash: last?.hash ?? GENESIS,
  }
  return { ...entry, hash: auditHash(entry) }
}

export interface AuditVerification {
  ok: boolean
  records: number
  head: string
  problems: string[]
}

export function verifyChain(records: AuditRecord[]): AuditVerification {
  const problems: string[] = []
  let prev = GENESIS
  records.forEach((r, i) => {
    if (r.seq !== i + 1)
      problems.push(`record at position ${i + 1} has seq ${r.seq}: a record was removed or reordered`)
    if (r.prev_hash !== prev) problems.push(`seq ${r.seq}: prev_hash does not match the record before it`)
    if (auditHash(r) !== r.hash) problems.push(`seq ${r.seq}: content does not match its hash (the record was edited)`)
    prev = r.hash
  })
  return { ok: problems.length === 0, records: records.length, head: prev, problems }
}
