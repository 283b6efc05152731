// The console's pure parts: signed sessions, the sign-in limiter, dwell time, the similar-holds comparison, charts.
import { describe, expect, it } from 'vitest'
import { configSchema } from '../../gateway/core/config/schema.ts'
import { stripChart } from '../../gateway/core/console/charts.ts'
import { dwellLeft } from '../../gateway/core/console/dwell.ts'
import { cookie, readCookie, SessionSigner, SignInLimiter } from '../../gateway/core/console/session.ts'
import { compare, fieldsOf } from '../../gateway/core/console/similar.ts'
import type { Hold } from '../../gateway/core/holds/types.ts'

let n = 0
function hold(body: object, over: Partial<Hold> & { risk?: Hold['decision']['risk'] } = {}): Hold {
  const { risk, ...rest } = over
  return {
    id: `h${++n}`,
    state: 'pending',
    created_at: n * 1000,
    updated_at: n * 1000,
    expires_at: 1e12,
    decided_at: null,
    dedupe_key: String(n),
    agent: { id: 'billing-bot', owner: 'alice' },
    route: 'api',
    method: 'POST',
    url: 'https://api.example.com/refunds',
    headers: [['content-type', 'application/json']],
    body: new TextEncoder().encode(JSON.stringify(body)),
    body_sha256: '',
    intent: null,
    decision: {
      action: 'hold',
      reason: 'r',
      rule: 'refund',
      risk: risk ?? 'high',
      summary: 's',
      approvers: ['payments'],
      approvals_required: 1,
      require_comment: false,
    } as Hold['decision'],
    decision_id: 'd',
    policy_revision: 'p',
    groups: ['payments'],
    approvals: [],
    views: [],
    denial: null,
    response: null,
    error: null,
    ...rest,
  }
}

describe('sessions', () => {
  it('opens what it sealed, and refuses forged, re-signed or expired cookies', async () => {
    const s = new SessionSigner('k1')
    const sealed = await s.seal({ sub: 'bob', exp: 2000, csrf: 'c', via: 'token' })
    expect((await s.open(sealed, 1000))?.sub).toBe('bob')
    expect(await s.open(sealed, 2000)).toBeUndefined()
    expect(await new SessionSigner('k2').open(sealed, 1000)).toBeUndefined()
    const [payload, mac] = sealed.split('.')
    const forged = btoa(JSON.stringify({ sub: 'alice', exp: 2000, csrf: 'c', via: 'token' })).replace(/=+$/, '')
    expect(await s.open(`${forged}.${mac}`, 1000)).toBeUndefined()
    expect(await s.open(`${payload}`, 1000)).toBeUndefined()
  })

  it('a signed-out session is refused even if its cookie is presented again', async () => {
    const s = new SessionSigner('k')
    const session = { sub: 'bob', exp: 5000, csrf: 'random-1', via: 'token' as const }
    const sealed = await s.seal(session)
    s.revoke(session, 1000)
    expect(await s.open(sealed, 1000)).toBeUndefined()
    expect(await s.open(await s.seal({ ...session, csrf: 'random-2' }), 1000)).toBeDefined()
  })

  it('cookies are HttpOnly, SameSite=Strict, scoped to the console, Secure only over https', () => {
    expect(cookie('a', 'v', { secure: false, maxAgeS: 10 })).toBe(
      'a=v; Path=/_airlock/console; HttpOnly; SameSite=Strict; Max-Age=10',
    )
    expect(cookie('a', 'v', { secure: true, maxAgeS: 10 })).toMatch(/; Secure$/)
    expect(readCookie('x=1; a=v.w; y=2', 'a')).toBe('v.w')
  })

  it('the limiter refuses an address after max failures until the window ends, per address', () => {
    const l = new SignInLimiter(2, 1000)
    l.fail('1.1.1.1', 0)
    expect(l.blocked('1.1.1.1', 1)).toBe(false)
    l.fail('1.1.1.1', 2)
    expect(l.blocked('1.1.1.1', 3)).toBe(true)
    expect(l.blocked('2.2.2.2', 3)).toBe(false)
    expect(l.blocked('1.1.1.1', 1001)).toBe(false)
  })
})

describe('dwell time', () => {
  const config = configSchema.parse({ approver_groups: { payments: { min_dwell_s: 7 }, ops: {} } })
  it('applies to high and critical holds, from the approver’s first view, longest group wins', () => {
    expect(dwellLeft(hold({}, { risk: 'medium' }), config, 'bob', 0)).toBe(0)
    const h = hold({}, { groups: ['ops', 'payments'], views: [{ approver: 'bob', at: 1000 }] })
    expect(dwellLeft(h, config, 'bob', 3000)).toBe(5000)
    expect(dwellLeft(h, config, 'bob', 9000)).toBe(0)
    expect(dwellLeft(h, config, 'carol', 9000)).toBe(7000)
    expect(dwellLeft(hold({}, { groups: ['ops'] }), config, 'bob', 0)).toBe(5000)
  })
})

describe('similar holds', () => {
  it('flattens JSON and form bodies into fields', () => {
    expect(Object.fromEntries(fieldsOf(hold({ a: { b: 1 }, c: 'x' })))).toMatchObject({
      method: 'POST',
      path: '/refunds',
      'body.a.b': 1,
      'body.c': 'x',
    })
    const form = hold(
      {},
      {
        headers: [['content-type', 'application/x-www-form-urlencoded']],
        body: new TextEncoder().encode('amount=500&to=x'),
      },
    )
    expect(fieldsOf(form).get('body.amount')).toBe(500)
  })

  it('says how a value lies outside what was approved, and lists field differences of the most similar holds', () => {
    const earlier = [5000, 8000, 12000].map((amount) => hold({ amount, currency: 'usd' }, { state: 'executed' }))
    const denied = hold({ amount: 900000, currency: 'usd' }, { state: 'denied' })
    const current = hold({ amount: 500000, currency: 'eur', note: 'free text' })
    const c = compare(current, [...earlier, denied, current])
    expect(c.considered).toBe(4)
    expect(c.approvedCount).toBe(3)
    expect(c.unusual).toContain('body.amount 500000 — the last 3 approved were at most 12000')
    expect(c.unusual).toContain('body.currency "eur" — the last 3 approved had only "usd"')
    expect(c.unusual.some((u) => u.startsWith('body.note'))).toBe(false)
    expect(c.similar[0]!.changes).toContainEqual({ field: 'body.amount', was: expect.any(String), now: '500000' })
  })

  it('compares only with earlier holds of the same rule', () => {
    const other = hold({ amount: 1 }, { state: 'executed', decision: { ...hold({}).decision, rule: 'other' } })
    expect(compare(hold({ amount: 2 }), [other]).considered).toBe(0)
  })
})

describe('charts', () => {
  it("the strip chart's median is the report table's median (the mean of the middle two for an even count)", () => {
    const svg = String(
      stripChart('Time to decide', 'd', [
        { label: 'demo.hold', values: [73_000, 35_000], unit: (v) => `${v / 1000} s` },
      ]),
    )
    expect(svg).toContain('median 54 s')
    expect(svg).not.toContain('median 73 s')
  })
})
