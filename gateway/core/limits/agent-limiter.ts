// Per-agent admission, right after authentication and before the body is read: an in-flight limit (requests of the
// agent being handled now, held ones included) and a request-rate limit (token bucket, rate.ts). Refusals are 429
// with Retry-After and a reason an LLM agent can act on; an admitted request's usage is what the policy sees as
// input.agent.usage.
//
// In-flight counts live in this process (or Worker isolate): they bound what this process holds in memory and
// sockets, which is the resource they protect. Rates are shared through the RateCounter port.
//
// Hot path cost: one Map lookup and write for the in-flight count, one small usage object, and — only for agents with
// a rate — one bucket update (in memory: a Map lookup and a few float operations; on Workers: one Durable Object call).
import type { AgentConfig, Config } from '../config/schema.ts'
import { AirlockError } from '../errors.ts'
import type { AgentUsage } from '../pipeline/request.ts'
import type { RateCounter, RateLimit, RateVerdict } from '../ports.ts'

export type { AgentUsage }

export interface AgentLimits {
  max_in_flight: number
  rate: RateLimit | null
}

/** An agent's limits: its own fields, else limits.per_agent. Burst defaults to 10 seconds of the rate. */
export function limitsFor(agent: Pick<AgentConfig, 'limits'> | undefined, config: Pick<Config, 'limits'>): AgentLimits {
  const own = agent?.limits ?? {}
  const defaults = config.limits.per_agent
  const perMinute = own.rate_per_minute ?? defaults.rate_per_minute
  const burst = own.burst ?? defaults.burst ?? Math.max(1, Math.ceil((perMinute ?? 0) / 6))
  return {
    max_in_flight: own.max_in_flight ?? defaults.max_in_flight,
    rate: perMinute === undefined ? null : { per_minute: perMinute, burst },
  }
}

export class AgentLimiter {
  readonly #limits = new Map<string, AgentLimits>()
  readonly #inFlight = new Map<string, number>()
  readonly #fallback: AgentLimits
  readonly #rates: RateCounter
  readonly #now: () => number

  constructor(config: Pick<Config, 'limits' | 'agents'>, rates: RateCounter, now: () => number) {
    for (const a of config.agents) this.#limits.set(a.id, limitsFor(a, config))
    this.#fallback = limitsFor(undefined, config)
    this.#rates = rates
    this.#now = now
  }

  limits(agentId: string): AgentLimits {
    return this.#limits.get(agentId) ?? this.#fallback
  }

  inFlight(agentId: string): number {
    return this.#inFlight.get(agentId) ?? 0
  }

  /**
   * Admits one request of the agent or throws a 429 AirlockError. After an admission (and only then) the caller must
   * call release(agentId) exactly once, when the request is done. Synchronous unless the rate counter is shared.
   */
  admit(agentId: string): AgentUsage | Promise<AgentUsage> {
    const limits = this.limits(agentId)
    const n = (this.#inFlight.get(agentId) ?? 0) + 1
    if (n > limits.max_in_flight) throw tooManyInFlight(agentId, limits.max_in_flight)
    this.#inFlight.set(agentId, n)
    if (!limits.rate) return { in_flight: n, max_in_flight: limits.max_in_flight, rate: null }
    let v: RateVerdict | Promise<RateVerdict>
    try {
      v = this.#rates.take(agentId, limits.rate, this.#now())
    } catch (err) {
      this.release(agentId)
      throw unreachable(err)
    }
    // Any thenable is the shared path (a Workers RPC result is one without being a Promise); a real Promise goes back.
    if (typeof (v as PromiseLike<RateVerdict>).then === 'function') {
      return Promise.resolve(v).then(
        (verdict) => this.#decide(agentId, limits, n, verdict),
        (err) => {
          this.release(agentId)
          throw unreachable(err)
        },
      )
    }
    return this.#decide(agentId, limits, n, v as RateVerdict)
  }

  release(agentId: string): void {
    const n = (this.#inFlight.get(agentId) ?? 1) - 1
    if (n > 0) this.#inFlight.set(agentId, n)
    else this.#inFlight.delete(agentId)
  }

  #decide(agentId: string, limits: AgentLimits, n: number, v: RateVerdict): AgentUsage {
    const rate = limits.rate!
    if (!v.allowed) {
      this.release(agentId)
      throw rateLimited(agentId, rate, v.retry_after_ms)
    }
    return {
      in_flight: n,
      max_in_flight: limits.max_in_flight,
      rate: { per_minute: rate.per_minute, burst: rate.burst, remaining: v.remaining },
    }
  }
}

function tooManyInFlight(agentId: string, max: number): AirlockError {
  return new AirlockError(
    'AIRLOCK_TOO_MANY_IN_FLIGHT',
    `agent "${agentId}" already has ${max} requests in progress, its limit; this request was not forwarded. Wait for one of them to finish (requests waiting for approval count), then retry.`,
    { max_in_flight: max, retry_after_s: 1 },
  )
}

function rateLimited(agentId: string, rate: RateLimit, retryAfterMs: number): AirlockError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000))
  return new AirlockError(
    'AIRLOCK_RATE_LIMITED',
    `agent "${agentId}" is limited to ${rate.per_minute} requests per minute (bursts of ${rate.burst}) and has used them up; this request was not forwarded. Wait ${seconds} s (Retry-After) and send fewer requests, e.g. batch or cache reads.`,
    { limit_per_minute: rate.per_minute, burst: rate.burst, retry_after_s: seconds },
  )
}

/** A shared rate counter that cannot be reached refuses the request (fail closed). */
function unreachable(err: unknown): AirlockError {
  if (err instanceof AirlockError) return err
  return new AirlockError(
    'AIRLOCK_STORE_ERROR',
    'the rate limiter could not be reached; the request was not forwarded. Retry it later.',
    { retry_after_s: 1 },
    { cause: err },
  )
}
