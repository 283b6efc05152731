// CONNECT: tunnel-only hosts get one host-level decision and their bytes pass untouched (the client sees the real
// upstream certificate, never Airlock's); unknown hosts fall to the policy and the SSRF guard; bad credentials get 407.
import { connect as netConnect } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { keys, type TestGateway } from '../support/gateway.ts'
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
let registry: HttpsUpstream
let blocked: HttpsUpstream
let unknown: HttpsUpstream
let gw: TestGateway
let policyDir: string

beforeAll(async () => {
  pki = await testPki()
  ;[registry, blocked, unknown] = await Promise.all([
    startHttpsUpstream(pki),
    startHttpsUpstream(pki),
    startHttpsUpstream(pki),
  ])
  policyDir = await proxyPolicy()
  gw = await startProxyGateway(pki, policyDir, {
    // Global interception on: the tunnel-only routes must still never be intercepted.
    proxy: { intercept: true },
    routes: [
      {
        name: 'registry',
        upstream: registry.url,
        tls: 'tunnel',
        allow_private: true,
        credential: { env: 'UPSTREAM_TOKEN' },
      },
      { name: 'blocked', upstream: blocked.url, tls: 'tunnel', allow_private: true },
    ],
  })
})
afterAll(async () => {
  await gw?.close()
  await Promise.all([registry?.close(), blocked?.close(), unknown?.close()])
})

/** Sends a raw CONNECT and returns the proxy's status line and headers. */
function rawConnect(target: string, headers: Record<string, string> = {}): Promise<{ status: number; head: string }> {
  return new Promise((resolve, reject) => {
    const s = netConnect(gw.port, '127.0.0.1', () => {
      s.write(
        `CONNECT ${target} HTTP/1.1\r\nhost: ${target}\r\n${Object.entries(headers)
          .map(([k, v]) => `${k}: ${v}\r\n`)
          .join('')}\r\n`,
      )
    })
    let buf = ''
    s.on('data', (d) => {
      buf += d.toString('latin1')
      const end = buf.indexOf('\r\n\r\n')
      if (end < 0) return
      s.destroy()
      resolve({ status: Number(buf.split(' ')[1]), head: buf.slice(0, end) })
    })
    s.on('error', reject)
  })
}
const basic = (key: string) => `Basic ${Buffer.from(`billing-bot:${key}`).toString('base64')}`

describe('CONNECT to a tunnel-only host', () => {
  it("is allowed by the policy and tunnelled untouched: the client sees the upstream certificate, not Airlock's", async () => {
    const before = registry.received.length
    // Trusting only the upstream's CA proves the bytes were not intercepted (Airlock's leaf would fail to verify).
    const r = await curl([
      '--proxy',
      proxyUrl(gw),
      '--cacert',
      pki.caFile,
      '-H',
      'authorization: Bearer own-token',
      `${registry.url}/simple/pkg/`,
    ])
    expect(r.stderr).toBe('')
    expect(r.status).toBe(200)
    expect(registry.received.length).toBe(before + 1)
    // Nothing inside a tunnel is touched: the agent's own header arrives, no credential is injected.
    expect(registry.received.at(-1)!.headers.authorization).toBe('Bearer own-token')
    const line = gw.decisions().at(-1)!
    expect(line).toMatchObject({
      mode: 'tunnel',
      method: 'CONNECT',
      route: 'registry',
      action: 'allow',
      rule: 'p.tunnel',
      status: 200,
      upstream_status: 200,
    })
    expect(line.input.request).toEqual(
      expect.objectContaining({
        method: 'CONNECT',
        url: `127.0.0.1:${registry.port}`,
        scheme: '',
        host: '127.0.0.1',
        port: registry.port,
        path: '',
        parsed_path: [],
        query: {},
        body: null,
      }),
    )
    expect(line.input.route).toEqual({ name: 'registry', upstream: registry.url })
  })

  it("trusting Airlock's CA instead fails: the tunnel-only host is never intercepted", async () => {
    const r = await curl(['--proxy', proxyUrl(gw), '--cacert', caFileOf(gw), `${registry.url}/simple/`])
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/SSL certificate problem|certificate/i)
    expect(gw.leaves!.minted).toBe(0)
  })

  it("is refused with the policy's reason when no rule allows it", async () => {
    const before = blocked.received.length
    const r = await curl(['--proxy', proxyUrl(gw), '--cacert', pki.caFile, `${blocked.url}/`])
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/CONNECT tunnel failed, response 403|403/)
    expect(blocked.received.length).toBe(before)
    expect(gw.decisions().at(-1)).toMatchObject({
      mode: 'tunnel',
      route: 'blocked',
      action: 'deny',
      rule: 'airlock.default_deny',
      status: 403,
    })
    const raw = await rawConnect(`127.0.0.1:${blocked.port}`, { 'proxy-authorization': basic(keys.billing) })
    expect(raw.status).toBe(403)
    expect(raw.head).toMatch(/airlock-decision-id: /)
  })
})

describe('a host no route covers', () => {
  it('when intercepted, each request falls to the policy: denied for an agent no rule allows', async () => {
    const r = await curl(['--proxy', proxyUrl(gw), '--cacert', caFileOf(gw), `${unknown.url}/`])
    expect(r.status).toBe(403)
    expect(JSON.parse(r.body).error).toMatchObject({ code: 'AIRLOCK_DENIED', rule: 'airlock.default_deny' })
    const line = gw.decisions().at(-1)!
    expect(line).toMatchObject({ mode: 'intercept', route: '', agent: 'billing-bot', action: 'deny', status: 403 })
    expect(line.input.route).toEqual({ name: '', upstream: unknown.url })
  })

  it('allowed by the policy, still stopped by the SSRF guard at a loopback address', async () => {
    const r = await curl(['--proxy', proxyUrl(gw, keys.dev, 'dev-bot'), '--cacert', caFileOf(gw), `${unknown.url}/`])
    expect(r.status).toBe(403)
    expect(JSON.parse(r.body).error.code).toBe('AIRLOCK_DESTINATION_FORBIDDEN')
    expect(gw.decisions().at(-1)).toMatchObject({
      mode: 'intercept',
      route: '',
      agent: 'dev-bot',
      action: 'allow',
      rule: 'p.unknown_read',
      error_code: 'AIRLOCK_DESTINATION_FORBIDDEN',
    })
    expect(unknown.received.length).toBe(0)
  })

  it('without interception, the CONNECT itself is decided: denied, or tunnelled when allowed', async () => {
    const other = await startProxyGateway(pki, policyDir, { proxy: { allow_private: true } })
    try {
      const denied = await curl(['--proxy', proxyUrl(other), '--cacert', pki.caFile, `${unknown.url}/x`])
      expect(denied.stderr).toMatch(/403/)
      expect(other.decisions().at(-1)).toMatchObject({
        mode: 'tunnel',
        method: 'CONNECT',
        route: '',
        agent: 'billing-bot',
        action: 'deny',
        status: 403,
      })
      expect(other.decisions().at(-1)!.input.route).toEqual({ name: '', upstream: unknown.url })
      const r = await curl([
        '--proxy',
        proxyUrl(other, keys.dev, 'dev-bot'),
        '--cacert',
        pki.caFile,
        `${unknown.url}/x`,
      ])
      expect(r.status).toBe(200)
      expect(unknown.received.at(-1)!.url).toBe('/x')
      expect(other.decisions().at(-1)).toMatchObject({
        mode: 'tunnel',
        route: '',
        action: 'allow',
        rule: 'p.unknown_tunnel',
      })
    } finally {
      await other.close()
    }
  })
})

describe('407 and malformed CONNECTs', () => {
  it.each([
    ['no credentials', {}, 'AIRLOCK_PROXY_AUTH_REQUIRED'],
    ['a wrong key', { 'proxy-authorization': basic('not-a-key') }, 'AIRLOCK_PROXY_AUTH_INVALID'],
    ['an unknown scheme', { 'proxy-authorization': 'Digest x' }, 'AIRLOCK_PROXY_AUTH_REQUIRED'],
  ])('%s → 407 with Proxy-Authenticate', async (_name, headers, code) => {
    const raw = await rawConnect(`127.0.0.1:${registry.port}`, headers as Record<string, string>)
    expect(raw.status).toBe(407)
    expect(raw.head).toMatch(/proxy-authenticate: Basic realm="airlock"/i)
    expect(gw.decisions().at(-1)).toMatchObject({ method: 'CONNECT', error_code: code, status: 407 })
    expect(JSON.stringify(gw.logs)).not.toContain('not-a-key')
  })

  it('an intercepted host refuses a bad key before any TLS', async () => {
    const raw = await rawConnect(`127.0.0.1:${unknown.port}`, { 'proxy-authorization': `Bearer wrong` })
    expect(raw.status).toBe(407)
  })

  it('a Bearer key works too', async () => {
    const raw = await rawConnect(`127.0.0.1:${registry.port}`, { 'proxy-authorization': `Bearer ${keys.billing}` })
    expect(raw.status).toBe(200)
  })

  it.each(['example.com', 'example.com:0', 'exa mple.com:443', '[::1:443', 'user@example.com:443'])(
    'refuses the target %j with 400',
    async (target) => {
      const raw = await rawConnect(target, { 'proxy-authorization': basic(keys.billing) })
      expect(raw.status).toBe(400)
    },
  )

  it("a TLS client that does not trust Airlock's CA fails the handshake; nothing is sent upstream", async () => {
    const before = unknown.received.length
    const raw = await new Promise<string>((resolve) => {
      const s = netConnect(gw.port, '127.0.0.1', () =>
        s.write(`CONNECT 127.0.0.1:${unknown.port} HTTP/1.1\r\nproxy-authorization: ${basic(keys.billing)}\r\n\r\n`),
      )
      s.once('data', () => {
        const t = tlsConnect({ socket: s, servername: 'localhost' })
        t.on('error', (err) => {
          s.destroy()
          resolve((err as NodeJS.ErrnoException).code ?? err.message)
        })
        t.on('secureConnect', () => {
          s.destroy()
          resolve('connected')
        })
      })
    })
    expect(raw).toMatch(/SELF_SIGNED|UNABLE_TO_GET_ISSUER|UNABLE_TO_VERIFY/)
    expect(unknown.received.length).toBe(before)
  })
})
