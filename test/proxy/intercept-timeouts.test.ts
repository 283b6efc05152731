// Slow clients inside intercepted tunnels (issue 10, item 11): the interception server never listens, so Node's own
// header and request timeouts do not run there; these guard the idle timeouts Airlock sets instead. Raw sockets play
// the misbehaving agent: CONNECT through the real gateway, TLS with Airlock's leaf, then too little, too slowly.
import { connect as netConnect, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { keys, type TestGateway } from '../support/gateway.ts'
import { type HttpsUpstream, proxyPolicy, startHttpsUpstream, startProxyGateway, testPki } from './support.ts'

let api: HttpsUpstream
let gw: TestGateway

beforeAll(async () => {
  const pki = await testPki()
  api = await startHttpsUpstream(pki)
  gw = await startProxyGateway(pki, await proxyPolicy(), {
    proxy: { intercept: true },
    routes: [{ name: 'api', upstream: api.url, tls: 'intercept', allow_private: true }],
    limits: { header_timeout_ms: 400, body_timeout_ms: 800 },
  })
})
afterAll(async () => {
  await gw?.close()
  await api?.close()
})

/** Opens a CONNECT tunnel to the api upstream as billing-bot; resolves with the raw socket once Airlock answered 200. */
async function tunnel(): Promise<Socket> {
  const s = netConnect(gw.port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => s.once('connect', resolve).once('error', reject))
  const authority = new URL(api.url).host
  const auth = Buffer.from(`billing-bot:${keys.billing}`).toString('base64')
  s.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\nProxy-Authorization: Basic ${auth}\r\n\r\n`)
  const head = await new Promise<string>((resolve) => s.once('data', (d) => resolve(d.toString())))
  expect(head).toMatch(/^HTTP\/1\.1 200/)
  return s
}

function closedWithin(s: Socket): Promise<number> {
  const t0 = Date.now()
  s.on('error', () => {})
  return new Promise((resolve) => s.once('close', () => resolve(Date.now() - t0)))
}

describe('intercepted connections are bounded too', () => {
  it('a tunnel that stays silent is closed after header_timeout_ms', async () => {
    const s = await tunnel()
    const ms = await closedWithin(s)
    expect(ms).toBeGreaterThanOrEqual(300)
    expect(ms).toBeLessThan(3000)
  })

  it('an intercepted request whose headers never finish is closed after header_timeout_ms', async () => {
    const raw = await tunnel()
    const tls = tlsConnect({ socket: raw, servername: 'localhost', rejectUnauthorized: false })
    await new Promise<void>((resolve, reject) => tls.once('secureConnect', resolve).once('error', reject))
    tls.write('GET /v1/items HTTP/1.1\r\nHost: localhost\r\nX-Slow: ')
    const ms = await closedWithin(tls)
    expect(ms).toBeGreaterThanOrEqual(300)
    expect(ms).toBeLessThan(3000)
  })

  it('an intercepted body that stops arriving is cut after body_timeout_ms; nothing reaches the upstream', async () => {
    const raw = await tunnel()
    const tls = tlsConnect({ socket: raw, servername: 'localhost', rejectUnauthorized: false })
    await new Promise<void>((resolve, reject) => tls.once('secureConnect', resolve).once('error', reject))
    const before = api.received.length
    tls.write(
      'POST /v1/payments HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"amount":',
    )
    const ms = await closedWithin(tls)
    expect(ms).toBeGreaterThanOrEqual(600)
    expect(ms).toBeLessThan(4000)
    expect(api.received.length).toBe(before)
  })

  it('a held request that arrived in full may wait for its approval longer than the timeouts', async () => {
    const raw = await tunnel()
    const tls = tlsConnect({ socket: raw, servername: 'localhost', rejectUnauthorized: false })
    await new Promise<void>((resolve, reject) => tls.once('secureConnect', resolve).once('error', reject))
    let answer = ''
    tls.on('data', (d) => (answer += d.toString()))
    const body = JSON.stringify({ amount: 500, currency: 'usd', marker: crypto.randomUUID() })
    const t0 = Date.now()
    tls.write(
      `POST /v1/payments HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nPrefer: wait=2\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    )
    const end = Date.now() + 8000
    while (!answer.includes('\r\n\r\n') && Date.now() < end) await new Promise((r) => setTimeout(r, 20))
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1900) // waited the full 2 s, more than body_timeout_ms
    expect(answer).toMatch(/^HTTP\/1\.1 (202|409)/)
    expect(answer.toLowerCase()).toContain('airlock-hold-id')
    tls.destroy()
  })

  it('a complete intercepted request is served, and the connection stays open for the next one', async () => {
    const raw = await tunnel()
    const tls = tlsConnect({ socket: raw, servername: 'localhost', rejectUnauthorized: false })
    await new Promise<void>((resolve, reject) => tls.once('secureConnect', resolve).once('error', reject))
    let answer = ''
    tls.on('data', (d) => (answer += d.toString()))
    tls.write('GET /v1/items HTTP/1.1\r\nHost: localhost\r\n\r\n')
    const end = Date.now() + 5000
    while (!answer.includes('\r\n\r\n') && Date.now() < end) await new Promise((r) => setTimeout(r, 20))
    expect(answer).toMatch(/^HTTP\/1\.1 200/)
    tls.destroy()
  })
})
