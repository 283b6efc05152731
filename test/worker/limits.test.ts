// Per-agent rate limits on Workers (issue 10, item 11), inside workerd: the bucket lives in the agent's limiter
// Durable Object (gateway/worker/limiter-object.ts), so it is shared by every isolate; past it 429 with Retry-After.
import { runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import type { AgentLimiterObject } from '../../gateway/worker/limiter-object.ts'
import { keys } from './fixtures.ts'
import { gateway, received } from './helpers.ts'

const limiter = (agent: string) => env.LIMITER.get(env.LIMITER.idFromName(agent))

describe('rate limit through the per-agent limiter object', () => {
  it('admits the burst, then 429 AIRLOCK_RATE_LIMITED with Retry-After; the bucket is in the object', async () => {
    const marker = crypto.randomUUID()
    const get = (i: number) =>
      gateway(`/api/things?rate=${marker}-${i}`, { headers: { 'airlock-agent-key': keys.rate } })
    expect((await get(1)).status).toBe(200)
    expect((await get(2)).status).toBe(200)
    const refused = await get(3)
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(10)
    expect((await refused.json()).error).toMatchObject({ code: 'AIRLOCK_RATE_LIMITED', limit_per_minute: 6, burst: 2 })
    const sent = (await received('upstream.test')).filter((r) => r.url.includes(marker))
    expect(sent.map((r) => r.url).sort()).toEqual([`/things?rate=${marker}-1`, `/things?rate=${marker}-2`])

    const bucket = await runInDurableObject(limiter('rate-bot'), (instance: AgentLimiterObject) => instance.peek())
    expect(bucket!.tokens).toBeLessThan(1)
    // An agent with no rate limit never calls a limiter object.
    expect((await gateway('/api/things', { headers: { 'airlock-agent-key': keys.dev } })).status).toBe(200)
    expect(await runInDurableObject(limiter('dev-bot'), (instance: AgentLimiterObject) => instance.peek())).toBeNull()
  })
})
