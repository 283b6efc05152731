// HTTP forward proxy: absolute-form requests (HTTP_PROXY, plain http://) go through the same pipeline as routed ones,
// with the agent identified by Proxy-Authorization and the route found by the destination's origin.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { keys, startTestGateway, type TestGateway, testConfig } from '../support/gateway.ts'
import { startUpstream, type TestUpstream } from '../support/upstream.ts'
import { curl, proxyPolicy, proxyUrl, startProxyGateway, type TestPki, testPki } from './support.ts'

let pki: TestPki
let plain: TestUpstream
let gw: TestGateway

beforeAll(async () => {
  pki = await testPki()
  plain = await startUpstream()
  gw = await startProxyGateway(pki, await proxyPolicy(), {
    routes: [
      {
        name: 'plain',
        upstream: plain.url,
        allow_private: true,
        credential: { env: 'UPSTREAM_TOKEN' },
        agents: ['billing-bot'],
      },
    ],
  })
})
afterAll(async () => {
  await gw?.close()
  await plain?.close()
})

describe('absolute-form requests', () => {
  it("are evaluated and forwarded with the route's credential (curl --proxy with the key in the URL)", async () => {
    const before = plain.received.length
    const r = await curl([
      '--proxy',
      proxyUrl(gw),
      '-H',
      'authorization: Bearer sdk-placeholder',
      `${plain.url}/v1/items?limit=2`,
    ])
    expect(r.status).toBe(200)
    expect(JSON.parse(r.body)).toMatchObject({ method: 'GET', url: '/v1/items?limit=2' })
    expect(plain.received.length).toBe(before + 1)
    const seen = plain.received.at(-1)!.headers
    expect(seen.authorization).toBe('Bearer sk_live_real_upstream_secret')
    expect(seen['proxy-authorization']).toBeUndefined()
    expect(gw.decisions().at(-1)).toMatchObject({
      mode: 'forward',
      route: 'plain',
      agent: 'billing-bot',
      action: 'allow',
      rule: 'p.read',
      url_path: '/v1/items',
      status: 200,
    })
    expect(gw.decisions().at(-1)!.input.request).toMatchObject({
      url: `${plain.url}/v1/items?limit=2`,
      scheme: 'http',
      path: '/v1/items',
      query: { limit: ['2'] },
    })
  })

  it('take the key from --proxy-user too, as the password or as the user with an empty password', async () => {
    for (const user of [`billing-bot:${keys.billing}`, `${keys.billing}:`]) {
      const r = await curl(['--proxy', gw.url, '--proxy-user', user, `${plain.url}/get`])
      expect(r.status).toBe(200)
    }
  })

  it("apply the route's agent list: another agent is refused with 403", async () => {
    const r = await curl(['--proxy', proxyUrl(gw, keys.dev, 'dev-bot'), `${plain.url}/get`])
    expect(r.status).toBe(403)
    expect(JSON.parse(r.body).error.code).toBe('AIRLOCK_AGENT_NOT_ALLOWED')
  })

  it('are denied by the policy like any request, and the upstream sees nothing', async () => {
    const before = plain.received.length
    const r = await curl([
      '--proxy',
      proxyUrl(gw),
      '--data',
      '{}',
      '-H',
      'content-type: application/json',
      `${plain.url}/v1/items`,
    ])
    expect(r.status).toBe(403)
    expect(JSON.parse(r.body).error).toMatchObject({ code: 'AIRLOCK_DENIED', rule: 'airlock.default_deny' })
    expect(plain.received.length).toBe(before)
  })

  it('to a host no route covers go to the policy, then the SSRF guard', async () => {
    const other = await startUpstream()
    try {
      const denied = await curl(['--proxy', proxyUrl(gw), `${other.url}/`])
      expect(denied.status).toBe(403)
      expect(gw.decisions().at(-1)).toMatchObject({ mode: 'forward', route: '', action: 'deny' })
      const guarded = await curl(['--proxy', proxyUrl(gw, keys.dev, 'dev-bot'), `${other.url}/`])
      expect(guarded.status).toBe(403)
      expect(JSON.parse(guarded.body).error.code).toBe('AIRLOCK_DESTINATION_FORBIDDEN')
      expect(other.received.length).toBe(0)
    } finally {
      await other.close()
    }
  })
})

describe('407', () => {
  it.each([
    ['without proxy credentials', [] as string[], 'AIRLOCK_PROXY_AUTH_REQUIRED'],
    ['with a wrong key', ['--proxy-user', 'billing-bot:wrong-key'], 'AIRLOCK_PROXY_AUTH_INVALID'],
  ])('%s, with Proxy-Authenticate, and nothing forwarded', async (_name, extra, code) => {
    const before = plain.received.length
    const r = await curl(['--proxy', gw.url, ...extra, '-D', '-', `${plain.url}/get`])
    expect(r.status).toBe(407)
    expect(r.body).toMatch(/^proxy-authenticate: Basic realm="airlock"/im)
    expect(r.body).toContain(code)
    expect(plain.received.length).toBe(before)
    expect(gw.decisions().at(-1)).toMatchObject({ mode: 'forward', error_code: code, status: 407 })
  })

  it('an Airlock key in Authorization does not count as proxy credentials', async () => {
    const r = await curl(['--proxy', gw.url, '-H', `authorization: Bearer ${keys.billing}`, `${plain.url}/get`])
    expect(r.status).toBe(407)
  })
})

describe('with proxy mode off', () => {
  it('absolute-form and CONNECT are refused: Airlock is not an open proxy', async () => {
    const off = await startTestGateway(
      testConfig({ routes: [{ name: 'plain', prefix: '/plain', upstream: plain.url, allow_private: true }] }),
    )
    try {
      const before = plain.received.length
      const abs = await curl(['--proxy', proxyUrl(off), `${plain.url}/plain/get`])
      expect(abs.status).toBe(403)
      expect(JSON.parse(abs.body).error.code).toBe('AIRLOCK_PROXY_DISABLED')
      const tunnel = await curl(['--proxy', proxyUrl(off), '--cacert', pki.caFile, `https://127.0.0.1:${plain.port}/`])
      expect(tunnel.stderr).toMatch(/403/)
      expect(plain.received.length).toBe(before)
      expect(off.decisions().map((l) => l.error_code)).toEqual(['AIRLOCK_PROXY_DISABLED', 'AIRLOCK_PROXY_DISABLED'])
    } finally {
      await off.close()
    }
  })
})
