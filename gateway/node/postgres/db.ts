// The PostgreSQL hold store's connection plumbing: the pool, one-statement helpers, transactions under advisory
// locks, and the one error every driver failure becomes. The store's modules (holds.ts, deliveries.ts, reviews.ts,
// grants.ts, audit.ts) take a pool or a transaction's client from here.
import pg from 'pg'
import { AirlockError, isAirlockError } from '../../core/errors.ts'
import { LOCK_NS } from './schema.ts'

export type Row = Record<string, unknown>
/** A pooled client inside a transaction, or the pool itself for one statement. */
export type Db = Pick<pg.PoolClient, 'query'>

export const json = (v: unknown) => JSON.stringify(v)

// BIGINT columns hold epoch milliseconds and counters, far below 2^53: read them as numbers, not pg's strings.
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === 20
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
}

export interface PoolOptions {
  connectionString: string
  max?: number
  ssl?: pg.PoolConfig['ssl']
  connectionTimeoutMs?: number
}

export function openPool(o: PoolOptions): pg.Pool {
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
  return pool
}

// Errors a caller's callback threw inside a transaction (an audit record that failed): passed on unchanged.
const callerErrors = new WeakSet<object>()

/** Runs a caller's callback; what it throws leaves the store's transaction as it is, not as a database failure. */
export function asCaller<T>(fn: () => T): T {
  try {
    return fn()
  } catch (err) {
    if (typeof err === 'object' && err !== null) callerErrors.add(err)
    throw err
  }
}

/** Errors from the driver (connection refused, lost, timed out; a failed statement) become one clear 503. */
export function storeError(err: unknown): unknown {
  if (isAirlockError(err) || (typeof err === 'object' && err !== null && callerErrors.has(err))) return err
  const code = (err as { code?: string }).code ?? 'unknown'
  return new AirlockError(
    'AIRLOCK_STORE_ERROR',
    `the hold database (PostgreSQL) failed (${code}); requests that need approval are refused until it answers again`,
    { database_error: code, retry_after_s: 5 },
  )
}

/** One statement's rows. */
export async function rows(pool: pg.Pool, sql: string, params: unknown[] = []): Promise<Row[]> {
  try {
    return (await pool.query(sql, params)).rows as Row[]
  } catch (err) {
    throw storeError(err)
  }
}

/** How many rows one statement changed. */
export async function changed(pool: pg.Pool, sql: string, params: unknown[] = []): Promise<number> {
  try {
    return (await pool.query(sql, params)).rowCount ?? 0
  } catch (err) {
    throw storeError(err)
  }
}

/** The earliest time one `SELECT MIN(…) AS t` statement reads, or null. */
export async function earliest(pool: pg.Pool, sql: string): Promise<number | null> {
  return ((await rows(pool, sql))[0]?.t as number | null) ?? null
}

/** Runs fn in one transaction on one pooled connection, with the given advisory locks held until it ends. */
export async function transaction<T>(pool: pg.Pool, locks: number[], fn: (db: Db) => Promise<T>): Promise<T> {
  let c: pg.PoolClient
  try {
    c = await pool.connect()
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

// A reader's scope: the item's groups (a JSONB array) meet the reader's groups (a text[] parameter).
export const IN_SCOPE = (column: string, p: string) => `(${column} ?| ${p}::text[])`
// A review item belongs to the groups its rule named, or to every group when it named none (scope.ts reviewGroups).
export const REVIEW_IN_SCOPE = (p: string) => `(CASE WHEN jsonb_typeof(reviews.context->'approvers') = 'array'
  THEN jsonb_array_length(reviews.context->'approvers') = 0 OR (reviews.context->'approvers') ?| ${p}::text[]
  ELSE true END)`
