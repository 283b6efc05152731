// The SqlDriver for Node: node:sqlite (embedded, no native add-on to install), WAL for crash safety with
// concurrent readers, and synchronous calls, so a transaction cannot interleave with anything else in the process.
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { DatabaseSync, type StatementSync } from 'node:sqlite'
import type { SqlDriver, SqlValue } from '../core/ports.ts'

export interface NodeSqlDriver extends SqlDriver {
  close(): void
  /** For tests that tamper with rows on purpose (audit verification). */
  raw: DatabaseSync
}

export function openSqlite(path: string): NodeSqlDriver {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
  const db = new DatabaseSync(path)
  db.exec('PRAGMA journal_mode = WAL')
  db.exec('PRAGMA synchronous = FULL') // a hold acknowledged is a hold on disk
  db.exec('PRAGMA busy_timeout = 5000')
  const statements = new Map<string, StatementSync>()
  const prepare = (sql: string) => {
    let s = statements.get(sql)
    if (!s) statements.set(sql, (s = db.prepare(sql)))
    return s
  }
  let depth = 0
  return {
    raw: db,
    all<T>(sql: string, ...params: SqlValue[]): T[] {
      return prepare(sql).all(...params) as T[]
    },
    run(sql: string, ...params: SqlValue[]): number {
      return Number(prepare(sql).run(...params).changes)
    },
    transaction<T>(fn: () => T): T {
      if (depth > 0) return fn() // already atomic: the outer transaction covers it
      db.exec('BEGIN IMMEDIATE')
      depth++
      try {
        const result = fn()
        db.exec('COMMIT')
        return result
      } catch (err) {
        db.exec('ROLLBACK')
        throw err
      } finally {
        depth--
      }
    },
    close() {
      db.close()
    },
  }
}
