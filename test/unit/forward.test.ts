import { describe, expect, it } from 'vitest'
import { routeSchema } from '../../gateway/core/config/schema.ts'
import { parsePrefer } from '../../gateway/core/holds/prefer.ts'
import { injectCredential, upstreamHeaders } from '../../gateway/core/pipeline/forward.ts'

const route = (over: object = {}) =>
  routeSchema.parse({ name: 'r', prefix: '/r', upstream: 'https://x.example', ...over })
const ctx = (over: object = {}) => ({
  route: route(over),
  clientAddress: '10.0.0.7',
  requestUrl: new URL('http://airlock.local:8080/r/x'),
})

describe('upstreamHeaders', () => {
  const incoming = new Headers({
    connection: 'keep-alive, x-hop',
    'x-hop': '1',
    'keep-alive': 'timeout=5',
    te: 'trailers',
    'transfer-encoding': 'chunked',
    upgrade: 'h2c',
    authorization: 'Bearer agent-key',
    'x-api-key': 'k',
    'airlock-agent-key': 'k',
    'airlock-intent': 'why',
    host: 'airlock.local',
    'x-forwarded-for': '1.2.3.4',
    forwarded: 'for=1.2.3.4',
    prefer: 'wait=10, return=minimal',
    'content-type': 'application/json',
    'x-custom': 'kept',
  })
  it('drops hop-by-hop, agent credentials, Airlock controls and spoofable forwarding headers', () => {
    const h = Object.fromEntries(upstreamHeaders(incoming, ctx()))
    expect(h).toEqual({ 'content-type': 'application/json', 'x-custom': 'kept', prefer: 'return=minimal' })
  })
  it('adds X-Forwarded-* or RFC 7239 Forwarded only when the route asks', () => {
    expect(Object.fromEntries(upstreamHeaders(new Headers(), ctx({ forwarded: 'x-forwarded' })))).toEqual({
      'x-forwarded-for': '10.0.0.7',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'airlock.local:8080',
    })
    expect(upstreamHeaders(new Headers(), ctx({ forwarded: 'forwarded' })).get('forwarded')).toBe(
      'for=10.0.0.7;proto=http;host="airlock.local:8080"',
    )
  })
})

describe('injectCredential', () => {
  const secrets = (n: string) => (n === 'TOKEN' ? 'user:pass' : undefined)
  it.each([
    [{ env: 'TOKEN' }, 'authorization', 'Bearer user:pass'],
    [{ env: 'TOKEN', scheme: 'basic' }, 'authorization', `Basic ${btoa('user:pass')}`],
    [{ env: 'TOKEN', scheme: 'raw', header: 'X-Api-Key' }, 'x-api-key', 'user:pass'],
  ])('%j', (credential, header, value) => {
    expect(injectCredential(new Headers(), route({ credential }), secrets).get(header)).toBe(value)
  })
  it('fails closed when the secret is not set, without naming its value', () => {
    expect(() => injectCredential(new Headers(), route({ credential: { env: 'MISSING' } }), secrets)).toThrow(
      expect.objectContaining({ code: 'AIRLOCK_CREDENTIAL_MISSING', status: 503 }),
    )
  })
})

describe('parsePrefer (RFC 7240)', () => {
  it.each([
    [null, { wait: undefined, respondAsync: false }],
    ['wait=10', { wait: 10, respondAsync: false }],
    ['respond-async, wait=5', { wait: 5, respondAsync: true }],
    ['return=minimal; foo, wait="7"', { wait: 7, respondAsync: false }],
    ['wait=-1', { wait: undefined, respondAsync: false }],
  ])('%s', (header, expected) => {
    expect(parsePrefer(header)).toEqual(expected)
  })
})
