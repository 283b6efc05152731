// TLS interception end to end: a real client trusts Airlock's CA, Airlock decrypts, evaluates each request with its
// body, injects the route's credential and sends it on to a real HTTPS upstream verified against the test PKI.

import { ProxyAgent, fetch as undiciFetch } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { approverTokens, keys, type TestGateway } from '../support/gateway.ts'
import { startUpstream } from '../support/upstream.ts'
import {
  caFileOf,
  curl,
  type HttpsUpstream,
  proxyPolicy,
  proxyUrl,
  startHttpsUpstream,
  startProxyGateway,
  type TestPki,
  testPki,
} from './support.ts'

let pki: TestPki
let api: HttpsUpstream
let other: HttpsUpstream
let gw: TestGateway
let caFile: string

beforeAll(async () => {
  pki = await testPki()
  ;[api, other] = await Promise.all([startHttpsUpstream(pki), startHttpsUpstream(pki)])
  gw = await startProxyGateway(pki, await proxyPolicy(), {
    // `other` has no route: with allow_private its loopback address passes the SSRF guard, so holds can reach it.
    proxy: { intercept: true, allow_private: true },
    routes: [
      { name: 'api', upstream: api.url, tls: 'intercept', allow_private: true, credential: { env: 'UPSTREAM_TOKEN' } },
    ],
  })
  caFile = caFileOf(gw)
})
afterAll(async () => {
  await gw?.close()
  await Promise.all([api?.close(), other?.close()])
})

/** Waits for a pending hold of the rule to show in the approver API. */
async function pendingHold(rule: string): Promise<{ id: string }> {
  for (let i = 0; i < 100; i++) {
    const list = await fetch(`${gw.url}/_airlock/api/holds?state=pending`, {
      headers: { authorization: `Bearer ${approverTokens.bob}` },
    })
    const hold = (await list.json()).holds.find((h: { rule: string }) => h.rule === rule)
    if (hold) return hold
    await new Promise((r) => setTimeout(r, 30))
  }
  throw new Error('no pending hold')
}
/** carol approves: she owns neither test agent (an owner may not approve their own agent's requests). */
const approve = (id: string) =>
  fetch(`${gw.url}/_airlock/api/holds/${id}/approve`, {
    method: 'POST',
    headers: { authorization: `Bearer ${approverTokens.carol}` },
    body: '{}',
  })

const pay = (body: object, extra: string[] = []) =>
  curl([
    '--proxy',
    proxyUrl(gw),
    '--cacert',
    caFile,
    '-H',
    'content-type: application/json',
    '-H',
    'authorization: Bearer agent-dummy-key',
    '--data',
    JSON.stringify(body),
    ...extra,
    `${api.url}/v1/payments`,
  ])

describe('an intercepted POST whose JSON body a rule inspects', () => {
  it('allows a small payment, with the real credential injected and the agent key nowhere upstream', async () => {
    const before = api.received.length
    const r = await pay({ amount: 5, currency: 'usd' })
    expect(r.stderr).toBe('')
    expect(r.status).toBe(200)
    expect(JSON.parse(r.body)).toMatchObject({ method: 'POST', url: '/v1/payments' })
    expect(api.received.length).toBe(before + 1)
    const seen = api.received.at(-1)!
    expect(seen.headers.authorization).toBe('Bearer sk_live_real_upstream_secret')
    expect(seen.headers['proxy-authorization']).toBeUndefined()
    expect(JSON.stringify(seen.headers)).not.toContain(keys.billing)
    expect(JSON.parse(seen.body.toString())).toEqual({ amount: 5, currency: 'usd' })
    expect(gw.decisions().at(-1)).toMatchObject({
      mode: 'intercept',
      route: 'api',
      agent: 'billing-bot',
      action: 'allow',
      rule: 'p.small_payment',
      host: '127.0.0.1',
      status: 200,
      upstream_status: 200,
    })
    expect(gw.decisions().at(-1)!.input.request).toMatchObject({
      scheme: 'https',
      path: '/v1/payments',
      body: { amount: 5, currency: 'usd' },
    })
  })

  it('denies a payment in another currency; the upstream sees nothing', async () => {
    const before = api.received.length
    const r = await pay({ amount: 5, currency: 'eur' })
    expect(r.status).toBe(403)
    expect(JSON.parse(r.body).error).toMatchObject({
      code: 'AIRLOCK_DENIED',
      rule: 'p.currency',
      message: 'only usd payments are allowed',
    })
    expect(api.received.length).toBe(before)
  })

  it('holds a large payment until an approver approves, then sends it exactly once', async () => {
    const before = api.received.length
    const pending = pay({ amount: 500, currency: 'usd' })
    const hold = await pendingHold('p.large_payment')
    expect(api.received.length).toBe(before)
    expect((await approve(hold.id)).status).toBe(200)
    const r = await pending
    expect(r.status).toBe(200)
    expect(api.received.length).toBe(before + 1)
    expect(api.received.at(-1)!.headers.authorization).toBe('Bearer sk_live_real_upstream_secret')
    expect(gw.decisions().find((l) => l.hold_id === hold.id)).toMatchObject({
      mode: 'intercept',
      action: 'hold',
      rule: 'p.large_payment',
    })
  })

  it('answers a hold the agent does not wait for with 202 and a Location it can poll through the proxy', async () => {
    const r = await pay({ amount: 900, currency: 'usd' }, ['-H', 'prefer: respond-async', '-D', '-'])
    expect(r.status).toBe(202)
    const location = /^location: (\S+)/im.exec(r.body)![1]!
    const poll = await curl(['--proxy', proxyUrl(gw), '--cacert', caFile, `${api.url}${location}`])
    expect(poll.status).toBe(202)
    expect(JSON.parse(poll.body).hold).toMatchObject({ state: 'pending' })
  })
})

describe('the same pipeline as routed requests', () => {
  it('samples review decisions for reviewers and counts decisions in the metrics', async () => {
    const r = await curl([
      '--proxy',
      proxyUrl(gw),
      '--cacert',
      caFile,
      '--json',
      '{"text":"hi"}',
      `${api.url}/v1/notes`,
    ])
    expect(r.status).toBe(200)
    expect(gw.decisions().at(-1)).toMatchObject({ mode: 'intercept', action: 'review', rule: 'p.note', sampled: true })
    const reviews = await (
      await fetch(`${gw.url}/_airlock/api/reviews`, { headers: { authorization: `Bearer ${approverTokens.bob}` } })
    ).json()
    expect(reviews.reviews.some((v: { rule: string; route: string }) => v.rule === 'p.note' && v.route === 'api')).toBe(
      true,
    )
    expect(await (await fetch(`${gw.url}/metrics`)).text()).toMatch(/rule="p\.note"/)
  })

  it('holds a write to a host no route covers, and sends it there once approved', async () => {
    const pending = curl([
      '--proxy',
      proxyUrl(gw, keys.dev, 'dev-bot'),
      '--cacert',
      caFile,
      '--json',
      '{"x":1}',
      `${other.url}/submit`,
    ])
    const hold = await pendingHold('p.unknown_write')
    expect(other.received.length).toBe(0)
    expect((await approve(hold.id)).status).toBe(200)
    const r = await pending
    expect(r.status).toBe(200)
    expect(other.received.map((x) => `${x.method} ${x.url} ${x.body}`)).toEqual(['POST /submit {"x":1}'])
    expect(gw.decisions().find((l) => l.hold_id === hold.id)).toMatchObject({ route: '', rule: 'p.unknown_write' })
  })

  it("reads plain HTTP that a client tunnels through CONNECT (undici's ProxyAgent with proxyTunnel)", async () => {
    const plain = await startUpstream()
    const dispatcher = new ProxyAgent({ uri: proxyUrl(gw, keys.dev, 'dev-bot'), proxyTunnel: true })
    try {
      const res = await undiciFetch(`${plain.url}/get?q=1`, { dispatcher })
      expect(res.status).toBe(200)
      expect(plain.received.map((r) => r.url)).toEqual(['/get?q=1'])
      expect(gw.decisions().at(-1)).toMatchObject({ mode: 'intercept', route: '', rule: 'p.unknown_read' })
      expect(gw.decisions().at(-1)!.input.request.url).toBe(`${plain.url}/get?q=1`)
    } finally {
      await dispatcher.close()
      await plain.close()
    }
  })

  it('always sends to the CONNECT host, whatever the Host header inside says', async () => {
    const r = await curl([
      '--proxy',
      proxyUrl(gw),
      '--cacert',
      caFile,
      '-H',
      'host: evil.example',
      `${api.url}/v1/items`,
    ])
    expect(r.status).toBe(200)
    expect(api.received.at(-1)!.headers.host).toBe(`127.0.0.1:${api.port}`)
    expect(gw.decisions().at(-1)!.input.request).toMatchObject({ host: '127.0.0.1', url: `${api.url}/v1/items` })
  })
})
