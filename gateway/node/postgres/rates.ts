// Per-agent rate limits shared by every gateway on one PostgreSQL: the core's token bucket (limits/rate.ts takeToken,
// the same arithmetic as one process and the Workers limiter object) over a row per agent, read and written under the
// row's lock, so an agent spread across N gateways gets its configured rate, not N times it.
import type pg from 'pg'
import { AirlockError } from '../../core/errors.ts'
import {
  type Bucket,
  type RateCounter,
  type RateLimit,
  type RateVerdict,
  takeToken,
  verdict,
} from '../../core/limits/rate.ts'

export class PgRateCounter implements RateCounter {
  readonly #pool: pg.Pool

  constructor(pool: pg.Pool) {
    this.#pool = pool
  }

  /** One transaction: create the bucket full if new, lock it, take a token, write it back. A failure rejects (refused). */
  async take(key: string, rate: RateLimit, nowMs: number): Promise<RateVerdict> {
    let c: pg.PoolClient
    try {
      c = await this.#pool.connect()
    } catch (err) {
      throw unavailable(err)
    }
    let broken = false
    try {
      await c.query('BEGIN')
      await c.query('INSERT INTO rate_buckets (key, tokens, at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING', [
        key,
        rate.burst,
        nowMs,
      ])
      const row = (
        await c.query<{ tokens: number; at: string | number }>(
          'SELECT tokens, at FROM rate_buckets WHERE key = $1 FOR UPDATE',
          [key],
        )
      ).rows[0]!
      const b: Bucket = { tokens: Math.min(row.tokens, rate.burst), at: Number(row.at) }
      const wait = takeToken(b, rate, nowMs)
      await c.query('UPDATE rate_buckets SET tokens = $2, at = $3 WHERE key = $1', [key, b.tokens, b.at])
      await c.query('COMMIT')
      return verdict(b, wait)
    } catch (err) {
      try {
        await c.query('ROLLBACK')
      } catch {
        broken = true
      }
      throw unavailable(err)
    } finally {
      c.release(broken)
    }
  }
}

function unavailable(err: unknown): AirlockError {
  const code = (err as { code?: string }).code ?? 'unknown'
  return new AirlockError(
    'AIRLOCK_STORE_ERROR',
    `the rate-limit counter (PostgreSQL) failed (${code}); the request was refused`,
    { database_error: code, retry_after_s: 5 },
  )
}
