// The pure pieces of forward-proxy mode, table-driven: route selection by port, host, prefix and destination; the
// CONNECT input; CONNECT target parsing; the config rules that keep proxy mode unambiguous.
import { describe, expect, it } from 'vitest'
import { type ConfigError, parseConfig } from '../../gateway/core/config/load.ts'
import { type ConfigInput, configSchema } from '../../gateway/core/config/schema.ts'
import { buildInput } from '../../gateway/core/pipeline/input.ts'
import { Router, routeForHold, UNKNOWN_ROUTE } from '../../gateway/core/pipeline/route.ts'
import { proxyKey } from '../../gateway/node/proxy/auth.ts'
import { parseAuthority } from '../../gateway/node/proxy/tunnel.ts'

const config = (input: ConfigInput) => configSchema.parse(input)
const routes = config({
  proxy: { enabled: true },
  routes: [
    { name: 'prefixed', prefix: '/p', upstream: 'https://api.example.com/v1' },
    { name: 'v2', upstream: 'https://api.example.com/v2' },
    { name: 'root', upstream: 'https://api.example.com' },
    { name: 'byhost', hosts: ['svc.internal'], upstream: 'https://svc.example.com/base' },
    { name: 'byport', port: 9001, upstream: 'http://127.0.0.1:7000' },
  ],
}).routes
const router = new Router(routes)

describe('Router', () => {
  it.each([
    ['http://airlock:8080/p/items?x=1', undefined, 'prefixed', 'https://api.example.com/v1/items?x=1'],
    ['http://svc.internal:8080/a/b', undefined, 'byhost', 'https://svc.example.com/base/a/b'],
    ['http://SVC.Internal/a', undefined, 'byhost', 'https://svc.example.com/base/a'],
    ['http://svc.internal:8080/p/items', 9001, 'byport', 'http://127.0.0.1:7000/p/items'],
    ['http://airlock:9001/', 9001, 'byport', 'http://127.0.0.1:7000/'],
  ])('reverse: %s on port %s → %s', (url, port, name, upstream) => {
    const m = router.match(new URL(url), port)
    expect(m?.route.name).toBe(name)
    expect(m?.upstreamUrl.href).toBe(upstream)
  })

  it('reverse: nothing for an unknown host and path', () => {
    expect(router.match(new URL('http://airlock/nope'), 8080)).toBeUndefined()
  })

  it.each([
    ['https://api.example.com/v2/things', 'v2'],
    ['https://api.example.com/v1/things', 'prefixed'],
    ['https://api.example.com/v10', 'root'],
    ['https://api.example.com:443/', 'root'],
    ['https://api.example.com:8443/', undefined],
    ['http://api.example.com/v1', undefined],
    ['https://svc.internal/a', undefined],
  ])('forward: %s → %s (by upstream origin and base path only)', (url, name) => {
    expect(router.forDestination(new URL(url))?.name).toBe(name)
  })

  it('CONNECT: any route of the origin, the most general first', () => {
    expect(router.forOrigin('https://api.example.com')?.name).toBe('root')
    expect(router.forOrigin('https://svc.internal')).toBeUndefined()
  })

  it('a hold on an unknown host is sent with the unknown-host route, only while proxy mode is on', () => {
    const on = config({ proxy: { enabled: true, allow_private: true } })
    expect(routeForHold(on, UNKNOWN_ROUTE, 'https://x.example/a')).toMatchObject({
      name: '',
      upstream: 'https://x.example',
      allow_private: true,
    })
    expect(routeForHold(config({}), UNKNOWN_ROUTE, 'https://x.example/a')).toBeUndefined()
  })
})

describe('the CONNECT input', () => {
  it('is host-level: no scheme, path, query or body', () => {
    const input = buildInput({
      method: 'CONNECT',
      upstreamUrl: new URL('https://pypi.org:443'),
      headers: new Headers({ 'proxy-authorization': 'Basic eDp5' }),
      body: null,
      bodySha256: 'e3b0',
      agent: { id: 'a', owner: 'o', labels: {} },
      route: {
        name: '',
        upstream: 'https://pypi.org',
        agent_key: ['header'],
        allow_private: false,
        allow_encoded_slashes: false,
        forwarded: 'none',
        idempotency_key: false,
        protocol: 'http',
      },
      nowMs: 0,
      pendingHolds: {},
    })
    expect(input.request).toEqual({
      method: 'CONNECT',
      url: 'pypi.org:443',
      scheme: '',
      host: 'pypi.org',
      port: 443,
      path: '',
      parsed_path: [],
      query: {},
      headers: { 'proxy-authorization': '[redacted]' },
      body: null,
      body_media_type: null,
      body_parse_error: null,
      body_size: 0,
      body_sha256: 'e3b0',
    })
    expect(input.route).toEqual({ name: '', upstream: 'https://pypi.org' })
  })
})

describe('parseAuthority', () => {
  it.each([
    ['api.example.com:443', 'api.example.com', 443, 'https://api.example.com'],
    ['API.Example.com:8443', 'api.example.com', 8443, 'https://api.example.com:8443'],
    ['127.0.0.1:1', '127.0.0.1', 1, 'https://127.0.0.1:1'],
    ['[::1]:443', '::1', 443, 'https://[::1]'],
  ])('%s', (target, host, port, origin) => {
    expect(parseAuthority(target)).toEqual({ host, port, origin })
  })

  it.each([
    'api.example.com',
    'api.example.com:65536',
    ':443',
    'a_b.example.com:443',
    '[nothex]:443',
    'x.com:443/p',
    '',
  ])('refuses %j', (target) => {
    expect(() => parseAuthority(target)).toThrow(/CONNECT needs host:port/)
  })
})

describe('proxyKey', () => {
  const h = (v: string) => new Headers({ 'proxy-authorization': v })
  it.each([
    [`Basic ${btoa('billing-bot:k1')}`, 'k1'],
    [`Basic ${btoa('anything:k1')}`, 'k1'],
    [`Basic ${btoa('k1:')}`, 'k1'],
    ['Bearer k1', 'k1'],
    ['Digest k1', undefined],
    ['Basic !!!', undefined],
  ])('%s → %s', (value, key) => expect(proxyKey(h(value))).toBe(key))
})

describe('config', () => {
  const problems = (text: string) => {
    try {
      parseConfig(text, 'a.yaml')
    } catch (err) {
      return (err as ConfigError).problems.join('\n')
    }
    return ''
  }
  it.each([
    [
      'a route without prefix, hosts or port and proxy mode off',
      'routes:\n  - {name: a, upstream: "https://a"}\n',
      /routes\[0\]: the route is unreachable/,
    ],
    [
      'two routes claiming one host',
      'routes:\n  - {name: a, hosts: [x.internal], upstream: "https://a"}\n  - {name: b, hosts: [X.internal], upstream: "https://b"}\n',
      /routes\[1\]\.hosts\[0\]: host "x\.internal" already selects route "a"/,
    ],
    [
      'two routes owning one port',
      'routes:\n  - {name: a, port: 9001, upstream: "https://a"}\n  - {name: b, port: 9001, upstream: "https://b"}\n',
      /routes\[1\]\.port: duplicate route port "9001"/,
    ],
    [
      'a route on the main port',
      'routes:\n  - {name: a, port: 8080, upstream: "https://a"}\n',
      /routes\[0\]\.port: is the main listener's port/,
    ],
    [
      'a host with a port',
      'routes:\n  - {name: a, hosts: ["x.internal:80"], upstream: "https://a"}\n',
      /routes\[0\]\.hosts\[0\]: must be a host name/,
    ],
    [
      'one origin, two tls settings',
      'proxy: {enabled: true}\nroutes:\n  - {name: a, upstream: "https://a.example/v1", tls: tunnel}\n  - {name: b, upstream: "https://a.example/v2", tls: intercept}\n',
      /routes\[1\]\.tls: routes "a" and "b" share the upstream https:\/\/a\.example/,
    ],
  ])('%s', (_name, text, pattern) => {
    expect(problems(text)).toMatch(pattern)
  })

  it('a proxy-only route is fine with proxy mode on; proxy mode is off by default', () => {
    expect(problems('proxy: {enabled: true}\nroutes:\n  - {name: a, upstream: "https://a", tls: intercept}\n')).toBe('')
    expect(parseConfig('{}', 'a.yaml').proxy).toEqual({ enabled: false, intercept: false, allow_private: false })
  })
})
