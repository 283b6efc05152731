// The approver console in a real browser (Debian's chromium via playwright-core) against a real Node gateway with
// real compiled Rego and a loopback upstream: sign in, see the held request, compare it with earlier holds, be
// refused before the dwell time, approve with a comment, and the waiting agent gets the upstream's answer once.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildPolicy } from '../../gateway/node/toolchain/build.ts'
import { launchBrowser, screenshot } from '../support/browser.ts'
import {
  approverTokens,
  keys,
  policySource,
  startTestGateway,
  type TestGateway,
  testApprovers,
  testConfig,
} from '../support/gateway.ts'
import { startUpstream, type TestUpstream } from '../support/upstream.ts'

const RULES = `package airlock.rules.consoletest

hold contains {"rule": "c.refund", "reason": "refunds move money out of the company", "summary": "Refund a customer",
  "approvers": ["payments"], "risk": "high"} if {
  input.request.method == "POST"
  input.request.path == "/refunds"
}

hold contains {"rule": "c.mail", "reason": "outbound e-mail to customers", "summary": "Send an e-mail",
  "approvers": ["ops"], "risk": "medium"} if {
  input.request.method == "POST"
  input.request.path == "/mail"
}
`

let upstream: TestUpstream
let gw: TestGateway
let browser: Browser

beforeAll(async () => {
  upstream = await startUpstream()
  const policyDir = mkdtempSync(join(tmpdir(), 'airlock-console-policy-'))
  await buildPolicy(policySource({ 'consoletest.rego': RULES }), policyDir)
  gw = await startTestGateway(
    testConfig({
      policy: { dir: policyDir, watch: false },
      holds: { wait_s: 0.2, fast_decision_ms: 50 },
      routes: [
        {
          name: 'api',
          prefix: '/api',
          upstream: upstream.url,
          allow_private: true,
          credential: { env: 'UPSTREAM_TOKEN' },
        },
      ],
      approver_groups: { ops: { max_pending: 50 }, payments: { max_pending: 50, min_dwell_s: 2 } },
      approvers: testApprovers,
    }),
    { tickMs: 100 },
  )
  browser = await launchBrowser()
})
afterAll(async () => {
  await browser?.close()
  await gw?.close()
  await upstream?.close()
})

const agentPost = (path: string, body: object, prefer = 'respond-async') =>
  fetch(`${gw.url}/api${path}`, {
    method: 'POST',
    headers: {
      'airlock-agent-key': keys.billing,
      'content-type': 'application/json',
      'airlock-intent': 'refund the duplicate charge on order 1042',
      prefer,
    },
    body: JSON.stringify(body),
  })
const api = (path: string, who: keyof typeof approverTokens, body?: object) =>
  fetch(`${gw.url}/_airlock/api${path}`, {
    method: body ? 'POST' : 'GET',
    headers: { authorization: `Bearer ${approverTokens[who]}`, 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  })

async function signIn(page: Page, token: string) {
  await page.goto(`${gw.url}/_airlock/console`)
  await expect.poll(() => page.url()).toContain('/_airlock/console/login')
  await page.getByLabel('Approver token').fill(token)
  await page.getByRole('button', { name: 'Sign in' }).click()
}

describe('console in a real browser', () => {
  it('signs in, shows the held request beside similar earlier holds, refuses approval before the dwell time, then approves once with a comment', async () => {
    // Earlier refunds people approved: at most 12000.
    for (const amount of [5000, 8000, 12000]) {
      const res = await agentPost('/refunds', { amount, currency: 'usd', customer: 'cus_1' })
      const hold_id = res.headers.get('airlock-hold-id')!
      await api(`/holds/${hold_id}`, 'bob')
      expect((await api(`/holds/${hold_id}/approve`, 'bob', { comment: 'routine' })).status).toBe(200)
    }
    const marker = `refund-${Date.now()}`
    const agent = agentPost('/refunds', { amount: 500000, currency: 'usd', customer: 'cus_1', marker }, 'wait=60')

    const page = await browser.newPage()
    // An agent key never signs in.
    await signIn(page, keys.billing)
    await expect.poll(() => page.locator('.notice.error').textContent()).toContain('not a valid approver token')
    await page.getByLabel('Approver token').fill(approverTokens.bob)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.waitForURL(/\/_airlock\/console$/)
    const row = page.getByRole('row').filter({ hasText: 'Refund a customer' }).filter({ hasText: 'high' })
    await expect.poll(() => row.count()).toBeGreaterThan(0)
    await screenshot(page, '01-queue')

    const cookies = await page.context().cookies()
    const session = cookies.find((c) => c.name === 'airlock_console')!
    expect(session.httpOnly).toBe(true)
    expect(session.sameSite).toBe('Strict')
    expect(session.expires).toBeGreaterThan(Date.now() / 1000)

    await page.goto(`${gw.url}/_airlock/console`)
    const pending = (await (await api('/holds?state=pending', 'bob')).json()) as { holds: { id: string }[] }
    const holdId = pending.holds.at(-1)!.id
    await page.getByRole('link', { name: 'Refund a customer' }).last().click()
    await page.waitForURL(new RegExp(`/holds/${holdId}$`))
    const body = await page.getByLabel('Request body').textContent()
    expect(body).toContain('500000')
    expect(body).toContain(marker)
    expect(await page.locator('.claim').textContent()).toContain('refund the duplicate charge on order 1042')
    expect(await page.locator('section', { hasText: 'The request as it will be sent' }).textContent()).not.toContain(
      'sk_live',
    )
    const unusual = await page.locator('.unusual').textContent()
    expect(unusual).toContain('body.amount 500000 — the last 3 approved were at most 12000')
    const approve = page.getByRole('button', { name: 'Approve and send' })
    expect(await approve.isDisabled()).toBe(true)
    expect(await page.locator('#approve-hint').textContent()).toMatch(/High-risk hold: approve is available/)
    await screenshot(page, '02-hold-before-dwell')

    // Submitting anyway (a disabled button is only a hint): the server refuses, nothing is sent.
    await page.getByLabel(/Comment/).fill('checked with finance')
    await page.evaluate(() => {
      const f = document.querySelector('form.decide') as HTMLFormElement
      const i = document.createElement('input')
      Object.assign(i, { type: 'hidden', name: 'verb', value: 'approve' })
      f.appendChild(i)
      f.submit()
    })
    await page.waitForLoadState()
    expect(await page.locator('.notice.error').textContent()).toMatch(
      /Not approved: this is a high-risk hold; read it for \d+ more second/,
    )
    expect(upstream.received.filter((r) => r.body.toString().includes(marker))).toHaveLength(0)
    expect(await page.getByLabel(/Comment/).inputValue()).toBe('checked with finance')

    // After the dwell time the button works.
    await expect.poll(() => approve.isEnabled(), { timeout: 5000 }).toBe(true)
    await approve.click()
    await page.waitForURL(/done=approve/)
    expect(await page.locator('.notice.ok').textContent()).toContain('Your approval is recorded')
    await screenshot(page, '03-hold-approved')

    const res = await agent
    expect(res.status).toBe(200)
    expect(((await res.json()) as { method: string }).method).toBe('POST')
    expect(upstream.received.filter((r) => r.body.toString().includes(marker))).toHaveLength(1)

    // The audit chain: who, having seen what, and for how long.
    const { records } = (await (await api('/audit', 'bob')).json()) as {
      records: { type: string; hold_id: string; actor: string; record: any }[]
    }
    const mine = records.filter((r) => r.hold_id === holdId)
    const viewed = mine.find((r) => r.type === 'hold.viewed')!
    const approved = mine.find((r) => r.type === 'hold.approved')!
    expect(viewed.actor).toBe('approver:bob')
    expect(approved.record.comment).toBe('checked with finance')
    expect(approved.record.context_sha256).toBe(viewed.record.context_sha256)
    expect(approved.record.ms_from_view).toBeGreaterThanOrEqual(2000)
    await page.close()
  })

  it('deny with a comment reaches the waiting agent', async () => {
    const agent = agentPost('/mail', { to: 'customer@example.com', text: 'hello' }, 'wait=60')
    const page = await browser.newPage()
    await signIn(page, approverTokens.carol)
    await page.waitForURL(/\/_airlock\/console$/)
    await page.getByRole('link', { name: 'Send an e-mail' }).first().click()
    await page.getByLabel(/Comment/).fill('not to this customer')
    await page.getByRole('button', { name: 'Deny' }).click()
    await page.waitForURL(/done=deny/)
    await screenshot(page, '04-hold-denied')
    const res = await agent
    expect(res.status).toBe(403)
    expect(JSON.stringify(await res.json())).toContain('not to this customer')
    await page.close()
  })

  it('an approver from another group neither sees the hold in the queue nor can open it', async () => {
    const res = await agentPost('/refunds', { amount: 700, currency: 'usd', customer: 'cus_2', n: Date.now() })
    const hold_id = res.headers.get('airlock-hold-id')!
    const page = await browser.newPage()
    await signIn(page, approverTokens.carol) // ops only; refunds ask payments
    await page.waitForURL(/\/_airlock\/console$/)
    expect(await page.getByRole('link', { name: 'Refund a customer' }).count()).toBe(0)
    const direct = await page.goto(`${gw.url}/_airlock/console/holds/${hold_id}`)
    // Another group's hold does not exist for her: the same 404 as an unknown id (holds/scope.ts).
    expect(direct!.status()).toBe(404)
    expect(await page.locator('.notice.error').textContent()).toContain('in your approver groups')
    expect(await page.getByLabel('Request body').count()).toBe(0)
    await page.close()
  })

  it('a form posted without the session CSRF token is refused and changes nothing', async () => {
    const res = await agentPost('/mail', { to: 'x@example.com', n: Date.now() })
    const hold_id = res.headers.get('airlock-hold-id')!
    const page = await browser.newPage()
    await signIn(page, approverTokens.carol)
    await page.waitForURL(/\/_airlock\/console$/)
    // page.request shares the browser's cookies: a signed-in post, but without the csrf field.
    const forged = await page.request.post(`${gw.url}/_airlock/console/holds/${hold_id}/decide`, {
      form: { verb: 'deny', comment: 'forged' },
    })
    expect(forged.status()).toBe(403)
    expect(await forged.text()).toContain('CSRF')
    const wrong = await page.request.post(`${gw.url}/_airlock/console/holds/${hold_id}/decide`, {
      form: { verb: 'deny', csrf: 'guess', comment: 'forged' },
    })
    expect(wrong.status()).toBe(403)
    expect(
      ((await (await api(`/holds?state=pending`, 'carol')).json()) as { holds: { id: string }[] }).holds.map(
        (h) => h.id,
      ),
    ).toContain(hold_id)
    await page.close()
  })

  it('the report page renders its charts, and the audit page verifies the chain', async () => {
    const page = await browser.newPage()
    await signIn(page, approverTokens.bob)
    await page.waitForURL(/\/_airlock\/console$/)
    await page.getByRole('link', { name: 'Report' }).click()
    await page.waitForURL(/\/report$/)
    const charts = page.locator('svg[role=img]')
    expect(await charts.count()).toBeGreaterThanOrEqual(4)
    expect(await page.locator('svg[role=img] title').allTextContents()).toEqual(
      expect.arrayContaining([
        'Approval rate per rule',
        'Time to decide per rule',
        'Decisions per approver',
        'Pending holds over time',
      ]),
    )
    expect(await page.locator('svg rect').count()).toBeGreaterThan(0)
    // This policy has no review rule: the coverage section says so rather than showing an empty table.
    await expect
      .poll(() => page.getByText('no request decided review that you may see has been recorded').count())
      .toBe(1)
    await screenshot(page, '05-report')
    await page.getByRole('link', { name: 'Audit' }).click()
    await page.getByRole('button', { name: 'Verify the chain' }).click()
    expect(await page.locator('.notice.ok').textContent()).toMatch(/The chain of \d+ records verifies/)
    await screenshot(page, '06-audit')
    const before = (await page.context().cookies()).find((c) => c.name === 'airlock_console')!
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.waitForURL(/\/login$/)
    expect((await page.context().cookies()).find((c) => c.name === 'airlock_console')).toBeUndefined()
    // A copy of the signed-out cookie no longer works.
    const replayed = await fetch(`${gw.url}/_airlock/console`, {
      headers: { cookie: `airlock_console=${before.value}` },
      redirect: 'manual',
    })
    expect(replayed.status).toBe(303)
    expect(replayed.headers.get('location')).toContain('/login')
    await page.close()
  })

  it('wrong tokens are rate-limited per client address, even a right token after the limit', async () => {
    const page = await browser.newPage()
    for (let i = 0; i < 5; i++) {
      await signIn(page, `wrong-token-${i}`)
      await page.waitForLoadState()
    }
    await signIn(page, approverTokens.bob)
    expect(await page.locator('.notice.error').textContent()).toContain('Too many wrong tokens')
    expect(page.url()).toContain('/login')
    await page.close()
  })
})
