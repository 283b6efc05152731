// Approver scoping (issue 10, item 10): every approver API listing and action covers only the approver's groups;
// an auditor reads everything and decides only in its own groups. A real gateway, real upstream, real compiled Rego.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildPolicy } from '../../gateway/node/toolchain/build.ts'
import { keys, policySource, startTestGateway, type TestGateway, testConfig, testSecrets } from '../support/gateway.ts'
import { startUpstream, type TestUpstream } from '../support/upstream.ts'

const RULES = `package airlock.rules.scopetest

hold contains {"rule": "s.ops", "reason": "ops must agree", "approvers": ["ops"]} if {
  input.request.method == "POST"
  input.request.path == "/ops"
}

hold contains {"rule": "s.pay", "reason": "money moves", "approvers": ["payments"]} if {
  input.request.method == "POST"
  input.request.path == "/pay"
}

review contains {"rule": "s.ops_review", "reason": "ops looks later", "sample_rate": 1, "approvers": ["ops"]} if {
  input.request.method == "POST"
  input.request.path == "/ops-review"
}

review contains {"rule": "s.pay_review", "reason": "payments looks later", "sample_rate": 1, "approvers": ["payments"]} if {
  input.request.method == "POST"
  input.request.path == "/pay-review"
}

review contains {"rule": "s.anyone_review", "reason": "anyone looks later", "sample_rate": 1} if {
  input.request.method == "POST"
  input.request.path == "/any-review"
}
`

const tokens = { carol: 'scope-carol', dave: 'scope-dave', erin: 'scope-erin', frank: 'scope-frank' } as const
type Who = keyof typeof tokens

let upstream: TestUpstream
let gw: TestGateway
const ids: Record<string, string> = {}

const post = (path: string, marker: string) =>
  fetch(`${gw.url}/api${path}`, {
    method: 'POST',
    headers: { 'airlock-agent-key': keys.billing, 'content-type': 'application/json', prefer: 'respond-async' },
    body: JSON.stringify({ marker }),
  })
const api = (path: string, who: Who, body?: object) =>
  fetch(`${gw.url}/_airlock/api${path}`, {
    method: body ? 'POST' : 'GET',
    headers: { authorization: `Bearer ${tokens[who]}`, 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  })
const json = async (path: string, who: Who) => {
  const res = await api(path, who)
  expect(res.status, `${who} GET ${path}`).toBe(200)
  return res.json()
}
const reached = (marker: string) => upstream.received.filter((r) => r.body.toString().includes(marker)).length

beforeAll(async () => {
  upstream = await startUpstream()
  const policyDir = mkdtempSync(join(tmpdir(), 'airlock-scope-policy-'))
  await buildPolicy(policySource({ 'scopetest.rego': RULES }), policyDir)
  const secrets: Record<string, string> = {
    ...testSecrets,
    SCOPE_CAROL: tokens.carol,
    SCOPE_DAVE: tokens.dave,
    SCOPE_ERIN: tokens.erin,
    SCOPE_FRANK: tokens.frank,
  }
  const config = testConfig({
    policy: { dir: policyDir, watch: false },
    holds: { wait_s: 0 },
    routes: [{ name: 'api', prefix: '/api', upstream: upstream.url, allow_private: true }],
    approver_groups: { ops: {}, payments: {} },
    approvers: [
      { id: 'carol', groups: ['ops'], token_env: 'SCOPE_CAROL' },
      { id: 'dave', groups: ['payments'], token_env: 'SCOPE_DAVE' },
      { id: 'erin', role: 'auditor', token_env: 'SCOPE_ERIN' },
      { id: 'frank', role: 'auditor', groups: ['ops'], token_env: 'SCOPE_FRANK' },
    ],
  })
  gw = await startTestGateway(config, { secrets: (n) => secrets[n] })
  for (const [name, path] of [
    ['ops', '/ops'],
    ['ops2', '/ops'],
    ['pay', '/pay'],
    ['pay2', '/pay'],
  ] as const) {
    const res = await post(path, `scope-${name}`)
    expect(res.status).toBe(202)
    ids[name] = res.headers.get('airlock-hold-id')!
  }
  for (const path of ['/ops-review', '/pay-review', '/any-review'])
    expect((await post(path, `scope${path}`)).status).toBe(200)
})
afterAll(async () => {
  await gw?.close()
  await upstream?.close()
})

const holdIds = (body: { holds: { id: string }[] }) => body.holds.map((h) => h.id).sort()
const rules = (body: { reviews: { rule: string }[] }) => body.reviews.map((r) => r.rule).sort()

describe('holds are scoped to the approver groups', () => {
  it("lists only the approver's groups' holds, also when another group is asked for; an auditor lists them all", async () => {
    expect(holdIds(await json('/holds?state=pending', 'carol'))).toEqual([ids.ops, ids.ops2].sort())
    expect(holdIds(await json('/holds?state=pending', 'dave'))).toEqual([ids.pay, ids.pay2].sort())
    expect(holdIds(await json('/holds?state=pending&group=payments', 'carol'))).toEqual([])
    expect(holdIds(await json('/holds', 'erin'))).toEqual(Object.values(ids).sort())
    const frank = await json('/holds?state=pending', 'frank')
    expect(holdIds(frank)).toEqual(Object.values(ids).sort())
    expect(
      Object.fromEntries(frank.holds.map((h: { id: string; may_decide: boolean }) => [h.id, h.may_decide])),
    ).toEqual({
      [ids.ops!]: true,
      [ids.ops2!]: true,
      [ids.pay!]: false,
      [ids.pay2!]: false,
    })
  })

  it("another group's hold does not exist for an approver: show, approve, deny and resolve all answer 404", async () => {
    for (const [path, body] of [
      [`/holds/${ids.pay}`, undefined],
      [`/holds/${ids.pay}/approve`, {}],
      [`/holds/${ids.pay}/deny`, { comment: 'not mine' }],
      [`/holds/${ids.pay}/resolve`, { outcome: 'failed' }],
    ] as const) {
      const res = await api(path, 'carol', body)
      expect(res.status, path).toBe(404)
      const error = (await res.json()).error
      expect(error.code).toBe('AIRLOCK_HOLD_NOT_FOUND')
      expect(error.message).not.toContain('payments') // the other group is not named either
    }
    expect((await json(`/holds/${ids.pay}`, 'dave')).state).toBe('pending')
    expect(reached('scope-pay')).toBe(0)
  })

  it('an auditor reads any hold without starting a decision, and cannot decide outside its groups', async () => {
    const view = await json(`/holds/${ids.pay2}`, 'erin')
    expect(view).toMatchObject({ state: 'pending', hold: { rule: 's.pay' } })
    for (const verb of ['approve', 'deny']) {
      const res = await api(`/holds/${ids.pay2}/${verb}`, 'erin', { comment: 'auditing' })
      expect(res.status, verb).toBe(403)
      expect((await res.json()).error).toMatchObject({
        code: 'AIRLOCK_FORBIDDEN',
        message: expect.stringMatching(/auditor.*not in the group/),
      })
    }
    expect((await api(`/holds/${ids.pay2}/approve`, 'frank', {})).status).toBe(403)
    const viewed = (await json('/audit', 'erin')).records.filter(
      (r: { type: string; hold_id: string }) => r.type === 'hold.viewed' && r.hold_id === ids.pay2,
    )
    expect(viewed).toEqual([]) // an auditor's read is not the start of "time to decide"
    expect((await json(`/holds/${ids.pay2}`, 'dave')).state).toBe('pending')
    expect(reached('scope-pay2')).toBe(0)
  })

  it("an auditor in a group decides that group's holds like any approver", async () => {
    const res = await api(`/holds/${ids.ops2}/deny`, 'frank', { comment: 'not needed' })
    expect(res.status).toBe(200)
    expect((await res.json()).hold.state).toBe('denied')
  })
})

describe('reviews are scoped to the groups their rule named', () => {
  it("lists only the approver groups' items (and those naming no group); an auditor lists all", async () => {
    expect(rules(await json('/reviews', 'carol'))).toEqual(['s.anyone_review', 's.ops_review'])
    expect(rules(await json('/reviews', 'dave'))).toEqual(['s.anyone_review', 's.pay_review'])
    expect(rules(await json('/reviews?state=pending', 'erin'))).toEqual([
      's.anyone_review',
      's.ops_review',
      's.pay_review',
    ])
    expect((await api('/reviews?state=bogus', 'erin')).status).toBe(400)
  })

  it("marking another group's item is 404; an auditor outside the group gets 403; the item stays unmarked", async () => {
    const all = (await json('/reviews', 'erin')).reviews as { id: string; rule: string }[]
    const pay = all.find((r) => r.rule === 's.pay_review')!.id
    const any = all.find((r) => r.rule === 's.anyone_review')!.id
    const ops = all.find((r) => r.rule === 's.ops_review')!.id
    expect((await api(`/reviews/${pay}`, 'carol', { verdict: 'ok' })).status).toBe(404)
    expect((await api(`/reviews/${pay}`, 'erin', { verdict: 'ok' })).status).toBe(403)
    expect((await json('/reviews', 'dave')).reviews.find((r: { id: string }) => r.id === pay).state).toBe('pending')
    expect((await api(`/reviews/${any}`, 'erin', { verdict: 'ok' })).status).toBe(403) // erin is in no group
    const marked = await api(`/reviews/${any}`, 'carol', { verdict: 'ok' })
    expect(marked.status).toBe(200)
    expect((await marked.json()).review).toMatchObject({ state: 'ok', reviewer: 'carol' })
    expect((await api(`/reviews/${ops}`, 'frank', { verdict: 'flag', comment: 'should have been held' })).status).toBe(
      200,
    )
  })
})

describe('the audit log and the report are scoped too', () => {
  it("lists only records about the approver groups' holds and items; an auditor reads the whole chain", async () => {
    const everything = (await json('/audit', 'erin')).records as {
      seq: number
      hold_id: string | null
      record: { review_id?: string }
    }[]
    const verify = await json('/audit/verify', 'erin')
    expect(verify).toMatchObject({ ok: true, records: everything.length })
    const carol = (await json('/audit', 'carol')).records as typeof everything
    expect(carol.length).toBeGreaterThan(0)
    expect(carol.length).toBeLessThan(everything.length)
    const payHolds = new Set([ids.pay, ids.pay2])
    expect(carol.filter((r) => payHolds.has(r.hold_id!))).toEqual([])
    expect(carol.some((r) => r.hold_id === ids.ops)).toBe(true)
    const reviews = (await json('/reviews', 'erin')).reviews as { id: string; rule: string }[]
    const payReview = reviews.find((r) => r.rule === 's.pay_review')!.id
    expect(everything.some((r) => r.record.review_id === payReview)).toBe(true)
    expect(carol.some((r) => r.record.review_id === payReview)).toBe(false)
    // Verification needs the whole chain and returns no record's content: every approver may run it.
    expect(await json('/audit/verify', 'carol')).toEqual(verify)
  })

  it("reports only the approver groups' rules and review coverage", async () => {
    const carol = await json('/report', 'carol')
    expect(carol.rules.map((r: { rule: string }) => r.rule)).toEqual(['s.ops'])
    expect(carol.review.map((r: { rule: string }) => r.rule).sort()).toEqual(['s.anyone_review', 's.ops_review'])
    const erin = await json('/report', 'erin')
    expect(erin.rules.map((r: { rule: string }) => r.rule).sort()).toEqual(['s.ops', 's.pay'])
    expect(erin.review.map((r: { rule: string }) => r.rule).sort()).toEqual([
      's.anyone_review',
      's.ops_review',
      's.pay_review',
    ])
  })
})
