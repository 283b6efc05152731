// The core SqlDriver over a Durable Object's SQLite (ctx.storage.sql), so the same HoldStore runs on Workers.
// Calls are synchronous like node:sqlite's, and a Durable Object runs one event at a time, so a transaction cannot
// interleave with anything else in the object.
import type { SqlDriver, SqlValue } from '../core/ports.ts'

// Blobs go in as ArrayBuffer and come back as ArrayBuffer; the store speaks Uint8Array.
const bind = (v: SqlValue): SqlStorageValue => (v instanceof Uint8Array ? (v.slice().buffer as ArrayBuffer) : v)

function toRow(row: Record<string, SqlStorageValue>): Record<string, SqlValue> {
  const out: Record<string, SqlValue> = {}
  for (const [k, v] of Object.entries(row)) out[k] = v instanceof ArrayBuffer ? new Uint8Array(v) : v
  return out
}

export function createDurableSqlDriver(storage: DurableObjectStorage): SqlDriver {
  const { sql } = storage
  let depth = 0
  return {
    all<T>(query: string, ...params: SqlValue[]): T[] {
      return sql
        .exec(query, ...params.map(bind))
        .toArray()
        .map(toRow) as T[]
    },
    run(query: string, ...params: SqlValue[]): number {
      sql.exec(query, ...params.map(bind)).toArray()
      // Not cursor.rowsWritten: that is a billing count and includes index entries, so an UPDATE of an indexed column
      // reports 2 or 3 for one row, and the store's compare-and-set (`=== 1`) would read it as a lost race.
      return sql.exec('SELECT changes() AS n').one().n as number
    },
    transaction<T>(fn: () => T): T {
      // There is no BEGIN on Durable Objects; transactionSync commits when fn returns and rolls back when it throws.
      // Re-entrant like the Node driver: an inner transaction (an audit append inside createOrJoin) joins the outer.
      if (depth > 0) return fn()
      depth++
      try {
        return storage.transactionSync(fn)
      } finally {
        depth--
      }
    },
  }
}
