// The policy input is a public contract (docs/policy.md): these tests pin its shape.
import { describe, expect, it } from 'vitest'
import { routeSchema } from '../../gateway/core/config/schema.ts'
import { parseBody } from '../../gateway/core/pipeline/body.ts'
import { buildInput } from '../../gateway/core/pipeline/input.ts'
import { Router } from '../../gateway/core/pipeline/route.ts'
import { redactHeaders, redactUrl } from '../../gateway/core/redact.ts'

const route = routeSchema.parse({ name: 'stripe', prefix: '/stripe', upstream: 'https://api.stripe.com' })
const agent = { id: 'billing-bot', owner: 'alice@example.com', labels: { team: 'payments' } }

describe('buildInput', () => {
  it('builds the documented input for a form-encoded Stripe charge', () => {
    const body = new TextEncoder().encode('amount=500000&currency=usd&expand[]=a&expand[]=b')
    const input = buildInput({
      method: 'POST',
      upstreamUrl: new URL('https://api.stripe.com/v1/charges?expand[]=customer'),
      headers: new Headers({
        'content-type': 'application/x-www-form-urlencoded',
        authorization: 'Bearer sk_agent',
        'airlock-intent': 'charge%20for%20order%2042',
        'X-Trace': 't1',
      }),
      body,
      bodySha256: 'abc',
      agent,
      route,
      nowMs: Date.UTC(2026, 10, 23, 12, 0, 0),
      pendingHolds: { payments: 2 },
    })
    expect(input).toEqual({
      request: {
        method: 'POST',
        url: 'https://api.stripe.com/v1/charges?expand[]=customer',
        scheme: 'https',
        host: 'api.stripe.com',
        port: 443,
        path: '/v1/charges',
        parsed_path: ['v1', 'charges'],
        query: { 'expand[]': ['customer'] },
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: '[redacted]',
          'airlock-intent': 'charge%20for%20order%2042',
          'x-trace': 't1',
        },
        body: { amount: '500000', currency: 'usd', 'expand[]': ['a', 'b'] },
        body_media_type: 'application/x-www-form-urlencoded',
        body_parse_error: null,
        body_size: body.byteLength,
        body_sha256: 'abc',
      },
      agent,
      route: { name: 'stripe', upstream: 'https://api.stripe.com' },
      intent: 'charge for order 42',
      gateway: {
        now: '2026-11-23T12:00:00.000Z',
        now_ns: Date.UTC(2026, 10, 23, 12) * 1e6,
        pending_holds: { payments: 2 },
        grants: [],
      },
    })
  })

  it('gives explicit ports, decoded path segments, and null intent/body when absent', () => {
    const input = buildInput({
      method: 'GET',
      upstreamUrl: new URL('http://h:8080/a%20b/c'),
      headers: new Headers(),
      body: null,
      bodySha256: 'e3b0',
      agent,
      route,
      nowMs: 0,
      pendingHolds: {},
    })
    expect(input.request).toMatchObject({
      port: 8080,
      scheme: 'http',
      parsed_path: ['a b', 'c'],
      query: {},
      body: null,
      body_size: 0,
    })
    expect(input.intent).toBeNull()
  })
})

describe('parseBody', () => {
  const enc = (s: string) => new TextEncoder().encode(s)
  it.each([
    ['application/json', '{"a":[1,2]}', { a: [1, 2] }],
    ['application/vnd.api+json; charset=utf-8', '{"x":true}', { x: true }],
    ['application/x-www-form-urlencoded', 'a=1&b=2&a=3', { a: ['1', '3'], b: '2' }],
    ['text/plain', 'hello', null],
    ['application/octet-stream', '\u0000\u0001', null],
  ])('%s → parsed', (type, text, expected) => {
    expect(parseBody(enc(text), type)).toEqual(expected)
  })
  it('refuses JSON that does not parse, and non-UTF-8 text, with a clear error', () => {
    expect(() => parseBody(enc('{oops'), 'application/json')).toThrow(
      /declared application\/json but is not valid JSON/,
    )
    expect(() => parseBody(new Uint8Array([0xff, 0xfe]), 'application/json')).toThrow(/not valid UTF-8/)
  })
})

describe('Router', () => {
  const router = new Router([
    routeSchema.parse({ name: 'gh', prefix: '/github', upstream: 'https://api.github.com' }),
    routeSchema.parse({ name: 'ghe', prefix: '/github/enterprise', upstream: 'https://ghe.example.com/api/v3' }),
  ])
  it.each([
    ['/github/repos/o/r', 'gh', 'https://api.github.com/repos/o/r'],
    ['/github', 'gh', 'https://api.github.com/'],
    ['/github/enterprise/user?x=1', 'ghe', 'https://ghe.example.com/api/v3/user?x=1'],
    ['/githubx/repos', undefined, undefined],
    ['/', undefined, undefined],
  ])('%s → %s', (path, name, upstream) => {
    const m = router.match(new URL(`http://airlock${path}`))
    expect(m?.route.name).toBe(name)
    expect(m?.upstreamUrl.href).toBe(upstream)
  })
})

describe('redactHeaders', () => {
  it.each([
    ['authorization', true],
    ['proxy-authorization', true],
    ['cookie', true],
    ['x-api-key', true],
    ['airlock-agent-key', true],
    ['x-auth-token', true],
    ['x-github-otp-token', true],
    ['stripe-signature', true],
    ['x-session-id', true],
    ['content-type', false],
    ['idempotency-key', false],
    ['user-agent', false],
  ])('%s redacted: %s', (name, redacted) => {
    expect(redactHeaders(new Headers({ [name]: 'v' }))[name] === '[redacted]').toBe(redacted)
  })
})

describe('credentials in query strings', () => {
  it('are redacted in input.request.url and input.request.query, like credential headers', () => {
    const input = buildInput({
      method: 'POST',
      upstreamUrl: new URL('https://slack.com/api/chat.postMessage?token=xoxb-secret&channel=C1&api_key=k1&api_key=k2'),
      headers: new Headers(),
      body: null,
      bodySha256: 'x',
      agent,
      route,
      nowMs: 0,
      pendingHolds: {},
    })
    expect(input.request.url).toBe(
      'https://slack.com/api/chat.postMessage?channel=C1&token=%5Bredacted%5D&api_key=%5Bredacted%5D&api_key=%5Bredacted%5D',
    )
    expect(input.request.query).toEqual({
      token: ['[redacted]'],
      channel: ['C1'],
      api_key: ['[redacted]', '[redacted]'],
    })
    expect(JSON.stringify(input)).not.toContain('xoxb-secret')
  })

  it('leave URLs without credential parameters untouched', () => {
    const u = new URL('https://api.stripe.com/v1/charges?expand[]=customer&limit=3')
    expect(redactUrl(u)).toBe(u.href)
  })
})
