// The shared hold store conformance suite (test/conformance/hold-store.case.ts) against PostgreSQL: a real server
// (test/support/postgres.ts), a fresh database per test. Plus what only a shared database has to prove: migrations
// when several gateways start at once, and guarantees under concurrent callers on separate pools (one per gateway).
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyChain } from '../../gateway/core/holds/audit.ts'
import { PgRateCounter } from '../../gateway/node/postgres/rates.ts'
import { PG_MIGRATIONS } from '../../gateway/node/postgres/schema.ts'
import { PgHoldStore } from '../../gateway/node/postgres/store.ts'
import { newHold, runHoldStoreSuite } from '../conformance/hold-store.case.ts'
import { type PgCluster, startPostgres } from '../support/postgres.ts'

let cluster: PgCluster
const opened: PgHoldStore[] = []
beforeAll(async () => {
  cluster = await startPostgres()
})
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close().catch(() => {})))
  cluster?.stop()
})

async function open(url: string, max = 4): Promise<PgHoldStore> {
  const s = await PgHoldStore.open({ connectionString: url, max })
  opened.push(s)
  return s
}

runHoldStoreSuite('PostgreSQL', async () => {
  const store = await open(await cluster.createDatabase())
  return {
    store,
    exec: (sql: string) => store.pool.query(sql),
    remigrate: () => store.migrate(),
    leasesDeliveries: true,
  }
})

describe('PostgreSQL store shared by several gateways', () => {
  const caps = { payments: 100, ops: 100 }
  const approval = (approver: string) => ({
    approver,
    at: 5,
    comment: null,
    context_sha256: 'c',
    ms_from_notify: 1,
    ms_from_view: 1,
    fast: false,
  })

  it('migrates once when eight gateways start at the same moment', async () => {
    const url = await cluster.createDatabase()
    const stores = await Promise.all(Array.from({ length: 8 }, () => open(url, 2)))
    expect(await Promise.all(stores.map((s) => s.migrate()))).toEqual(Array(8).fill(PG_MIGRATIONS.length))
    const c = new pg.Client({ connectionString: url })
    await c.connect()
    const { rows } = await c.query('SELECT version FROM airlock_schema_version')
    await c.end()
    expect(rows).toEqual([{ version: PG_MIGRATIONS.length }])
  })

  it('one hold for 40 identical requests on 4 gateways; caps counted across them; one approval wins', async () => {
    const url = await cluster.createDatabase()
    const gateways = await Promise.all(Array.from({ length: 4 }, () => open(url)))
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        gateways[i % 4]!.createOrJoin(newHold({ dedupe_key: 'same' }), caps, 0, (h) => ({
          type: 'hold.created',
          actor: 'policy:x',
          record: { id: h.id },
        })),
      ),
    )
    expect(results.filter((r) => r.created)).toHaveLength(1)
    expect(new Set(results.map((r) => r.hold.id)).size).toBe(1)
    const id = results[0]!.hold.id
    // A cap of 3 with 10 different requests racing on 4 gateways: exactly 2 more fit next to the one above.
    const capped = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => gateways[i % 4]!.createOrJoin(newHold(), { payments: 3 }, 0, () => {})),
    )
    expect(capped.filter((r) => r.status === 'fulfilled')).toHaveLength(2)
    expect(await gateways[1]!.pendingCounts()).toEqual({ payments: 3 })
    // Ten approvers on four gateways, each approval enough: one moves it to approved, one claim to execute wins.
    const approved = await Promise.all(
      Array.from({ length: 10 }, (_, i) => gateways[i % 4]!.addApproval(id, approval(`p${i}`), true)),
    )
    expect(approved.filter(Boolean)).toHaveLength(1)
    const claims = await Promise.all(gateways.map((g) => g.transition(id, ['approved'], 'executing', 6)))
    expect(claims.filter(Boolean)).toHaveLength(1)
    const audit = await gateways[2]!.auditRecords()
    expect(audit).toHaveLength(1)
  })

  it('keeps one verifiable audit chain with 4 gateways appending 200 records concurrently', async () => {
    const url = await cluster.createDatabase()
    const gateways = await Promise.all(Array.from({ length: 4 }, () => open(url)))
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        gateways[i % 4]!.appendAudit('hold.viewed', `approver:${i}`, `h${i % 7}`, { i }, 1000 + i),
      ),
    )
    const records = await gateways[0]!.auditRecords()
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1))
    expect(verifyChain(records)).toMatchObject({ ok: true, records: 200 })
  })

  it('hands each due delivery to one gateway of four', async () => {
    const url = await cluster.createDatabase()
    const gateways = await Promise.all(Array.from({ length: 4 }, () => open(url)))
    for (let i = 0; i < 30; i++)
      await gateways[0]!.enqueueDelivery(
        { hold_id: `h${i}`, event: 'hold.created', grp: 'payments', hook: 0, payload: '{}' },
        10,
      )
    const claimed = (
      await Promise.all(gateways.flatMap((g) => [g.dueDeliveries(20, 10), g.dueDeliveries(20, 10)]))
    ).flat()
    expect(claimed).toHaveLength(30)
    expect(new Set(claimed.map((d) => d.id)).size).toBe(30)
  })

  it('tells every listening gateway when a hold changes state on another (LISTEN/NOTIFY)', async () => {
    const url = await cluster.createDatabase()
    const [a, b] = await Promise.all([open(url), open(url)])
    const seen: string[] = []
    await a.listen((id) => seen.push(id))
    const { hold } = await b.createOrJoin(newHold(), caps, 0, () => {})
    await b.addApproval(hold.id, approval('bob'), true)
    await b.addView(hold.id, { approver: 'carol', at: 6 }) // not a state change: no notification
    await expect.poll(() => seen, { timeout: 5_000 }).toEqual([hold.id])
  })

  it("tells a dead gateway's unfinished sends from a live gateway's (executor lock)", async () => {
    const url = await cluster.createDatabase()
    const [a, b] = await Promise.all([open(url), open(url)])
    await a.listen(() => {})
    await b.listen(() => {})
    const { hold } = await a.createOrJoin(newHold(), caps, 0, () => {})
    await a.addApproval(hold.id, approval('bob'), true)
    expect(await a.transition(hold.id, ['approved'], 'executing', 7)).toBe(true)
    expect(await b.orphanedExecutions()).toEqual([]) // a is alive and sending
    expect(await a.orphanedExecutions()).toEqual([]) // never its own
    await a.close() // its connections go, as when the process is killed
    expect(await b.orphanedExecutions()).toEqual([hold.id])
  })

  it("shares each agent's rate bucket across gateways: burst 5, 30 concurrent requests on 3 gateways, 5 allowed", async () => {
    const url = await cluster.createDatabase()
    const gateways = await Promise.all(Array.from({ length: 3 }, () => open(url)))
    const counters = gateways.map((g) => new PgRateCounter(g.pool))
    const rate = { per_minute: 60, burst: 5 }
    const verdicts = await Promise.all(
      Array.from({ length: 30 }, (_, i) => counters[i % 3]!.take('billing-bot', rate, 1_000_000)),
    )
    expect(verdicts.filter((v) => v.allowed)).toHaveLength(5)
    expect(verdicts.find((v) => !v.allowed)!.retry_after_ms).toBe(1_000)
    // A second later one token is back, for whichever gateway asks first; another agent has its own bucket.
    expect((await counters[2]!.take('billing-bot', rate, 1_001_000)).allowed).toBe(true)
    expect((await counters[1]!.take('billing-bot', rate, 1_001_000)).allowed).toBe(false)
    expect((await counters[0]!.take('dev-bot', rate, 1_001_000)).allowed).toBe(true)
  })

  it('refuses with a clear 503 while the database is down and works again when it is back, without reopening', async () => {
    const store = await open(await cluster.createDatabase())
    await store.createOrJoin(newHold(), caps, 0, () => {})
    cluster.pause()
    try {
      const err = await store.createOrJoin(newHold(), caps, 0, () => {}).catch((e: unknown) => e)
      expect(err).toMatchObject({ code: 'AIRLOCK_STORE_ERROR', status: 503 })
      expect(String((err as Error).message)).toMatch(/hold database \(PostgreSQL\) failed/)
      await expect(store.pendingCounts()).rejects.toMatchObject({ code: 'AIRLOCK_STORE_ERROR' })
    } finally {
      cluster.start()
    }
    await store.createOrJoin(newHold(), caps, 0, () => {})
    expect(await store.pendingCounts()).toEqual({ payments: 2 })
  })
})
