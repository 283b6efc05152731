// The gateway on Workers, inside workerd: allow and deny with the real compiled Rego, what reaches the upstream, the
// bytes that come back, the SSRF guard, upstream failures, and the decision log line.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import manifest from '../../build/worker-test/policy/manifest.json' with { type: 'json' }
import { AirlockError } from '../../gateway/core/errors.ts'
import { createWorkerUpstream, forbiddenHost } from '../../gateway/worker/upstream.ts'
import { keys } from './fixtures.ts'
import { captureLogs, gateway, received } from './helpers.ts'

let logs: ReturnType<typeof captureLogs>
beforeAll(() => {
  logs = captureLogs()
})
afterAll(() => logs.restore())

const asAgent = (key: string = keys.billing) => ({ 'airlock-agent-key': key })
const decision = (id: string | null) => logs.lines.find((l) => l.msg === 'decision' && l.decision_id === id)

describe('health', () => {
  it('is ready with the bundled policy revision', async () => {
    expect((await gateway('/healthz')).status).toBe(200)
    const ready = await gateway('/readyz')
    expect(ready.status).toBe(200)
    expect(await ready.json()).toEqual({ status: 'ready', policy_revision: manifest.revision })
  })
})

describe('allow', () => {
  it('forwards with the real credential, returns the upstream response and logs the decision', async () => {
    const marker = crypto.randomUUID()
    const res = await gateway(`/api/things?marker=${marker}`, {
      headers: { ...asAgent(), authorization: 'Bearer agent-own-token' },
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-upstream')).toBe('test')
    expect(await res.json()).toMatchObject({ method: 'GET', url: `/things?marker=${marker}` })

    const sent = (await received('upstream.test')).filter((r) => r.url.includes(marker))
    expect(sent).toHaveLength(1)
    expect(sent[0]!.headers.authorization).toBe('Bearer sk_live_real_upstream_secret')
    expect(sent[0]!.headers['airlock-agent-key']).toBeUndefined()

    const line = decision(res.headers.get('airlock-decision-id'))!
    expect(line).toMatchObject({
      level: 'info',
      service: 'airlock',
      msg: 'decision',
      path: 'airlock/decision',
      revision: manifest.revision,
      agent: 'billing-bot',
      route: 'api',
      method: 'GET',
      host: 'upstream.test',
      url_path: `/api/things`,
      action: 'allow',
      rule: 't.read',
      status: 200,
      upstream_status: 200,
    })
    expect(typeof line.time).toBe('string')
    expect(line.metrics.timer_rego_query_eval_ns).toBeGreaterThanOrEqual(0)
    expect(line.input.request.headers.authorization).not.toContain('agent-own-token')
  })

  it('passes a compressed body through byte for byte, with the agent’s Accept-Encoding sent upstream', async () => {
    const res = await gateway('/api/gzip', {
      headers: { ...asAgent(), 'accept-encoding': 'gzip' },
      encodeResponseBody: 'manual',
    } as RequestInit)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-encoding')).toBe('gzip')
    const bytes = new Uint8Array(await res.arrayBuffer())
    expect([bytes[0], bytes[1]]).toEqual([0x1f, 0x8b]) // still gzip: neither decoded nor compressed twice
    const text = await new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'))).text()
    expect(JSON.parse(text)).toEqual({ compressed: true, accept_encoding: 'gzip' })
  })

  it('hands a redirect back to the agent instead of following it', async () => {
    const res = await gateway('/api/redirect', { headers: asAgent(), redirect: 'manual' })
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('https://elsewhere.test/')
  })
})

describe('refusals', () => {
  it('deny: 403 naming the rule; the upstream never sees it', async () => {
    const marker = crypto.randomUUID()
    const res = await gateway(`/api/things/${marker}`, { method: 'DELETE', headers: asAgent() })
    expect(res.status).toBe(403)
    const body = await res.json()
    expect(body.error).toMatchObject({ code: 'AIRLOCK_DENIED', rule: 't.delete', action: 'deny' })
    expect((await received('upstream.test')).filter((r) => r.url.includes(marker))).toHaveLength(0)
    expect(decision(res.headers.get('airlock-decision-id'))).toMatchObject({
      action: 'deny',
      rule: 't.delete',
      status: 403,
      error_code: 'AIRLOCK_DENIED',
    })
  })

  it('401 without an agent key', async () => {
    const res = await gateway('/api/things')
    expect(res.status).toBe(401)
    expect((await res.json()).error.code).toBe('AIRLOCK_AGENT_KEY_MISSING')
  })

  it('refuses a private IP-literal upstream (SSRF) before any fetch', async () => {
    const res = await gateway('/private/latest/meta-data/', { headers: asAgent() })
    expect(res.status).toBe(403)
    expect((await res.json()).error.code).toBe('AIRLOCK_DESTINATION_FORBIDDEN')
  })

  it('504 when the upstream does not answer within the route timeout', async () => {
    const res = await gateway('/slow/slow', { headers: asAgent() })
    expect(res.status).toBe(504)
    expect((await res.json()).error.code).toBe('AIRLOCK_UPSTREAM_TIMEOUT')
  })

  it('502 when the upstream cannot be reached (miniflare cannot fail a connection, so fetch is injected)', async () => {
    const upstream = createWorkerUpstream(() => Promise.reject(new TypeError('Network connection lost.')))
    const err = await upstream({
      url: new URL('https://down.test/x'),
      method: 'GET',
      headers: new Headers(),
      body: null,
      timeoutMs: 1000,
      allowPrivate: false,
    }).catch((e) => e)
    expect(err).toBeInstanceOf(AirlockError)
    expect(err.code).toBe('AIRLOCK_UPSTREAM_CONNECT')
    expect(err.message).toBe('could not reach the upstream down.test (connection failed)')
  })

  it('refuses localhost and private IP literals in any spelling the URL parser accepts', () => {
    for (const host of [
      'localhost',
      'api.localhost',
      '127.0.0.1',
      '[::1]',
      '[::ffff:169.254.169.254]',
      '10.0.0.8',
      '[fd00:ec2::254]',
    ]) {
      expect(forbiddenHost(new URL(`http://${host}/`).hostname), host).toBe(true)
    }
    for (const host of ['0x7f.1', '2130706433', '017700000001'])
      expect(forbiddenHost(new URL(`http://${host}/`).hostname), host).toBe(true)
    for (const host of ['api.stripe.com', '8.8.8.8', '[2606:4700:4700::1111]'])
      expect(forbiddenHost(new URL(`http://${host}/`).hostname), host).toBe(false)
  })
})
