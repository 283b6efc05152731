// The shared hold store conformance suite (test/conformance/hold-store.case.ts) against the Durable Object driver,
// inside workerd. A Durable Object's storage can only be used from inside that object, so each test runs inside a
// fresh object (aroundEach + runInDurableObject), and the suite's drivers wrap that object's storage.

import { runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { aroundEach, describe, expect, it } from 'vitest'
import { createDurableSqlDriver } from '../../gateway/worker/sql-driver.ts'
import { runHoldStoreSuite, sqliteSubject } from '../conformance/hold-store.case.ts'

let storage: DurableObjectStorage | undefined

aroundEach(async (runTest) => {
  const fresh = env.HOLDS.get(env.HOLDS.idFromName(`conformance-${crypto.randomUUID()}`))
  await runInDurableObject(fresh, async (_, state) => {
    storage = state.storage
    try {
      await runTest()
    } finally {
      storage = undefined
    }
  })
})

runHoldStoreSuite('Durable Object SQLite (workerd)', () => sqliteSubject(createDurableSqlDriver(storage!)))

describe('Durable Object SQL driver', () => {
  it('reports one changed row for an UPDATE of an indexed column (cursor.rowsWritten counts index entries too)', () => {
    const db = createDurableSqlDriver(storage!)
    db.run('CREATE TABLE t (id TEXT PRIMARY KEY, state TEXT, x INTEGER)')
    db.run('CREATE INDEX t_state ON t (state, x)')
    db.run(`INSERT INTO t VALUES ('a', 'p', 1)`)
    const cursor = storage!.sql.exec(`UPDATE t SET state = 'q' WHERE id = 'a'`)
    cursor.toArray()
    expect(cursor.rowsWritten).toBeGreaterThan(1) // why the driver asks SQLite's changes() instead
    expect(db.run(`UPDATE t SET state = 'r' WHERE id = 'a'`)).toBe(1)
    expect(db.run(`UPDATE t SET state = 's' WHERE id = 'missing'`)).toBe(0)
  })
})
