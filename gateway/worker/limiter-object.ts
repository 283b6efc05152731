// Request-rate limits on Workers: one small Durable Object per agent (idFromName(agent id)) holding that agent's
// token bucket, so a rate is global across every isolate and location that serves the agent.
//
// Why not the holds object: it is one object for every hold (its guarantees need that), and putting the rate on it
// would send every request of every agent through one object — a throughput ceiling and a hot spot on the allow path,
// which otherwise never waits for it. Why not the platform's rate-limiting binding: its counters are per Cloudflare
// location and eventually consistent, and its period is 10 or 60 seconds only, so it cannot enforce the configured
// token bucket (rate_per_minute, burst) exactly or answer with an exact Retry-After.
//
// The bucket lives in the object's memory, not its storage: a request costs one object call and no storage write. A
// reset of the object (a deploy, an eviction after it sat idle) refills the bucket: at most one extra burst, and an
// idle agent's bucket has usually refilled by then anyway. The arithmetic is the core's (gateway/core/limits/rate.ts).
import { DurableObject } from 'cloudflare:workers'
import {
  type Bucket,
  type RateCounter,
  type RateLimit,
  type RateVerdict,
  takeToken,
  verdict,
} from '../core/limits/rate.ts'

/** The object's RPC surface, as the Worker sees it through a stub. */
export interface LimiterApi {
  take(rate: RateLimit): Promise<RateVerdict>
}

export interface LimiterEnv {
  LIMITER: DurableObjectNamespace<LimiterApi>
}

export class AgentLimiterObject extends DurableObject<LimiterEnv> implements LimiterApi {
  #bucket: Bucket | undefined

  /** Takes one token on the object's own clock (isolates' clocks differ; the object's is the one that counts). */
  async take(rate: RateLimit): Promise<RateVerdict> {
    const now = Date.now()
    this.#bucket ??= { tokens: rate.burst, at: now }
    return verdict(this.#bucket, takeToken(this.#bucket, rate, now))
  }

  /** What the bucket holds now (tests, debugging). */
  async peek(): Promise<Bucket | null> {
    return this.#bucket ? { ...this.#bucket } : null
  }
}

/** The core's RateCounter over the per-agent objects. A failed call rejects: the limiter refuses the request. */
export function createDurableRateCounter(namespace: DurableObjectNamespace<LimiterApi>): RateCounter {
  return {
    // async: an RPC call returns a thenable that is not a Promise; the limiter takes the async path on a real one.
    take: async (key, rate) => namespace.get(namespace.idFromName(key)).take(rate),
  }
}
