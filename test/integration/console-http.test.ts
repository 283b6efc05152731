// The console over plain HTTP against a real gateway: the SSO seam (a trusted proxy's identity header, off by
// default), and marking a sampled review from the Reviews tab. The browser suite (test/browser/) covers the rest.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ConfigInput } from '../../gateway/core/config/schema.ts'
import { buildPolicy } from '../../gateway/node/toolchain/build.ts'
import {
  approverTokens,
  keys,
  policySource,
  startTestGateway,
  type TestGateway,
  testApprovers,
  testConfig,
} from '../support/gateway.ts'
import { HOLD_RULES } from '../support/holds-policy.ts'
import { startUpstream, type TestUpstream } from '../support/upstream.ts'

let upstream: TestUpstream
let slow: TestUpstream
let sso: TestGateway
let plain: TestGateway

beforeAll(async () => {
  upstream = await startUpstream()
  slow = await startUpstream(async (_req, res) => {
    await new Promise((r) => setTimeout(r, 1000))
    res.writeHead(200)
    res.end('late')
  })
  const policyDir = mkdtempSync(join(tmpdir(), 'airlock-console-http-'))
  await buildPolicy(policySource({ 'holdtest.rego': HOLD_RULES }), policyDir)
  const base = (extra: Partial<ConfigInput>): ConfigInput => ({
    policy: { dir: policyDir, watch: false },
    holds: { wait_s: 0.1 },
    routes: [
      { name: 'api', prefix: '/api', upstream: upstream.url, allow_private: true },
      { name: 'slow', prefix: '/slow', upstream: slow.url, allow_private: true, timeout_ms: 200 },
    ],
    approver_groups: { ops: { max_grant_minutes: 15, min_dwell_s: 0 }, payments: {} },
    approvers: testApprovers,
    ...extra,
  })
  sso = await startTestGateway(testConfig(base({ console: { identity_header: 'X-Auth-Request-Email' } })), {
    random: () => 0,
  })
  plain = await startTestGateway(testConfig(base({})))
})
afterAll(async () => {
  await sso?.close()
  await plain?.close()
  await upstream?.close()
  await slow?.close()
})

async function signIn(gw: TestGateway, token: string): Promise<string> {
  const page = await fetch(`${gw.url}/_airlock/console/login`)
  const signed = await fetch(`${gw.url}/_airlock/console/login`, {
    method: 'POST',
    headers: { cookie: cookieOf(page), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrf: field(await page.text(), 'csrf'), token }).toString(),
    redirect: 'manual',
  })
  expect(signed.status).toBe(303)
  return cookieOf(signed)
}

const cookieOf = (res: Response) =>
  res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ')
const field = (html: string, name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1] ?? ''

describe('SSO seam', () => {
  it('a trusted proxy header naming an approver (by e-mail or id) signs them in; no header or an unknown name does not', async () => {
    const res = await fetch(`${sso.url}/_airlock/console`, { headers: { 'x-auth-request-email': 'Carol@Example.com' } })
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('Signed in as <strong>carol</strong>')
    expect(res.headers.getSetCookie().some((c) => c.startsWith('airlock_console=') && c.includes('HttpOnly'))).toBe(
      true,
    )
    expect(
      (await sso.holds.store.auditRecords()).some(
        (r) => r.type === 'console.signed_in' && r.actor === 'approver:carol' && (r.record as any).via === 'sso',
      ),
    ).toBe(true)
    for (const headers of [{}, { 'x-auth-request-email': 'mallory@example.com' }]) {
      const r = await fetch(`${sso.url}/_airlock/console`, { headers, redirect: 'manual' })
      expect(r.status).toBe(303)
      expect(r.headers.get('location')).toContain('/_airlock/console/login')
    }
  })

  it('is off by default: the header is ignored', async () => {
    const r = await fetch(`${plain.url}/_airlock/console`, {
      headers: { 'x-auth-request-email': 'carol@example.com', 'approver-identity': 'carol' },
      redirect: 'manual',
    })
    expect(r.status).toBe(303)
    expect(r.headers.get('location')).toContain('/login')
  })
})

describe('approve form: the optional grant', () => {
  const send = (path: string, customer: string) =>
    fetch(`${plain.url}/api${path}`, {
      method: 'POST',
      headers: { 'airlock-agent-key': keys.billing, 'content-type': 'application/json', prefer: 'respond-async' },
      body: JSON.stringify({ customer, n: Math.random() }),
    })

  it('is offered on a grantable hold only, and approving with it allows the same request once more', async () => {
    const session = await signIn(plain, approverTokens.bob)
    const plainHold = (await send('/hold', 'cus_c')).headers.get('airlock-hold-id')!
    expect(
      await (await fetch(`${plain.url}/_airlock/console/holds/${plainHold}`, { headers: { cookie: session } })).text(),
    ).not.toContain('optional grant')
    const id = (await send('/granted', 'cus_c')).headers.get('airlock-hold-id')!
    const page = await (
      await fetch(`${plain.url}/_airlock/console/holds/${id}`, { headers: { cookie: session } })
    ).text()
    expect(page).toContain('Also allow the same for a while (optional grant)')
    expect(page).toContain('Minutes (at most 15)')
    const decide = (fields: Record<string, string>) =>
      fetch(`${plain.url}/_airlock/console/holds/${id}/decide`, {
        method: 'POST',
        headers: { cookie: session, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          csrf: field(page, 'csrf'),
          context_sha256: field(page, 'context_sha256'),
          verb: 'approve',
          comment: '',
          ...fields,
        }).toString(),
        redirect: 'manual',
      })
    const tooLong = await decide({ grant_minutes: '16', grant_uses: '1' })
    expect(tooLong.status).toBe(403)
    expect(await tooLong.text()).toContain('max_grant_minutes 15')
    expect((await plain.holds.store.get(id))!.state).toBe('pending')
    expect((await decide({ grant_minutes: '10', grant_uses: '1', grant_same: 'customer' })).status).toBe(303)
    expect((await send('/granted', 'cus_other')).status).toBe(202)
    expect((await send('/granted', 'cus_c')).status).toBe(200)
    expect((await send('/granted', 'cus_c')).status).toBe(202)
  })
})

describe('Reviews tab', () => {
  it('lists a sampled request with what was sent and its status, and marks it ok with the session CSRF token', async () => {
    const sent = await fetch(`${sso.url}/api/review`, {
      method: 'POST',
      headers: { 'airlock-agent-key': keys.billing, 'content-type': 'application/json' },
      body: JSON.stringify({ marker: 'reviewed-1' }),
    })
    expect(sent.status).toBe(200)
    // Sign in with a token on the SSO gateway too (tokens still work beside the header).
    const session = await signIn(sso, approverTokens.bob)
    const reviews = await (await fetch(`${sso.url}/_airlock/console/reviews`, { headers: { cookie: session } })).text()
    expect(reviews).toContain('reviewed-1')
    const id = /action="\/_airlock\/console\/reviews\/([^"]+)"/.exec(reviews)![1]!
    const post = (fields: Record<string, string>) =>
      fetch(`${sso.url}/_airlock/console/reviews/${id}`, {
        method: 'POST',
        headers: { cookie: session, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields).toString(),
      })
    expect((await post({ verdict: 'ok' })).status).toBe(403) // no CSRF token
    const ok = await post({ verdict: 'ok', csrf: field(reviews, 'csrf') })
    expect(ok.status).toBe(200)
    expect(await ok.text()).toContain('Marked as looking right')
    expect(sso.holds.store.getReview(id)).toMatchObject({ state: 'ok', reviewer: 'bob' })
  })
})

describe('outcome unknown', () => {
  it("a decide form for another group's hold is refused as not found, before the hold is read for it", async () => {
    const res = await fetch(`${plain.url}/api/pay`, {
      method: 'POST',
      headers: { 'airlock-agent-key': keys.billing, 'content-type': 'application/json', prefer: 'respond-async' },
      body: '{"n": "other group"}',
    })
    const id = res.headers.get('airlock-hold-id')!
    expect(id).toBeTruthy()
    const session = await signIn(plain, approverTokens.carol) // ops only; the hold is the payments group's
    const queue = await (await fetch(`${plain.url}/_airlock/console`, { headers: { cookie: session } })).text()
    const refused = await fetch(`${plain.url}/_airlock/console/holds/${id}/decide`, {
      method: 'POST',
      headers: { cookie: session, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf: field(queue, 'csrf'), verb: 'approve', comment: '' }).toString(),
      redirect: 'manual',
    })
    expect(refused.status).toBe(404)
    expect(await refused.text()).toContain(`no hold with id ${id} in your approver groups`)
    expect((await plain.holds.store.get(id))!.state).toBe('pending')
  })

  it('a hold whose send timed out is resolved from its page: the person records what happened upstream', async () => {
    const res = await fetch(`${plain.url}/slow/hold`, {
      method: 'POST',
      headers: { 'airlock-agent-key': keys.billing, 'content-type': 'application/json', prefer: 'respond-async' },
      body: '{"n": "slow"}',
    })
    const id = res.headers.get('airlock-hold-id')!
    const approved = await fetch(`${plain.url}/_airlock/api/holds/${id}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${approverTokens.bob}`, 'content-type': 'application/json' },
      body: '{}',
    })
    expect(approved.status).toBe(200)
    for (let i = 0; i < 100 && (await plain.holds.store.get(id))!.state !== 'outcome_unknown'; i++)
      await new Promise((r) => setTimeout(r, 50))
    expect((await plain.holds.store.get(id))!.state).toBe('outcome_unknown')
    const session = await signIn(plain, approverTokens.carol)
    const page = await (
      await fetch(`${plain.url}/_airlock/console/holds/${id}`, { headers: { cookie: session } })
    ).text()
    expect(page).toContain('Record the outcome')
    const done = await fetch(`${plain.url}/_airlock/console/holds/${id}/resolve`, {
      method: 'POST',
      headers: { cookie: session, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        csrf: field(page, 'csrf'),
        outcome: 'executed',
        comment: 'the upstream shows it',
      }).toString(),
      redirect: 'manual',
    })
    expect(done.status).toBe(303)
    expect((await plain.holds.store.get(id))!.state).toBe('executed')
    expect(
      (await plain.holds.store.auditRecords()).find((r) => r.hold_id === id && r.type === 'hold.resolved'),
    ).toMatchObject({ actor: 'approver:carol', record: { outcome: 'executed', comment: 'the upstream shows it' } })
  })
})
