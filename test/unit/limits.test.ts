// Resource bounds in the core (issue 10, item 11): the token bucket, per-agent admission, and the body budget.
import { describe, expect, it } from 'vitest'
import { type ConfigInput, configSchema } from '../../gateway/core/config/schema.ts'
import { type AirlockError, errorResponse } from '../../gateway/core/errors.ts'
import { AgentLimiter, limitsFor } from '../../gateway/core/limits/agent-limiter.ts'
import { BodyBudget } from '../../gateway/core/limits/body-budget.ts'
import { MemoryRateCounter, type RateCounter, takeToken } from '../../gateway/core/limits/rate.ts'
import { readBody } from '../../gateway/core/pipeline/body.ts'

const config = (input: Partial<ConfigInput> = {}) =>
  configSchema.parse({
    agents: [
      { id: 'fast', owner: 'o', key_env: 'K1', limits: { rate_per_minute: 60, burst: 3 } },
      { id: 'narrow', owner: 'o', key_env: 'K2', limits: { max_in_flight: 2 } },
      { id: 'plain', owner: 'o', key_env: 'K3' },
    ],
    ...input,
  })

const refusal = (fn: () => unknown): AirlockError => {
  try {
    fn()
  } catch (err) {
    return err as AirlockError
  }
  throw new Error('expected a refusal')
}

describe('token bucket', () => {
  it('allows a burst, then one token per 1/rate, and says how long to wait', () => {
    const b = { tokens: 3, at: 0 }
    const rate = { per_minute: 60, burst: 3 }
    expect([takeToken(b, rate, 0), takeToken(b, rate, 0), takeToken(b, rate, 0)]).toEqual([0, 0, 0])
    expect(takeToken(b, rate, 0)).toBe(1000)
    expect(takeToken(b, rate, 400)).toBe(600)
    expect(takeToken(b, rate, 1000)).toBe(0)
    expect(takeToken(b, rate, 60_000)).toBe(0) // refilled, capped at the burst
    expect(b.tokens).toBe(2)
  })

  it('a clock that steps back refills nothing and drains nothing', () => {
    const b = { tokens: 1, at: 10_000 }
    expect(takeToken(b, { per_minute: 60, burst: 5 }, 5_000)).toBe(0)
    expect(b).toEqual({ tokens: 0, at: 10_000 })
  })
})

describe('per-agent limits', () => {
  it("take the agent's own fields, else limits.per_agent; burst defaults to 10 s of the rate", () => {
    const c = config({ limits: { per_agent: { rate_per_minute: 600 } } })
    expect(limitsFor(c.agents[0], c)).toEqual({ max_in_flight: 128, rate: { per_minute: 60, burst: 3 } })
    expect(limitsFor(c.agents[1], c)).toEqual({ max_in_flight: 2, rate: { per_minute: 600, burst: 100 } })
    expect(limitsFor(c.agents[2], config())).toEqual({ max_in_flight: 128, rate: null })
  })

  it('refuses past max_in_flight with 429 AIRLOCK_TOO_MANY_IN_FLIGHT, and admits again after a release', () => {
    const limiter = new AgentLimiter(config(), new MemoryRateCounter(), () => 0)
    expect(limiter.admit('narrow')).toEqual({ in_flight: 1, max_in_flight: 2, rate: null })
    expect(limiter.admit('narrow')).toMatchObject({ in_flight: 2 })
    const e = refusal(() => limiter.admit('narrow'))
    expect(e).toMatchObject({ code: 'AIRLOCK_TOO_MANY_IN_FLIGHT', status: 429 })
    expect(e.message).toMatch(/"narrow" already has 2 requests in progress.*not forwarded/)
    expect(limiter.inFlight('narrow')).toBe(2) // the refused request is not counted
    expect(limiter.admit('plain')).toMatchObject({ in_flight: 1 }) // agents do not share counts
    limiter.release('narrow')
    expect(limiter.admit('narrow')).toMatchObject({ in_flight: 2 })
  })

  it('refuses past the rate with 429 AIRLOCK_RATE_LIMITED and a Retry-After, releasing the in-flight slot', () => {
    let now = 0
    const limiter = new AgentLimiter(config(), new MemoryRateCounter(), () => now)
    const usage = [1, 2, 3].map(() => limiter.admit('fast'))
    expect(usage.map((u) => (u as { rate: { remaining: number } }).rate.remaining)).toEqual([2, 1, 0])
    const e = refusal(() => limiter.admit('fast'))
    expect(e).toMatchObject({
      code: 'AIRLOCK_RATE_LIMITED',
      status: 429,
      details: { retry_after_s: 1, limit_per_minute: 60, burst: 3 },
    })
    expect(e.message).toMatch(/60 requests per minute.*Wait 1 s/)
    const res = errorResponse(e)
    expect(res.status).toBe(429)
    expect(res.headers.get('retry-after')).toBe('1')
    expect(res.headers.get('airlock-error-code')).toBe('AIRLOCK_RATE_LIMITED')
    expect(limiter.inFlight('fast')).toBe(3)
    now = 1000
    expect(limiter.admit('fast')).toMatchObject({ in_flight: 4, rate: { remaining: 0 } })
  })

  it('waits for a shared counter, and refuses (fail closed) when it cannot be reached', async () => {
    const shared: RateCounter = { take: async () => ({ allowed: true, remaining: 7, retry_after_ms: 0 }) }
    const ok = new AgentLimiter(config(), shared, () => 0)
    expect(await ok.admit('fast')).toMatchObject({ rate: { remaining: 7 } })
    // A Workers RPC result is a thenable but not a Promise: it must still be awaited, never taken as the usage.
    const thenable = {
      take: () => ({
        // biome-ignore lint/suspicious/noThenProperty: a thenable that is not a Promise is what this test is about
        then: (ok: (v: unknown) => void) => ok({ allowed: false, remaining: 0, retry_after_ms: 2500 }),
      }),
    }
    await expect(
      new AgentLimiter(config(), thenable as unknown as RateCounter, () => 0).admit('fast'),
    ).rejects.toMatchObject({ code: 'AIRLOCK_RATE_LIMITED', details: { retry_after_s: 3 } })
    const down = new AgentLimiter(config(), { take: async () => Promise.reject(new Error('object reset')) }, () => 0)
    await expect(down.admit('fast')).rejects.toMatchObject({ code: 'AIRLOCK_STORE_ERROR' })
    expect(down.inFlight('fast')).toBe(0)
  })
})

describe('body budget', () => {
  const request = (chunks: number[], declared?: number) =>
    ({
      method: 'POST',
      headers: new Headers(declared === undefined ? {} : { 'content-length': String(declared) }),
      body: new ReadableStream<Uint8Array>({
        start(c) {
          for (const n of chunks) c.enqueue(new Uint8Array(n))
          c.close()
        },
      }),
    }) as Pick<Request, 'method' | 'body' | 'headers'>

  it('reserves a declared length before reading, and refuses with 503 + Retry-After past the budget', async () => {
    const budget = new BodyBudget(1000)
    const first = budget.lease()
    expect((await readBody(request([600], 600), 10_000, first))!.byteLength).toBe(600)
    expect(budget.used).toBe(600)
    const second = budget.lease()
    const err = await readBody(request([500], 500), 10_000, second).catch((e) => e)
    expect(err).toMatchObject({ code: 'AIRLOCK_OVERLOADED', status: 503 })
    expect(errorResponse(err).headers.get('retry-after')).toBe('1')
    expect(budget.used).toBe(600)
    first.release()
    expect(budget.used).toBe(0)
    expect((await readBody(request([500], 500), 10_000, second))!.byteLength).toBe(500)
    second.release()
    expect(budget.used).toBe(0)
  })

  it('counts a chunked body as it arrives and stops reading once it passes the budget', async () => {
    const budget = new BodyBudget(1000)
    const lease = budget.lease()
    await expect(readBody(request([400, 400, 400]), 10_000, lease)).rejects.toMatchObject({
      code: 'AIRLOCK_OVERLOADED',
    })
    expect(lease.held).toBe(800)
    lease.release()
    expect(budget.used).toBe(0)
  })
})
