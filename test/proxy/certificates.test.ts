// The interception CA and its leaves, as clients see them: a TLS client reads the minted certificate through a real
// CONNECT (SAN, issuer, short validity, cached per host), OpenSSL's strict verifier accepts it, and the CA key is
// created 0600 by `airlock ca init`, refused when others can read it, and never printed or logged.
import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { isIP, connect as netConnect } from 'node:net'
import { join } from 'node:path'
import { type PeerCertificate, connect as tlsConnect } from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { caPaths, initCa, readCa } from '../../gateway/node/proxy/ca-store.ts'
import { createCa, loadCa } from '../../gateway/node/proxy/certificates.ts'
import { LeafCache } from '../../gateway/node/proxy/leaf-cache.ts'
import { startGateway } from '../../gateway/node/server.ts'
import { keys, type TestGateway, testConfig } from '../support/gateway.ts'
import {
  caFileOf,
  type HttpsUpstream,
  proxyPolicy,
  run,
  startHttpsUpstream,
  startProxyGateway,
  type TestPki,
  testPki,
  tmp,
} from './support.ts'

let pki: TestPki
let upstream: HttpsUpstream
let gw: TestGateway

beforeAll(async () => {
  pki = await testPki()
  upstream = await startHttpsUpstream(pki)
  gw = await startProxyGateway(pki, await proxyPolicy(), { proxy: { intercept: true } })
})
afterAll(async () => {
  await gw?.close()
  await upstream?.close()
})

/** CONNECTs through Airlock and completes a TLS handshake that trusts only Airlock's CA; returns the leaf it got. */
function leafFor(host: string): Promise<PeerCertificate & { pem: string }> {
  return new Promise((resolve, reject) => {
    const s = netConnect(gw.port, '127.0.0.1', () =>
      s.write(`CONNECT ${host}:${upstream.port} HTTP/1.1\r\nproxy-authorization: Bearer ${keys.billing}\r\n\r\n`),
    )
    s.once('data', (d) => {
      if (!d.toString().startsWith('HTTP/1.1 200')) return reject(new Error(d.toString()))
      // host drives the client's identity check; SNI carries only names, never IP addresses (RFC 6066 §3).
      const t = tlsConnect({ socket: s, host, ca: gw.caCert!, ...(isIP(host) ? {} : { servername: host }) })
      t.on('error', reject)
      t.on('secureConnect', () => {
        const cert = t.getPeerCertificate()
        const pem = t.getPeerX509Certificate()!.toString()
        t.destroy()
        resolve(Object.assign(cert, { pem }))
      })
    })
    s.on('error', reject)
  })
}

describe('leaf certificates', () => {
  it("name the CONNECT host in the SAN, are issued by Airlock's CA and valid for about a day", async () => {
    const before = Date.now()
    const leaf = await leafFor('localhost')
    expect(leaf.subjectaltname).toBe('DNS:localhost')
    const x = new X509Certificate(leaf.pem)
    const ca = new X509Certificate(gw.caCert!)
    expect(x.checkIssued(ca)).toBe(true)
    expect(x.verify(ca.publicKey)).toBe(true)
    expect(x.ca).toBe(false)
    const from = new Date(x.validFrom).getTime()
    const to = new Date(x.validTo).getTime()
    expect(from).toBeLessThanOrEqual(before - 3_590_000) // backdated an hour for slow clocks
    expect(to - Date.now()).toBeGreaterThan(23 * 3_600_000)
    expect(to - from).toBeLessThanOrEqual(25 * 3_600_000 + 2000)
    expect(x.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']) // extended key usage: serverAuth only
  })

  it('use an IP address SAN for an IP literal', async () => {
    const leaf = await leafFor('127.0.0.1')
    expect(leaf.subjectaltname).toBe('IP Address:127.0.0.1')
  })

  it('are minted once per host and then served from the cache', async () => {
    const a = await leafFor('localhost')
    const minted = gw.leaves!.minted
    const b = await leafFor('localhost')
    expect(b.serialNumber).toBe(a.serialNumber)
    expect(gw.leaves!.minted).toBe(minted)
  })

  it("pass OpenSSL's strict verification as TLS server certificates", async () => {
    const dir = tmp()
    writeFileSync(join(dir, 'leaf.pem'), (await leafFor('localhost')).pem)
    const out = execFileSync(
      'openssl',
      ['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', caFileOf(gw), join(dir, 'leaf.pem')],
      { encoding: 'utf8' },
    )
    expect(out.trim()).toMatch(/: OK$/)
  })

  it('are re-minted before they expire, and the least recently used hosts are dropped', async () => {
    const { certPem, keyPem } = createCa({ commonName: 'cache test', validityDays: 1 })
    let now = Date.now()
    const cache = new LeafCache(loadCa(certPem, keyPem), { validityMs: 4 * 3_600_000, max: 2, now: () => now })
    await cache.context('a.test')
    await cache.context('a.test')
    expect(cache.minted).toBe(1)
    now += 3.5 * 3_600_000 // within the last hour of validity
    await cache.context('a.test')
    expect(cache.minted).toBe(2)
    await cache.context('b.test')
    await cache.context('c.test') // evicts a.test
    await cache.context('b.test')
    expect(cache.minted).toBe(4)
    await cache.context('a.test')
    expect(cache.minted).toBe(5)
  })
})

describe('the CA', () => {
  it('`airlock ca init` writes the key 0600 in a 0700 folder, prints only the certificate facts, and keeps an existing CA', async () => {
    const dir = tmp()
    const configFile = join(dir, 'airlock.yaml')
    writeFileSync(configFile, 'data_dir: ./data\n')
    const bin = join(import.meta.dirname, '../../gateway/node/bin.ts')
    const first = await run(process.execPath, [bin, 'ca', 'init', '--config', configFile])
    expect(first.code).toBe(0)
    const paths = caPaths(join(dir, 'data'))
    expect(statSync(paths.key).mode & 0o777).toBe(0o600)
    expect(statSync(paths.dir).mode & 0o777).toBe(0o700)
    const key = readFileSync(paths.key, 'utf8')
    expect(key).toContain('PRIVATE KEY')
    expect(first.stdout + first.stderr).not.toContain('PRIVATE KEY')
    expect(first.stdout).toContain(paths.cert)
    expect(first.stdout).toMatch(/sha256 ([0-9A-F]{2}:){31}[0-9A-F]{2}/)

    const again = await run(process.execPath, [bin, 'ca', 'init', '--config', configFile])
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('--force')
    expect(readFileSync(paths.key, 'utf8')).toBe(key)
    const forced = await run(process.execPath, [bin, 'ca', 'init', '--force', '--config', configFile])
    expect(forced.code).toBe(0)
    expect(readFileSync(paths.key, 'utf8')).not.toBe(key)

    const cert = await run(process.execPath, [bin, 'ca', 'cert', '--config', configFile])
    expect(cert.stdout).toBe(readFileSync(paths.cert, 'utf8'))
  })

  it('is required before Airlock starts with interception configured', async () => {
    const config = testConfig({ proxy: { enabled: true, intercept: true } })
    await expect(startGateway({ config, port: 0 })).rejects.toThrow(/no CA in .*: run `airlock ca init`/)
  })

  it('is refused when other users can read its key', () => {
    const dataDir = tmp()
    initCa(dataDir)
    chmodSync(caPaths(dataDir).key, 0o640)
    expect(() => readCa(dataDir)).toThrow(/readable by other users \(mode 640\); run chmod 600/)
  })

  it('never appears in logs', async () => {
    await leafFor('localhost')
    expect(JSON.stringify(gw.logs)).not.toMatch(/PRIVATE KEY|BEGIN/)
  })
})
