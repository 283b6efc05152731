// Per-agent limits and the body budget end to end (issue 10, item 11): a real gateway and upstream on loopback, real
// compiled Rego. Each refusal is checked for its status, code, Retry-After, and that nothing reached the upstream.
import { mkdtempSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildPolicy } from '../../gateway/node/toolchain/build.ts'
import { keys, policySource, startTestGateway, type TestGateway, testConfig } from '../support/gateway.ts'
import { echo, startUpstream, type TestUpstream } from '../support/upstream.ts'

// The policy sees input.agent.usage: this rule refuses the last token of the bucket for writes, to show it can act
// before the gateway's own 429.
const RULES = `package airlock.rules.limits

allow contains {"rule": "l.all", "reason": "allowed"} if input.request.method != "DELETE"

deny contains {"rule": "l.last_token", "reason": "no deletes on the last token"} if {
  input.request.method == "DELETE"
  input.agent.usage.rate.remaining == 0
}
`

let upstream: TestUpstream
let gw: TestGateway
let policyDir: string
const gates = new Map<string, () => void>()

beforeAll(async () => {
  // Requests to /wait/<name> are answered only when the test opens that gate.
  upstream = await startUpstream(async (req, res) => {
    const wait = req.url.match(/^\/wait\/(\w+)/)?.[1]
    if (wait) await new Promise<void>((r) => gates.set(wait, r))
    echo(req, res)
  })
  policyDir = mkdtempSync(join(tmpdir(), 'airlock-limits-policy-'))
  await buildPolicy(policySource({ 'limits.rego': RULES }), policyDir)
  gw = await startTestGateway(
    testConfig({
      policy: { dir: policyDir, watch: false },
      routes: [{ name: 'api', prefix: '/api', upstream: upstream.url, allow_private: true }],
      agents: [
        {
          id: 'billing-bot',
          owner: 'alice@example.com',
          key_env: 'TEST_KEY_BILLING',
          limits: { rate_per_minute: 6, burst: 3 },
        },
        { id: 'dev-bot', owner: 'bob@example.com', key_env: 'TEST_KEY_DEV', limits: { max_in_flight: 2 } },
      ],
      limits: { max_buffered_body_bytes: 100_000, max_body_bytes: 90_000 },
    }),
  )
})
afterAll(async () => {
  for (const open of gates.values()) open()
  await gw?.close()
  await upstream?.close()
})

const call = (path: string, key: string, init: RequestInit = {}) =>
  fetch(`${gw.url}/api${path}`, {
    ...init,
    headers: { 'airlock-agent-key': key, ...(init.headers as Record<string, string>) },
  })
const reached = (fragment: string) => upstream.received.filter((r) => r.url.includes(fragment)).length
const until = async (pred: () => boolean, ms = 5000) => {
  const end = Date.now() + ms
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 10))
  }
}

describe('request-rate limit (token bucket)', () => {
  it('admits the burst, then answers 429 AIRLOCK_RATE_LIMITED with Retry-After; the policy saw the usage', async () => {
    const statuses: number[] = []
    for (let i = 0; i < 2; i++) statuses.push((await call(`/rate/${i}`, keys.billing)).status)
    const last = await call('/rate/last', keys.billing, { method: 'DELETE' }) // the third token: the policy refuses
    expect(statuses).toEqual([200, 200])
    expect(last.status).toBe(403)
    expect((await last.json()).error.code).toBe('AIRLOCK_DENIED')

    const refused = await call('/rate/over', keys.billing)
    expect(refused.status).toBe(429)
    expect(refused.headers.get('airlock-error-code')).toBe('AIRLOCK_RATE_LIMITED')
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(10) // 6 per minute: a token every 10 s
    const error = (await refused.json()).error
    expect(error).toMatchObject({ code: 'AIRLOCK_RATE_LIMITED', limit_per_minute: 6, burst: 3 })
    expect(error.message).toMatch(/6 requests per minute.*not forwarded.*Wait \d+ s/)
    expect(reached('/rate/over')).toBe(0)
    expect(reached('/rate/last')).toBe(0)

    const usage = gw
      .decisions()
      .filter((l) => l.url_path?.startsWith('/api/rate/') && l.input)
      .map((l) => l.input.agent.usage)
    expect(usage.map((u) => u.rate.remaining)).toEqual([2, 1, 0])
    expect(usage[0]).toMatchObject({ in_flight: 1, max_in_flight: 128, rate: { per_minute: 6, burst: 3 } })
    // Another agent has its own limits.
    expect((await call('/rate/other', keys.dev)).status).toBe(200)
  })
})

describe('in-flight limit', () => {
  it('refuses a third concurrent request with 429 AIRLOCK_TOO_MANY_IN_FLIGHT, and admits again once one finishes', async () => {
    const a = call('/wait/a', keys.dev)
    const b = call('/wait/b', keys.dev)
    await until(() => gates.has('a') && gates.has('b'))
    const refused = await call('/wait/c', keys.dev)
    expect(refused.status).toBe(429)
    expect(refused.headers.get('retry-after')).toBe('1')
    expect((await refused.json()).error).toMatchObject({ code: 'AIRLOCK_TOO_MANY_IN_FLIGHT', max_in_flight: 2 })
    expect(reached('/wait/c')).toBe(0)

    gates.get('a')!()
    expect((await a).status).toBe(200)
    const again = call('/wait/d', keys.dev)
    await until(() => gates.has('d'))
    gates.get('b')!()
    gates.get('d')!()
    expect((await b).status).toBe(200)
    expect((await again).status).toBe(200)
    const line = gw.decisions().find((l) => l.url_path === '/api/wait/d')!
    expect(line.input.agent.usage).toMatchObject({ in_flight: 2, max_in_flight: 2, rate: null })
  })
})

describe('buffered body budget', () => {
  function open(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const s = connect(gw.port, '127.0.0.1', () => resolve(s))
      s.once('error', reject)
    })
  }

  it('past max_buffered_body_bytes a request is refused at once with 503 and Retry-After, and nothing is lost', async () => {
    // A slow upload holds 80 000 of the 100 000 bytes (reserved from its Content-Length before its body is read).
    const slow = await open()
    let answer = ''
    slow.on('data', (d) => (answer += d.toString()))
    const head = `POST /api/budget/slow HTTP/1.1\r\nHost: airlock\r\nAirlock-Agent-Key: ${keys.dev}\r\nContent-Type: application/octet-stream\r\nContent-Length: 80000\r\nConnection: close\r\n\r\n`
    slow.write(head + 'x'.repeat(10_000))
    await new Promise((r) => setTimeout(r, 150))

    const t0 = Date.now()
    const refused = await call('/budget/second', keys.dev, { method: 'POST', body: 'y'.repeat(50_000) })
    expect(refused.status).toBe(503)
    expect(Date.now() - t0).toBeLessThan(2000)
    expect(refused.headers.get('retry-after')).toBe('1')
    expect((await refused.json()).error.code).toBe('AIRLOCK_OVERLOADED')
    expect(reached('/budget/second')).toBe(0)

    // The slow upload completes and is forwarded whole; its bytes are released, so the retry is served.
    slow.write('x'.repeat(70_000)) // not end(): Node's server drops a half-closed client's answer
    await until(() => answer.includes('"body_bytes":80000'))
    expect(answer).toMatch(/^HTTP\/1\.1 200/)
    slow.destroy()
    const retry = await call('/budget/second', keys.dev, { method: 'POST', body: 'y'.repeat(50_000) })
    expect(retry.status).toBe(200)
    expect(await retry.json()).toMatchObject({ body_bytes: 50_000 })
  })
})
