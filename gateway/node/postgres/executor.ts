// This gateway as one of several executors on one PostgreSQL: a listening connection that hears every gateway's hold
// changes (LISTEN/NOTIFY) and holds this gateway's executor lock (a session advisory lock) while it lives. A gateway
// that dies (kill -9, lost machine) loses the lock with its connection, which is how the others tell its unfinished
// sends from live ones (orphanedExecutions).
import pg from 'pg'
import { rows, transaction } from './db.ts'
import { GATEWAY_NS, HOLDS_CHANNEL } from './schema.ts'

export interface ListenerOptions {
  connectionString: string
  ssl?: pg.PoolConfig['ssl']
  connectionTimeoutMs?: number
}

export class ExecutorListener {
  readonly #options: ListenerOptions
  readonly #executor: number
  #client: pg.Client | undefined
  #listening = false
  #closed = false
  #retry: ReturnType<typeof setTimeout> | undefined
  readonly #changed = new Set<(holdId: string) => void>()

  constructor(options: ListenerOptions, executor: number) {
    this.#options = options
    this.#executor = executor
  }

  /**
   * Calls fn with a hold's id whenever any gateway changes its state (delivered at commit). Also takes the executor
   * lock. The connection is re-opened when it drops (database restarted); a notification sent while it was down is
   * lost, which is why waiting agents also poll (store.poll_ms).
   */
  async listen(fn: (holdId: string) => void): Promise<void> {
    this.#changed.add(fn)
    if (this.#listening) return
    this.#listening = true
    await this.#connect().catch(() => this.#schedule())
  }

  /** Whether the executor lock is held (the listening connection is up). */
  get connected(): boolean {
    return this.#client !== undefined
  }

  async close(): Promise<void> {
    this.#closed = true
    clearTimeout(this.#retry)
    const client = this.#client
    this.#client = undefined
    await client?.end().catch(() => {})
  }

  async #connect(): Promise<void> {
    if (this.#closed) return
    const o = this.#options
    const client = new pg.Client({
      connectionString: o.connectionString,
      ssl: o.ssl,
      connectionTimeoutMillis: o.connectionTimeoutMs ?? 5_000,
    })
    const lost = () => {
      if (this.#client !== client) return
      this.#client = undefined
      client.end().catch(() => {})
      this.#schedule()
    }
    client.on('error', lost)
    client.on('end', lost)
    client.on('notification', (n) => {
      if (n.channel !== HOLDS_CHANNEL || !n.payload) return
      for (const fn of this.#changed) fn(n.payload)
    })
    try {
      await client.connect()
      await client.query(`LISTEN ${HOLDS_CHANNEL}`)
      await client.query('SELECT pg_advisory_lock($1, $2)', [GATEWAY_NS, this.#executor])
    } catch (err) {
      client.end().catch(() => {})
      throw err
    }
    if (this.#closed) {
      await client.end().catch(() => {})
      return
    }
    this.#client = client
  }

  #schedule(): void {
    if (this.#closed || this.#retry) return
    this.#retry = setTimeout(() => {
      this.#retry = undefined
      this.#connect().catch(() => this.#schedule())
    }, 1_000)
    this.#retry.unref?.()
  }
}

/**
 * Holds left in 'executing' by gateways that are gone: their executor lock is free (taken and released here in a
 * transaction). Never `self`'s own, and never a live gateway's: those are still sending.
 */
export async function orphanedExecutions(pool: pg.Pool, self: number): Promise<string[]> {
  const executing = await rows(pool, `SELECT id, executor FROM holds WHERE state = 'executing'`)
  const byExecutor = new Map<number | null, string[]>()
  for (const r of executing) {
    const e = (r.executor as number | null) ?? null
    if (e === self) continue
    byExecutor.set(e, [...(byExecutor.get(e) ?? []), r.id as string])
  }
  const orphaned: string[] = []
  for (const [e, ids] of byExecutor) {
    const free =
      e === null ||
      (await transaction(pool, [], async (db) => {
        const r = await db.query<{ free: boolean }>('SELECT pg_try_advisory_xact_lock($1, $2) AS free', [GATEWAY_NS, e])
        return r.rows[0]!.free
      }))
    if (free) orphaned.push(...ids)
  }
  return orphaned
}
