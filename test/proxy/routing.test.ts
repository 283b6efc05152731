// Reverse mode beside path prefixes: a route chosen by the Host header (`hosts`) or by a listener port it owns
// (`port`), so an SDK that only lets you change its host or base URL reaches Airlock without a proxy or a prefix.
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { keys, type TestGateway } from '../support/gateway.ts'
import { startUpstream, type TestUpstream } from '../support/upstream.ts'
import {
  curl,
  freePort,
  type HttpsUpstream,
  proxyPolicy,
  startHttpsUpstream,
  startProxyGateway,
  type TestPki,
  testPki,
} from './support.ts'

let pki: TestPki
let plain: TestUpstream
let openai: HttpsUpstream
let gw: TestGateway
let port: number

beforeAll(async () => {
  pki = await testPki()
  plain = await startUpstream()
  openai = await startHttpsUpstream(pki, (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(
      JSON.stringify({
        id: 'c',
        object: 'chat.completion',
        created: 1,
        model: 'gpt-4o-mini',
        choices: [{ index: 0, message: { role: 'assistant', content: `saw ${req.url}` }, finish_reason: 'stop' }],
      }),
    )
  })
  port = await freePort()
  gw = await startProxyGateway(pki, await proxyPolicy(), {
    routes: [
      { name: 'plain', prefix: '/plain', upstream: `${plain.url}/base`, allow_private: true },
      {
        name: 'byhost',
        hosts: ['api.internal.test', 'api2.internal.test'],
        upstream: `${plain.url}/base`,
        allow_private: true,
        credential: { env: 'UPSTREAM_TOKEN' },
      },
      { name: 'openai', port, upstream: openai.url, allow_private: true, credential: { env: 'UPSTREAM_TOKEN' } },
    ],
  })
})
afterAll(async () => {
  await gw?.close()
  await plain?.close()
  await openai?.close()
})

describe('a route chosen by the Host header', () => {
  it('gets the whole path, after its upstream base path, with its credential', async () => {
    const r = await curl([
      '--resolve',
      `api.internal.test:${gw.port}:127.0.0.1`,
      '-H',
      `airlock-agent-key: ${keys.billing}`,
      `http://api.internal.test:${gw.port}/v1/items?x=1`,
    ])
    expect(r.status).toBe(200)
    expect(JSON.parse(r.body).url).toBe('/base/v1/items?x=1')
    expect(plain.received.at(-1)!.headers.authorization).toBe('Bearer sk_live_real_upstream_secret')
    expect(gw.decisions().at(-1)).toMatchObject({
      mode: 'reverse',
      route: 'byhost',
      rule: 'p.read',
      url_path: '/v1/items',
    })
  })

  it('matches any of its hosts, case-insensitively; other hosts fall back to prefixes', async () => {
    const other = await curl([
      '-H',
      'host: API2.Internal.Test',
      '-H',
      `airlock-agent-key: ${keys.billing}`,
      `${gw.url}/v1/items`,
    ])
    expect(other.status).toBe(200)
    expect(gw.decisions().at(-1)!.route).toBe('byhost')
    const byPrefix = await curl([
      '-H',
      'host: somewhere.else',
      '-H',
      `airlock-agent-key: ${keys.billing}`,
      `${gw.url}/plain/get`,
    ])
    expect(byPrefix.status).toBe(200)
    expect(JSON.parse(byPrefix.body).url).toBe('/base/get')
    const none = await curl([
      '-H',
      'host: somewhere.else',
      '-H',
      `airlock-agent-key: ${keys.billing}`,
      `${gw.url}/v1/items`,
    ])
    expect(none.status).toBe(404)
  })

  it('still needs the agent key', async () => {
    const r = await curl(['-H', 'host: api.internal.test', `${gw.url}/v1/items`])
    expect(r.status).toBe(401)
  })
})

describe('a route that owns a port', () => {
  it('serves an SDK whose only setting is its base URL (OpenAI SDK: baseURL and the agent key as its API key)', async () => {
    const client = new OpenAI({ apiKey: keys.billing, baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 })
    const r = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
    })
    expect(r.choices[0]!.message.content).toBe('saw /v1/chat/completions')
    expect(openai.received.at(-1)!.headers.authorization).toBe('Bearer sk_live_real_upstream_secret')
    expect(gw.decisions().at(-1)).toMatchObject({
      mode: 'reverse',
      route: 'openai',
      rule: 'p.model',
      agent: 'billing-bot',
    })
    const denied = await client.chat.completions.create({ model: 'o1-pro', messages: [] }).catch((e: unknown) => e)
    expect(denied).toBeInstanceOf(OpenAI.PermissionDeniedError)
  })

  it("takes every path on that port, whatever the Host, except Airlock's own endpoints", async () => {
    // Host and prefix would pick other routes; the port wins, and the openai route's policy has no rule for a GET.
    const r = await curl([
      '-H',
      'host: api.internal.test',
      '-H',
      `airlock-agent-key: ${keys.billing}`,
      `http://127.0.0.1:${port}/plain/get`,
    ])
    expect(r.status).toBe(403)
    expect(gw.decisions().at(-1)).toMatchObject({
      route: 'openai',
      url_path: '/plain/get',
      rule: 'airlock.default_deny',
    })
    expect(gw.decisions().at(-1)!.input.request.url).toBe(`${openai.url}/plain/get`)
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200)
  })
})
