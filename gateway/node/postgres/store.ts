// The hold store on PostgreSQL, for several Node gateways sharing one database (issue 15). Same contract as the
// SQLite store (holds/store.ts, checked by test/conformance/hold-store.case.ts), but every guarantee comes from the
// database, never from this process's memory, because another gateway may act at the same instant:
// - one hold per identical request, and group caps: hold creation is serialized by a transaction-scoped advisory lock
//   (creations are rare, a person must look at each), so the "is there one already / is the group full" read and the
//   insert cannot interleave with another gateway's;
// - state moves are compare-and-set UPDATEs (… WHERE state IN (…)): one approval wins, one gateway executes;
// - webhook deliveries are claimed with a lease (FOR UPDATE SKIP LOCKED, next_at pushed past the lease): one gateway
//   sends each; if it dies mid-delivery, the lease runs out and another gateway sends it;
// - audit appends are serialized by an advisory lock, so concurrent appenders extend one chain.
import pg from 'pg'
import { AirlockError, isAirlockError } from '../../core/errors.ts'
import { GENESIS, auditHash, type AuditRecord } from '../../core/holds/audit.ts'
import type { ReadScope } from '../../core/holds/scope.ts'
import type { CreateResult, NewHold, PendingAudit } from '../../core/holds/store.ts'
import type { Approval, Delivery, Denial, Hold, HoldState, Review, StoredResponse, View } from '../../core/holds/types.ts'
import type { Grant, NewGrant } from '../../core/holds/grants.ts'
import { toGrant } from '../../core/holds/grant-store.ts'
import { GATEWAY_NS, HOLDS_CHANNEL, LOCK, LOCK_NS, migratePg } from './schema.ts'

type Row = Record<string, unknown>
type Db = Pick<pg.PoolClient, 'query'>

export interface PgStoreOptions {
  connectionString: string
  /** Most connections this gateway opens (pg's pool `max`). */
  max?: number
  /** How long a claimed webhook delivery is reserved for the claiming gateway before another may send it. */
  deliveryLeaseMs?: number
  /** TLS to the database (pg's `ssl` option); also settable in the URL (sslmode=…). */
  ssl?: pg.PoolConfig['ssl']
  connectionTimeoutMs?: number
}

// BIGINT columns hold epoch milliseconds and counters, far below 2^53: read them as numbers, not pg's strings.
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
}

const json = (v: unknown) => JSON.stringify(v)
const parse = <T>(v: unknown): T => (typeof v === 'string' ? (JSON.parse(v) as T) : (v as T))
const bytes = (v: unknown): Uint8Array | null => (v == null ? null : new Uint8Array(v as Uint8Array))

// A reader's scope: the item's groups (a JSONB array) meet the reader's groups (a text[] parameter).
const IN_SCOPE = (column: string, p: string) => `(${column} ?| ${p}::text[])`
// A review item belongs to the groups its rule named, or to every group when it named none (scope.ts reviewGroups).
const REVIEW_IN_SCOPE = (p: string) => `(CASE WHEN jsonb_typeof(reviews.context->'approvers') = 'array'
  THEN jsonb_array_length(reviews.context->'approvers') = 0 OR (reviews.context->'approvers') ?| ${p}::text[]
  ELSE true END)`

function toHold(r: Row): Hold {
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
    headers: parse(r.headers),
    body: bytes(r.body),
    body_sha256: r.body_sha256 as string,
    intent: r.intent as string | null,
    decision: parse(r.decision),
    decision_id: r.decision_id as string,
    policy_revision: r.policy_revision as string,
    groups: parse(r.groups),
    approvals: parse(r.approvals),
    views: parse(r.views),
    denial: r.denial === null ? null : parse(r.denial),
    response:
      r.response_status === null
        ? null
        : {
            status: r.response_status as number,
            headers: parse(r.response_headers),
            body: bytes(r.response_body) ?? new Uint8Array(0),
            truncated: r.response_truncated === 1,
          },
    error: r.error as string | null,
  }
}

const toReview = ({ ord: _, ...r }: Row): Review => r as unknown as Review
const toDelivery = (r: Row): Delivery => r as unknown as Delivery
const toAudit = (r: Row): AuditRecord => ({ ...(r as unknown as AuditRecord), record: parse(r.record) })

// Errors a caller's callback threw inside a transaction (an audit record that failed): passed on unchanged.
const callerErrors = new WeakSet<object>()

/** Errors from the driver (connection refused, lost, timed out; a failed statement) become one clear 503. */
function storeError(err: unknown): unknown {
  if (isAirlockError(err) || (typeof err === 'object' && err !== null && callerErrors.has(err))) return err
  const code = (err as { code?: string }).code ?? 'unknown'
  return new AirlockError(
    'AIRLOCK_STORE_ERROR',
    `the hold database (PostgreSQL) failed (${code}); requests that need approval are refused until it answers again`,
    { database_error: code, retry_after_s: 5 },
  )
}

export class PgHoldStore {
  readonly pool: pg.Pool
  readonly #leaseMs: number
  readonly #options: PgStoreOptions
  /**
   * This gateway's id as an executor: recorded on the holds it sends, and the key of the session advisory lock it
   * holds on its listening connection while it lives. A gateway that dies (kill -9, lost machine) loses the lock
   * with its connection, which is how the others tell its unfinished sends from live ones (orphanedExecutions).
   */
  readonly executor = 1 + Math.floor(Math.random() * 0x7f_ff_ff_fe)
  #listener: pg.Client | undefined
  #listening = false
  #closed = false
  #retry: ReturnType<typeof setTimeout> | undefined
  readonly #changed = new Set<(holdId: string) => void>()

  private constructor(pool: pg.Pool, leaseMs: number, options: PgStoreOptions) {
    this.pool = pool
    this.#leaseMs = leaseMs
    this.#options = options
  }

  /**
   * Calls fn with a hold's id whenever any gateway changes its state (LISTEN/NOTIFY, delivered at commit). Also
   * takes this gateway's executor lock. The connection is re-opened when it drops (database restarted); a
   * notification sent while it was down is lost, which is why waiting agents also poll (store.poll_ms).
   */
  async listen(fn: (holdId: string) => void): Promise<void> {
    this.#changed.add(fn)
    if (this.#listening) return
    this.#listening = true
    await this.#connectListener().catch(() => this.#scheduleListener())
  }

  /** Whether this gateway currently holds its executor lock (its listening connection is up). */
  get listening(): boolean {
    return this.#listener !== undefined
  }

  async #connectListener(): Promise<void> {
    if (this.#closed) return
    const client = new pg.Client({ connectionString: this.#options.connectionString, ssl: this.#options.ssl, connectionTimeoutMillis: this.#options.connectionTimeoutMs ?? 5_000 })
    const lost = () => {
      if (this.#listener !== client) return
      this.#listener = undefined
      client.end().catch(() => {})
      this.#scheduleListener()
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
      await client.query('SELECT pg_advisory_lock($1, $2)', [GATEWAY_NS, this.executor])
    } catch (err) {
      client.end().catch(() => {})
      throw err
    }
    if (this.#closed) {
      await client.end().catch(() => {})
      return
    }
    this.#listener = client
  }

  #scheduleListener(): void {
    if (this.#closed || this.#retry) return
    this.#retry = setTimeout(() => {
      this.#retry = undefined
      this.#connectListener().catch(() => this.#scheduleListener())
    }, 1_000)
    this.#retry.unref?.()
  }

  /**
   * Holds left in 'executing' by gateways that are gone: their executor lock is free (taken and released here in a
   * transaction). Never this gateway's own, and never a live gateway's: those are still sending.
   */
  async orphanedExecutions(): Promise<string[]> {
    const rows = await this.#q(`SELECT id, executor FROM holds WHERE state = 'executing'`)
    const byExecutor = new Map<number | null, string[]>()
    for (const r of rows) {
      const e = (r.executor as number | null) ?? null
      if (e === this.executor) continue
      byExecutor.set(e, [...(byExecutor.get(e) ?? []), r.id as string])
    }
    const orphaned: string[] = []
    for (const [e, ids] of byExecutor) {
      const free =
        e === null ||
        (await this.#tx([], async (db) => {
          const r = await db.query<{ free: boolean }>('SELECT pg_try_advisory_xact_lock($1, $2) AS free', [GATEWAY_NS, e])
          return r.rows[0]!.free
        }))
      if (free) orphaned.push(...ids)
    }
    return orphaned
  }

  /** Opens the pool and migrates (under an advisory lock, so gateways starting together are safe). */
  static async open(o: PgStoreOptions): Promise<PgHoldStore> {
    const pool = new pg.Pool({
      connectionString: o.connectionString,
      max: o.max ?? 10,
      ssl: o.ssl,
      connectionTimeoutMillis: o.connectionTimeoutMs ?? 5_000,
      types,
    })
    // An idle client losing its connection (database restarted) must not crash the gateway: the pool drops it and
    // the next query opens a fresh one.
    pool.on('error', () => {})
    // A connection lost while checked out also reports on the client itself; the query in flight rejects with it.
    pool.on('connect', (client) => client.on('error', () => {}))
    const store = new PgHoldStore(pool, o.deliveryLeaseMs ?? 60_000, o)
    try {
      await migratePg(pool)
    } catch (err) {
      await pool.end()
      throw storeError(err)
    }
    return store
  }

  /** Re-runs the migrations (a no-op when current); returns the schema version. */
  migrate(): Promise<number> {
    return migratePg(this.pool)
  }

  async close(): Promise<void> {
    this.#closed = true
    clearTimeout(this.#retry)
    const listener = this.#listener
    this.#listener = undefined
    await listener?.end().catch(() => {})
    await this.pool.end()
  }

  async #q(sql: string, params: unknown[] = []): Promise<Row[]> {
    try {
      return (await this.pool.query(sql, params)).rows as Row[]
    } catch (err) {
      throw storeError(err)
    }
  }

  async #n(sql: string, params: unknown[] = []): Promise<number> {
    try {
      return (await this.pool.query(sql, params)).rowCount ?? 0
    } catch (err) {
      throw storeError(err)
    }
  }

  /** Runs fn in one transaction on one pooled connection, with the given advisory locks held until it ends. */
  async #tx<T>(locks: number[], fn: (db: Db) => Promise<T>): Promise<T> {
    let c: pg.PoolClient
    try {
      c = await this.pool.connect()
    } catch (err) {
      throw storeError(err)
    }
    let broken = false
    try {
      await c.query('BEGIN')
      for (const key of locks) await c.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_NS, key])
      const result = await fn(c)
      await c.query('COMMIT')
      return result
    } catch (err) {
      try {
        await c.query('ROLLBACK')
      } catch {
        broken = true // the connection is gone: do not hand it back to the pool
      }
      throw storeError(err)
    } finally {
      c.release(broken)
    }
  }

  /**
   * Stores a new hold, or returns the live (or recently settled) hold an identical request already created, on any
   * gateway. Caps are counted in the same transaction; the audit record is appended in it too.
   */
  createOrJoin(h: NewHold, caps: Record<string, number>, settledSince: number, audit: (hold: Hold) => PendingAudit | undefined): Promise<CreateResult> {
    return this.#tx([LOCK.create], async (db) => {
      const existing = (
        await db.query(
          `SELECT * FROM holds WHERE dedupe_key = $1
             AND (state IN ('pending','approved','executing','outcome_unknown') OR (state IN ('executed','denied') AND updated_at >= $2))
           ORDER BY created_at DESC LIMIT 1`,
          [h.dedupe_key, settledSince],
        )
      ).rows[0] as Row | undefined
      if (existing) return { hold: toHold(existing), created: false }
      const pending = await pendingCounts(db)
      for (const g of h.groups) {
        const cap = caps[g] ?? 0
        if ((pending[g] ?? 0) >= cap) {
          throw new AirlockError(
            'AIRLOCK_HOLD_CAPACITY',
            `approver group "${g}" already has ${pending[g] ?? 0} requests waiting (its limit is ${cap}); this request was refused, not queued. Try again later or ask a person to clear the queue.`,
            { group: g, pending: pending[g] ?? 0, limit: cap },
          )
        }
      }
      const row = (
        await db.query(
          `INSERT INTO holds (id, state, created_at, updated_at, expires_at, dedupe_key, agent_id, agent_owner, route, method, url,
             headers, body, body_sha256, intent, decision, decision_id, policy_revision, groups)
           VALUES ($1, 'pending', $2, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING *`,
          [h.id, h.created_at, h.expires_at, h.dedupe_key, h.agent.id, h.agent.owner, h.route, h.method, h.url, json(h.headers),
            h.body, h.body_sha256, h.intent, json(h.decision), h.decision_id, h.policy_revision, json(h.groups)],
        )
      ).rows[0] as Row
      const hold = toHold(row)
      let entry: PendingAudit | undefined
      try {
        entry = audit(hold) ?? undefined
      } catch (err) {
        if (typeof err === 'object' && err !== null) callerErrors.add(err)
        throw err
      }
      if (entry) await appendIn(db, entry.type, entry.actor, hold.id, entry.record, entry.at ?? h.created_at)
      return { hold, created: true }
    })
  }

  async get(id: string): Promise<Hold | undefined> {
    const r = (await this.#q('SELECT * FROM holds WHERE id = $1', [id]))[0]
    return r ? toHold(r) : undefined
  }

  async list(filter: { state?: HoldState | undefined; group?: string | undefined; groups?: ReadScope; limit?: number } = {}): Promise<Hold[]> {
    const where: string[] = []
    const params: unknown[] = []
    const p = (v: unknown) => `$${params.push(v)}`
    if (filter.state) where.push(`state = ${p(filter.state)}`)
    if (filter.group) where.push(`groups ? ${p(filter.group)}`)
    if (filter.groups) where.push(IN_SCOPE('holds.groups', p(filter.groups)))
    const order = filter.state ? 'created_at' : 'created_at DESC'
    const sql = `SELECT * FROM holds ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order} LIMIT ${p(filter.limit ?? 500)}`
    return (await this.#q(sql, params)).map(toHold)
  }

  async all(groups?: ReadScope): Promise<Hold[]> {
    const rows = groups
      ? await this.#q(`SELECT * FROM holds WHERE ${IN_SCOPE('holds.groups', '$1')} ORDER BY created_at`, [groups])
      : await this.#q('SELECT * FROM holds ORDER BY created_at')
    return rows.map(toHold)
  }

  /** Pending holds per group, across every gateway (read from the database each time: it is global state). */
  async pendingCounts(): Promise<Record<string, number>> {
    try {
      return await pendingCounts(this.pool)
    } catch (err) {
      throw storeError(err)
    }
  }

  async transition(id: string, from: readonly HoldState[], to: HoldState, at: number, fields: { decided_at?: number; error?: string | undefined; denial?: Denial } = {}): Promise<boolean> {
    const changed = await this.#n(
      `UPDATE holds SET state = $1, updated_at = $2, decided_at = COALESCE($3, decided_at), error = COALESCE($4, error),
         denial = COALESCE($5, denial), executor = CASE WHEN $1 = 'executing' THEN $8::integer ELSE executor END
       WHERE id = $6 AND state = ANY($7::text[])`,
      [to, at, fields.decided_at ?? null, fields.error ?? null, fields.denial ? json(fields.denial) : null, id, from, this.executor],
    )
    return changed === 1
  }

  async addView(id: string, view: View): Promise<void> {
    // Appended in the statement itself, so two gateways recording views at once both keep theirs.
    await this.#n(`UPDATE holds SET views = (views::jsonb || $1::jsonb)::text WHERE id = $2`, [json([view]), id])
  }

  /** Records an approval while the hold is pending (row locked, so approvals on two gateways queue, never merge). */
  addApproval(id: string, approval: Approval, approve: boolean): Promise<boolean> {
    return this.#tx([], async (db) => {
      const r = (await db.query('SELECT state, approvals FROM holds WHERE id = $1 FOR UPDATE', [id])).rows[0] as Row | undefined
      if (r?.state !== 'pending') return false
      const approvals = parse<Approval[]>(r.approvals)
      if (approvals.some((a) => a.approver === approval.approver)) return false
      await db.query(
        `UPDATE holds SET approvals = $1, updated_at = $2, state = $3, decided_at = $4 WHERE id = $5 AND state = 'pending'`,
        [json([...approvals, approval]), approval.at, approve ? 'approved' : 'pending', approve ? approval.at : null, id],
      )
      return true
    })
  }

  async saveResponse(id: string, r: StoredResponse, at: number): Promise<boolean> {
    const changed = await this.#n(
      `UPDATE holds SET state = 'executed', updated_at = $1, response_status = $2, response_headers = $3, response_body = $4,
         response_truncated = $5
       WHERE id = $6 AND state = 'executing'`,
      [at, r.status, json(r.headers), r.body, r.truncated ? 1 : 0, id],
    )
    return changed === 1
  }

  async idsIn(state: HoldState, dueBefore?: number): Promise<string[]> {
    const rows =
      dueBefore === undefined
        ? await this.#q('SELECT id FROM holds WHERE state = $1', [state])
        : await this.#q('SELECT id FROM holds WHERE state = $1 AND expires_at <= $2', [state, dueBefore])
    return rows.map((r) => r.id as string)
  }

  async nextExpiryAt(): Promise<number | null> {
    return ((await this.#q(`SELECT MIN(expires_at) AS t FROM holds WHERE state = 'pending'`))[0]?.t as number | null) ?? null
  }

  // Webhook deliveries -----------------------------------------------------------------------------------------

  async enqueueDelivery(d: Pick<Delivery, 'hold_id' | 'event' | 'grp' | 'hook' | 'payload'>, at: number): Promise<void> {
    await this.#n(
      `INSERT INTO deliveries (hold_id, event, grp, hook, payload, state, next_at, created_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6)`,
      [d.hold_id, d.event, d.grp, d.hook, d.payload, at],
    )
  }

  /**
   * Claims due deliveries for this gateway: each is handed out once, and comes due again only when its lease runs
   * out without an outcome recorded (the claimer died), so another gateway sends it then.
   */
  async dueDeliveries(now: number, limit = 50): Promise<Delivery[]> {
    const rows = await this.#q(
      `UPDATE deliveries SET next_at = $1 WHERE id IN (
         SELECT id FROM deliveries WHERE state = 'pending' AND next_at <= $2 ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
       RETURNING *`,
      [now + this.#leaseMs, now, limit],
    )
    return rows.map(toDelivery).sort((a, b) => a.id - b.id)
  }

  async nextDeliveryAt(): Promise<number | null> {
    return ((await this.#q(`SELECT MIN(next_at) AS t FROM deliveries WHERE state = 'pending'`))[0]?.t as number | null) ?? null
  }

  async recordDelivery(id: number, o: { state: Delivery['state']; status: number | null; error: string | null; next_at: number; at: number }): Promise<void> {
    await this.#n(
      `UPDATE deliveries SET state = $1, attempts = attempts + 1, last_status = $2, last_error = $3, next_at = $4,
         delivered_at = CASE WHEN $1 = 'delivered' THEN $5::bigint ELSE delivered_at END
       WHERE id = $6`,
      [o.state, o.status, o.error, o.next_at, o.at, id],
    )
  }

  async deliveries(holdId?: string): Promise<Delivery[]> {
    const rows = holdId
      ? await this.#q('SELECT * FROM deliveries WHERE hold_id = $1 ORDER BY id', [holdId])
      : await this.#q('SELECT * FROM deliveries ORDER BY id')
    return rows.map(toDelivery)
  }

  async notifiedAt(holdId: string): Promise<number | null> {
    const r = await this.#q(
      `SELECT MIN(delivered_at) AS t FROM deliveries WHERE hold_id = $1 AND event = 'hold.created' AND state = 'delivered'`,
      [holdId],
    )
    return (r[0]?.t as number | null) ?? null
  }

  // Review queue -----------------------------------------------------------------------------------------------

  async countForwarded(rule: string): Promise<void> {
    await this.#n(
      `INSERT INTO review_counts (rule, forwarded) VALUES ($1, 1) ON CONFLICT (rule) DO UPDATE SET forwarded = review_counts.forwarded + 1`,
      [rule],
    )
  }

  async forwardedCounts(): Promise<Record<string, number>> {
    return Object.fromEntries((await this.#q('SELECT rule, forwarded FROM review_counts')).map((r) => [r.rule, r.forwarded]))
  }

  async addReview(r: Omit<Review, 'state' | 'reviewer' | 'comment' | 'reviewed_at'>): Promise<void> {
    await this.#n(
      `INSERT INTO reviews (id, decision_id, created_at, agent_id, route, rule, summary, context, upstream_status, state)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending')`,
      [r.id, r.decision_id, r.created_at, r.agent_id, r.route, r.rule, r.summary, json(r.context), r.upstream_status],
    )
  }

  async reviews(state?: Review['state'], groups?: ReadScope): Promise<Review[]> {
    const where: string[] = []
    const params: unknown[] = []
    const p = (v: unknown) => `$${params.push(v)}`
    if (state) where.push(`state = ${p(state)}`)
    if (groups) where.push(REVIEW_IN_SCOPE(p(groups)))
    const rows = await this.#q(`SELECT * FROM reviews ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, ord`, params)
    return rows.map(toReview)
  }

  async getReview(id: string): Promise<Review | undefined> {
    const r = (await this.#q('SELECT * FROM reviews WHERE id = $1', [id]))[0]
    return r ? toReview(r) : undefined
  }

  async markReview(id: string, state: 'ok' | 'flagged', reviewer: string, comment: string | null, at: number): Promise<boolean> {
    const n = await this.#n(
      `UPDATE reviews SET state = $1, reviewer = $2, comment = $3, reviewed_at = $4 WHERE id = $5 AND state = 'pending'`,
      [state, reviewer, comment, at, id],
    )
    return n === 1
  }

  // Grants: a use is one conditional UPDATE … RETURNING, in a transaction with its audit record -----------------

  createGrant(g: NewGrant, audit: PendingAudit): Promise<Grant> {
    return this.#tx([], async (db) => {
      const row = (
        await db.query(
          `INSERT INTO grants (id, hold_id, rule, agent_id, route, groups, created_by, created_at, expires_at, max_uses, bounds)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *`,
          [g.id, g.hold_id, g.rule, g.agent_id, g.route, json(g.groups), g.created_by, g.created_at, g.expires_at, g.max_uses, json(g.bounds)],
        )
      ).rows[0] as Row
      await appendIn(db, audit.type, audit.actor, g.hold_id, audit.record, audit.at ?? g.created_at)
      return toGrant(row)
    })
  }

  async getGrant(id: string): Promise<Grant | undefined> {
    const r = (await this.#q('SELECT * FROM grants WHERE id = $1', [id]))[0]
    return r ? toGrant(r) : undefined
  }

  async liveGrants(agentId: string, now: number): Promise<Grant[]> {
    const rows = await this.#q(
      'SELECT * FROM grants WHERE agent_id = $1 AND revoked_at IS NULL AND expires_at > $2 AND uses < max_uses ORDER BY id',
      [agentId, now],
    )
    return rows.map(toGrant)
  }

  async grantAgents(now: number): Promise<string[]> {
    const rows = await this.#q('SELECT DISTINCT agent_id FROM grants WHERE revoked_at IS NULL AND expires_at > $1 AND uses < max_uses', [now])
    return rows.map((r) => r.agent_id as string)
  }

  async grants(groups?: ReadScope, limit = 500): Promise<Grant[]> {
    const rows = groups
      ? await this.#q(`SELECT * FROM grants WHERE ${IN_SCOPE('grants.groups', '$1')} ORDER BY created_at DESC LIMIT $2`, [groups, limit])
      : await this.#q('SELECT * FROM grants ORDER BY created_at DESC LIMIT $1', [limit])
    return rows.map(toGrant)
  }

  useGrant(id: string, use: { agent_id: string; route: string; now: number }, audit: PendingAudit): Promise<Grant | undefined> {
    return this.#tx([], async (db) => {
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

  revokeGrant(id: string, by: string, at: number, audit: PendingAudit): Promise<boolean> {
    return this.#tx([], async (db) => {
      const row = (
        await db.query('UPDATE grants SET revoked_at = $1, revoked_by = $2 WHERE id = $3 AND revoked_at IS NULL RETURNING hold_id', [at, by, id])
      ).rows[0] as { hold_id: string } | undefined
      if (!row) return false
      await appendIn(db, audit.type, audit.actor, row.hold_id, audit.record, audit.at ?? at)
      return true
    })
  }

  // Audit ------------------------------------------------------------------------------------------------------

  /** Appends to the one chain: the advisory lock makes concurrent appenders (any gateway) take turns. */
  appendAudit(type: string, actor: string, holdId: string | null, record: unknown, at: number): Promise<AuditRecord> {
    return this.#tx([], (db) => appendIn(db, type, actor, holdId, record, at))
  }

  async auditRecords(groups?: ReadScope): Promise<AuditRecord[]> {
    const rows = groups
      ? await this.#q(
          `SELECT * FROM audit WHERE
             (hold_id IS NOT NULL AND EXISTS (SELECT 1 FROM holds WHERE holds.id = audit.hold_id AND ${IN_SCOPE('holds.groups', '$1')}))
             OR (hold_id IS NULL AND EXISTS (SELECT 1 FROM reviews WHERE reviews.id = (audit.record::jsonb->>'review_id')
                                               AND ${REVIEW_IN_SCOPE('$1')}))
           ORDER BY seq`,
          [groups],
        )
      : await this.#q('SELECT * FROM audit ORDER BY seq')
    return rows.map(toAudit)
  }
}

async function pendingCounts(db: Db): Promise<Record<string, number>> {
  const rows = (
    await db.query(
      `SELECT g, COUNT(*)::int AS n FROM holds, jsonb_array_elements_text(holds.groups) AS g WHERE state = 'pending' GROUP BY g`,
    )
  ).rows as { g: string; n: number }[]
  return Object.fromEntries(rows.map((r) => [r.g, r.n]))
}

async function appendIn(db: Db, type: string, actor: string, holdId: string | null, record: unknown, at: number): Promise<AuditRecord> {
  await db.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_NS, LOCK.audit])
  const last = (await db.query('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1')).rows[0] as { seq: number; hash: string } | undefined
  const entry = { seq: (last?.seq ?? 0) + 1, at, type, actor, hold_id: holdId, record, prev_hash: last?.hash ?? GENESIS }
  const hash = auditHash(entry)
  await db.query(
    'INSERT INTO audit (seq, at, type, actor, hold_id, record, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
    [entry.seq, at, type, actor, holdId, json(record), entry.prev_hash, hash],
  )
  return { ...entry, hash }
}
