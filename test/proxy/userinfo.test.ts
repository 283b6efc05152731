// Regression for issue 10 item 9: `http://user:pass@host/` as a forward-proxy request target put the password in the
// decision line (GET) or failed with a 500 whose log line contained it (POST). Userinfo is now refused with a 400
// that says what to do instead, and no log line, response or upstream request carries the password.
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redactUrl } from '../../gateway/core/redact.ts'
import { keys, type TestGateway } from '../support/gateway.ts'
import { startUpstream, type TestUpstream } from '../support/upstream.ts'
import { proxyPolicy, startProxyGateway, testPki } from './support.ts'

const PASSWORD = 'hunter2-userinfo-secret'

let plain: TestUpstream
let gw: TestGateway

beforeAll(async () => {
  const pki = await testPki()
  plain = await startUpstream()
  gw = await startProxyGateway(pki, await proxyPolicy(), {
    routes: [{ name: 'plain', upstream: plain.url, allow_private: true }],
  })
})
afterAll(async () => {
  await gw?.close()
  await plain?.close()
})

/** A raw HTTP/1.1 exchange (clients like curl move userinfo into a header; a hand-written agent may not). */
function raw(request: string): Promise<string> {
  const { port } = new URL(gw.url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(request))
    let data = ''
    socket.on('data', (c) => (data += c.toString()))
    socket.on('end', () => resolve(data))
    socket.on('error', reject)
  })
}

const proxyAuth = `Proxy-Authorization: Basic ${Buffer.from(`billing-bot:${keys.billing}`).toString('base64')}\r\n`

describe('userinfo in forward-proxy URLs is refused', () => {
  it.each([
    ['GET', ''],
    ['POST', 'Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}'],
  ])(
    '%s http://user:pass@host/ answers 400 AIRLOCK_PROXY_BAD_TARGET and the password is nowhere',
    async (method, rest) => {
      const before = plain.received.length
      const logsBefore = gw.logs.length
      const target = plain.url.replace('http://', `http://agent:${PASSWORD}@`) + '/v1/items'
      const res = await raw(
        `${method} ${target} HTTP/1.1\r\nHost: ${new URL(plain.url).host}\r\n${proxyAuth}Connection: close\r\n${rest || '\r\n'}`,
      )
      expect(res).toMatch(/^HTTP\/1\.1 400 /)
      expect(res).toContain('AIRLOCK_PROXY_BAD_TARGET')
      expect(res).toContain('user:password@')
      expect(res).not.toContain(PASSWORD)
      expect(plain.received.length).toBe(before)
      const logs = JSON.stringify(gw.logs.slice(logsBefore))
      expect(
        gw.logs.slice(logsBefore).some((l) => l.msg === 'decision' && l.error_code === 'AIRLOCK_PROXY_BAD_TARGET'),
      ).toBe(true)
      expect(logs).not.toContain(PASSWORD)
    },
  )
})

describe('redactUrl never shows userinfo', () => {
  it('replaces user and password wherever a URL is logged or shown', () => {
    const shown = redactUrl(new URL(`https://agent:${PASSWORD}@api.example.com/v1?limit=2`))
    expect(shown).not.toContain(PASSWORD)
    expect(shown).not.toContain('agent')
    expect(shown).toBe('https://%5Bredacted%5D:%5Bredacted%5D@api.example.com/v1?limit=2')
  })
})
