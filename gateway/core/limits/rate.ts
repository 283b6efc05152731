// Request-rate limits: a token bucket per agent (RFC 6585 §4: past it, 429 with Retry-After). The bucket arithmetic is
// pure; where buckets live is a port, RateCounter (ports.ts), because a rate limit must be shared by every process
// that serves the agent: MemoryRateCounter for one Node process, a Durable Object per agent on Workers
// (gateway/worker/limiter-object.ts), and later a PostgreSQL-backed counter for several Node replicas (one row per
// agent, the same takeToken arithmetic in an UPDATE … RETURNING).
import type { RateCounter, RateLimit, RateVerdict } from '../ports.ts'

export type { RateCounter, RateLimit, RateVerdict }

export interface Bucket {
  tokens: number
  /** When tokens was last brought up to date (ms). */
  at: number
}

/**
 * Refills the bucket for the time elapsed, then takes one token if there is a whole one. Mutates the bucket (O(1), no
 * allocation); returns 0 when the token was taken, else the ms until one will be. A clock that steps back refills
 * nothing rather than draining the bucket.
 */
export function takeToken(b: Bucket, rate: RateLimit, nowMs: number): number {
  const perMs = rate.per_minute / 60_000
  const elapsed = nowMs - b.at
  if (elapsed > 0) {
    b.tokens = Math.min(rate.burst, b.tokens + elapsed * perMs)
    b.at = nowMs
  }
  if (b.tokens >= 1) {
    b.tokens -= 1
    return 0
  }
  return Math.ceil((1 - b.tokens) / perMs)
}

export function verdict(b: Bucket, waitMs: number): RateVerdict {
  return { allowed: waitMs === 0, remaining: Math.floor(b.tokens), retry_after_ms: waitMs }
}

/** Buckets in this process's memory: exact for one Node process. Keys are configured agent ids, so the map is bounded. */
export class MemoryRateCounter implements RateCounter {
  readonly #buckets = new Map<string, Bucket>()

  take(key: string, rate: RateLimit, nowMs: number): RateVerdict {
    let b = this.#buckets.get(key)
    if (!b) this.#buckets.set(key, (b = { tokens: rate.burst, at: nowMs }))
    return verdict(b, takeToken(b, rate, nowMs))
  }
}
