// The core gateway end to end: real compiled Rego (policies/, built by `npm test`'s first step), a real Node
// gateway on loopback, and real upstream servers that count what reaches them.
import { request as httpRequest } from 'node:http'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { keys, startTestGateway, type TestGateway, testConfig } from '../support/gateway.ts'
import { startUpstream, type TestUpstream } from '../support/upstream.ts'

let upstream: TestUpstream
let gw: TestGateway

beforeAll(async () => {
  upstream = await startUpstream()
  gw = await startTestGateway(
    testConfig({
      limits: { max_body_bytes: 1024 },
      routes: [
        {
          name: 'httpbin',
          prefix: '/httpbin',
          upstream: upstream.url,
          allow_private: true,
          credential: { env: 'UPSTREAM_TOKEN' },
          agent_key: ['header', 'bearer', 'x-api-key', 'basic'],
        },
      ],
    }),
  )
})
afterAll(async () => {
  await gw?.close()
  await upstream?.close()
})
afterEach(() => {
  upstream.handle((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ method: req.method, url: req.url, body_bytes: req.body.length }))
  })
})

const call = (path: string, init: RequestInit & { key?: string | null } = {}) => {
  const headers = new Headers(init.headers)
  if (init.key !== null) headers.set('airlock-agent-key', init.key ?? keys.billing)
  return fetch(gw.url + path, { ...init, headers })
}
const lastDecision = () => gw.decisions().at(-1)!

/** A separate gateway whose only route (named httpbin, so the demo rules allow GETs) has the given settings. */
async function withRoute(
  route: { upstream: string; allow_private?: boolean; timeout_ms?: number },
  fn: (url: string) => Promise<void>,
) {
  const other = await startTestGateway(testConfig({ routes: [{ name: 'httpbin', prefix: '/httpbin', ...route }] }))
  try {
    await fn(other.url)
  } finally {
    await other.close()
  }
}
const getVia = (url: string) => fetch(`${url}/httpbin/get`, { headers: { 'airlock-agent-key': keys.billing } })

describe('allow', () => {
  it('forwards an allowed GET and streams the upstream response back', async () => {
    const before = upstream.received.length
    const res = await call('/httpbin/get?x=1')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ method: 'GET', url: '/get?x=1', body_bytes: 0 })
    expect(res.headers.get('airlock-decision-id')).toMatch(/^[0-9a-f-]{36}$/)
    expect(upstream.received.length).toBe(before + 1)
    const line = lastDecision()
    expect(line).toMatchObject({
      action: 'allow',
      rule: 'demo.read',
      route: 'httpbin',
      agent: 'billing-bot',
      method: 'GET',
      host: '127.0.0.1',
      url_path: '/httpbin/get',
      status: 200,
      upstream_status: 200,
      path: 'airlock/decision',
    })
    expect(line.metrics.timer_rego_query_eval_ns).toBeGreaterThan(0)
    expect(line.decision_id).toBe(res.headers.get('airlock-decision-id'))
  })

  it('injects the real upstream credential and never forwards the agent key', async () => {
    await call('/httpbin/get', { headers: { authorization: 'Bearer something-else', 'x-api-key': 'k' } })
    const seen = upstream.received.at(-1)!
    expect(seen.headers.authorization).toBe('Bearer sk_live_real_upstream_secret')
    expect(seen.headers['airlock-agent-key']).toBeUndefined()
    expect(seen.headers['x-api-key']).toBeUndefined()
    expect(JSON.stringify(seen.headers)).not.toContain(keys.billing)
  })

  it('accepts the agent key where the SDK puts its API key: bearer, x-api-key, basic', async () => {
    for (const headers of [
      { authorization: `Bearer ${keys.billing}` },
      { 'x-api-key': keys.billing },
      { authorization: `Basic ${btoa(`${keys.billing}:`)}` },
    ] as Record<string, string>[]) {
      const res = await call('/httpbin/get', { key: null, headers })
      expect(res.status).toBe(200)
      expect(upstream.received.at(-1)!.headers.authorization).toBe('Bearer sk_live_real_upstream_secret')
    }
  })

  it('drops hop-by-hop headers and headers named in Connection (RFC 9110 §7.6.1)', async () => {
    // fetch refuses to send Connection itself, so this one goes through node:http.
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(`${gw.url}/httpbin/get`, {
        headers: {
          connection: 'keep-alive, x-private-hop',
          'x-private-hop': '1',
          'x-kept': 'yes',
          'airlock-agent-key': keys.billing,
        },
      })
      req.on('response', (res) => res.resume().on('end', resolve))
      req.on('error', reject)
      req.end()
    })
    const seen = upstream.received.at(-1)!.headers
    expect(seen['x-private-hop']).toBeUndefined()
    expect(seen['x-kept']).toBe('yes')
  })
})

describe('deny', () => {
  it('refuses a request no rule allows, with a reason, and the upstream sees nothing', async () => {
    const before = upstream.received.length
    const res = await call('/httpbin/post-something', {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    })
    expect(res.status).toBe(403)
    const body = await res.json()
    expect(body.error).toMatchObject({
      code: 'AIRLOCK_DENIED',
      rule: 'airlock.default_deny',
      message: 'no rule allows this request',
    })
    expect(body.error.decision_id).toBe(res.headers.get('airlock-decision-id'))
    expect(upstream.received.length).toBe(before)
    expect(lastDecision()).toMatchObject({ action: 'deny', status: 403 })
  })
})

describe('review', () => {
  it('forwards at once and logs the review decision', async () => {
    const before = upstream.received.length
    const res = await call('/httpbin/anything/review', {
      method: 'POST',
      body: '{"a":1}',
      headers: { 'content-type': 'application/json' },
    })
    expect(res.status).toBe(200)
    expect(upstream.received.length).toBe(before + 1)
    expect(upstream.received.at(-1)!.body.toString()).toBe('{"a":1}')
    expect(lastDecision()).toMatchObject({ action: 'review', rule: 'demo.review', upstream_status: 200 })
  })
})

describe('refusals', () => {
  it('401 without a key and with a wrong key', async () => {
    const missing = await call('/httpbin/get', { key: null })
    expect(missing.status).toBe(401)
    expect((await missing.json()).error.code).toBe('AIRLOCK_AGENT_KEY_MISSING')
    const wrong = await call('/httpbin/get', { key: 'not-a-key' })
    expect(wrong.status).toBe(401)
    const text = await wrong.text()
    expect(text).toContain('AIRLOCK_AGENT_KEY_INVALID')
    expect(text).not.toContain('not-a-key')
  })

  it('404 for a path no route serves: never an open proxy', async () => {
    const res = await call('/http://example.com/')
    expect(res.status).toBe(404)
    expect((await res.json()).error.code).toBe('AIRLOCK_ROUTE_NOT_FOUND')
    const abs = await call('/nothing-here')
    expect(abs.status).toBe(404)
  })

  it('413 before forwarding a body over the limit, declared or streamed', async () => {
    const before = upstream.received.length
    const res = await call('/httpbin/anything/review', {
      method: 'POST',
      body: 'x'.repeat(2048),
      headers: { 'content-type': 'text/plain' },
    })
    expect(res.status).toBe(413)
    expect((await res.json()).error).toMatchObject({ code: 'AIRLOCK_BODY_TOO_LARGE', limit_bytes: 1024 })
    const stream = new ReadableStream({
      start(c) {
        for (let i = 0; i < 4; i++) c.enqueue(new TextEncoder().encode('y'.repeat(512)))
        c.close()
      },
    })
    const streamed = await call('/httpbin/anything/review', {
      method: 'POST',
      body: stream,
      duplex: 'half',
    } as RequestInit)
    expect(streamed.status).toBe(413)
    expect(upstream.received.length).toBe(before)
  })

  it('400 for a body that claims JSON but is not', async () => {
    const res = await call('/httpbin/anything/review', {
      method: 'POST',
      body: '{not json',
      headers: { 'content-type': 'application/json' },
    })
    expect(res.status).toBe(400)
    expect((await res.json()).error.code).toBe('AIRLOCK_BODY_MALFORMED')
  })

  it('502 when the upstream refuses the connection', async () => {
    await withRoute({ upstream: 'http://127.0.0.1:9', allow_private: true }, async (url) => {
      const res = await getVia(url)
      expect(res.status).toBe(502)
      const body = await res.json()
      expect(body.error.code).toBe('AIRLOCK_UPSTREAM_CONNECT')
      expect(body.error.decision_id).toBeTruthy()
    })
  })

  it('504 when the upstream does not answer in time', async () => {
    upstream.handle(() => new Promise(() => {})) // never answers
    await withRoute({ upstream: upstream.url, allow_private: true, timeout_ms: 200 }, async (url) => {
      const res = await getVia(url)
      expect(res.status).toBe(504)
      expect((await res.json()).error.code).toBe('AIRLOCK_UPSTREAM_TIMEOUT')
    })
  })
})

describe('SSRF guard', () => {
  it('refuses a hostname that resolves to 127.0.0.1 on a route that does not allow private destinations', async () => {
    const before = upstream.received.length
    await withRoute({ upstream: `http://localhost:${upstream.port}` }, async (url) => {
      const res = await getVia(url)
      expect(res.status).toBe(403)
      expect((await res.json()).error.code).toBe('AIRLOCK_DESTINATION_FORBIDDEN')
    })
    expect(upstream.received.length).toBe(before)
  })

  it('refuses an IP-literal private upstream without allow_private', async () => {
    for (const host of ['127.0.0.1', '[::1]', '[::ffff:127.0.0.1]', '169.254.169.254']) {
      await withRoute({ upstream: `http://${host}:${upstream.port}` }, async (url) => {
        const res = await getVia(url)
        expect(res.status).toBe(403)
        expect((await res.json()).error.code).toBe('AIRLOCK_DESTINATION_FORBIDDEN')
      })
    }
  })
})

describe('logs', () => {
  it('never contain the agent key or the upstream credential', async () => {
    await call('/httpbin/get', { headers: { authorization: `Bearer ${keys.billing}`, cookie: 'session=abc' } })
    const all = JSON.stringify(gw.logs)
    expect(all).not.toContain(keys.billing)
    expect(all).not.toContain('sk_live_real_upstream_secret')
    expect(all).not.toContain('session=abc')
    const line = lastDecision()
    expect(line.input.request.headers.authorization).toBe('[redacted]')
    expect(line.input.request.headers['airlock-agent-key']).toBe('[redacted]')
  })
})

describe('operations', () => {
  it('serves /healthz, /readyz with the policy revision, and Prometheus /metrics', async () => {
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200)
    const ready = await (await fetch(`${gw.url}/readyz`)).json()
    expect(ready.policy_revision).toMatch(/^[0-9a-f]{64}$/)
    const metrics = await (await fetch(`${gw.url}/metrics`)).text()
    expect(metrics).toMatch(/airlock_decisions_total\{action="allow",rule="demo.read"\} \d+/)
    expect(metrics).toContain('airlock_policy_eval_seconds_bucket')
    expect(metrics).toMatch(/airlock_errors_total\{code="AIRLOCK_DENIED"\} \d+/)
  })
})
