// Connection bounds on the Node server (issue 10, item 11): header and body read timeouts against slow clients, and a
// cap on concurrent connections. Real gateway on loopback, raw sockets for the misbehaving clients.
import { mkdtempSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildPolicy } from '../../gateway/node/toolchain/build.ts'
import { policySource, startTestGateway, type TestGateway, testConfig } from '../support/gateway.ts'
import { startUpstream, type TestUpstream } from '../support/upstream.ts'

const RULES = `package airlock.rules.bounds

allow contains {"rule": "b.all", "reason": "everything is allowed here"} if true
`

let upstream: TestUpstream
let policyDir: string
beforeAll(async () => {
  upstream = await startUpstream()
  policyDir = mkdtempSync(join(tmpdir(), 'airlock-bounds-policy-'))
  await buildPolicy(policySource({ 'bounds.rego': RULES }), policyDir)
})
afterAll(async () => {
  await upstream?.close()
})

const routes = () => [{ name: 'api', prefix: '/api', upstream: upstream.url, allow_private: true }]

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s))
    s.once('error', reject)
  })
}

/** Everything the server writes until it closes the socket, and how long that took. */
function untilClosed(s: Socket): Promise<{ data: string; ms: number }> {
  const t0 = Date.now()
  let data = ''
  s.on('data', (d) => (data += d.toString()))
  s.on('error', () => {})
  return new Promise((resolve) => s.once('close', () => resolve({ data, ms: Date.now() - t0 })))
}

describe('slow clients are cut off', () => {
  let gw: TestGateway
  beforeAll(async () => {
    gw = await startTestGateway(
      testConfig({
        policy: { dir: policyDir, watch: false },
        routes: routes(),
        limits: { header_timeout_ms: 400, body_timeout_ms: 800 },
      }),
    )
  })
  afterAll(async () => {
    await gw?.close()
  })

  it('a client that never finishes its headers gets 408 and is disconnected after header_timeout_ms', async () => {
    const s = await open(gw.port)
    s.write('GET /api/slow-headers HTTP/1.1\r\nHost: airlock\r\nAirlock-Agent-Key: ')
    const { data, ms } = await untilClosed(s)
    expect(data).toMatch(/^HTTP\/1\.1 408/)
    expect(ms).toBeGreaterThanOrEqual(300)
    expect(ms).toBeLessThan(5000)
  })

  it('a client that stalls in its body gets 408 and is disconnected after body_timeout_ms; nothing reaches the upstream', async () => {
    const s = await open(gw.port)
    s.write(
      'POST /api/slow-body HTTP/1.1\r\nHost: airlock\r\nAirlock-Agent-Key: test-billing-key\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":',
    )
    const { data, ms } = await untilClosed(s)
    expect(data).toMatch(/^HTTP\/1\.1 408/)
    expect(ms).toBeGreaterThanOrEqual(600)
    expect(ms).toBeLessThan(6000)
    expect(upstream.received.filter((r) => r.url.includes('slow-body'))).toHaveLength(0)
    // Logged as the agent's failure, not as an internal error of the gateway.
    await new Promise((r) => setTimeout(r, 100))
    expect(gw.decisions().find((l) => l.url_path === '/api/slow-body')).toMatchObject({
      error_code: 'AIRLOCK_BODY_INCOMPLETE',
      status: 408,
    })
    expect(gw.logs.filter((l) => l.msg === 'internal error')).toEqual([])
  })

  it('a request that arrives in time is served, however long the answer then takes', async () => {
    upstream.handle(async (req, res) => {
      await new Promise((r) => setTimeout(r, 1200)) // longer than body_timeout_ms
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ url: req.url }))
    })
    try {
      const res = await fetch(`${gw.url}/api/slow-upstream`, { headers: { 'airlock-agent-key': 'test-billing-key' } })
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ url: '/slow-upstream' })
    } finally {
      upstream.handle((req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ method: req.method, url: req.url, body_bytes: req.body.length }))
      })
    }
  })
})

describe('concurrent connections are capped', () => {
  it('past max_connections a new connection is closed at once; a freed slot is usable again', async () => {
    const gw = await startTestGateway(
      testConfig({ policy: { dir: policyDir, watch: false }, routes: routes(), limits: { max_connections: 3 } }),
    )
    const held: Socket[] = []
    try {
      for (let i = 0; i < 3; i++) held.push(await open(gw.port))
      await new Promise((r) => setTimeout(r, 50)) // the server has accepted them
      const extra = await open(gw.port)
      const { data, ms } = await untilClosed(extra)
      expect(data).toBe('')
      expect(ms).toBeLessThan(1000)

      held.pop()!.destroy()
      await new Promise((r) => setTimeout(r, 50))
      const res = await fetch(`${gw.url}/healthz`)
      expect(res.status).toBe(200)
    } finally {
      for (const s of held) s.destroy()
      await gw.close()
    }
  })
})
