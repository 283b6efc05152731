// Slack approvals end to end: a real gateway (real compiled Rego, loopback upstream) posts holds through the official
// @slack/web-api client to a fake Slack API on loopback, and button clicks arrive signed exactly as Slack signs them —
// including bad signatures, stale timestamps, replays, strangers, owners and other groups.
import { createHmac } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { HoldStore } from '../../gateway/core/holds/store.ts'
import { buildPolicy } from '../../gateway/node/toolchain/build.ts'
import {
  keys,
  policySource,
  startTestGateway,
  type TestGateway,
  testApprovers,
  testConfig,
  testSecrets,
} from '../support/gateway.ts'
import { HOLD_RULES } from '../support/holds-policy.ts'
import { startUpstream, type TestUpstream } from '../support/upstream.ts'

const SIGNING = 'slack-signing-secret-for-tests'
let upstream: TestUpstream
let slack: TestUpstream
let gw: TestGateway
let ts = 0

interface Call {
  method: string
  args: Record<string, any>
}
const calls: Call[] = []
/** How many chat.postMessage calls the fake Slack refuses next (ok: false), as when Slack has an outage. */
let refusePosts = 0

beforeAll(async () => {
  upstream = await startUpstream()
  // The fake Slack Web API: records each call (the client sends form fields, nested values JSON-encoded) and answers ok.
  slack = await startUpstream((req, res) => {
    const method = req.url.replace(/^\/api\//, '')
    const text = req.body.toString()
    const form = (req.headers['content-type'] ?? '').includes('json')
      ? JSON.parse(text)
      : Object.fromEntries(new URLSearchParams(text))
    if (typeof form.blocks === 'string') form.blocks = JSON.parse(form.blocks)
    calls.push({ method, args: { ...form, auth: req.headers.authorization } })
    res.writeHead(200, { 'content-type': 'application/json' })
    if (method === 'chat.postMessage' && refusePosts > 0) {
      refusePosts--
      return void res.end(JSON.stringify({ ok: false, error: 'internal_error' }))
    }
    res.end(
      JSON.stringify({ ok: true, channel: form.channel, ts: form.ts ?? `1700000000.${String(++ts).padStart(6, '0')}` }),
    )
  })
  const policyDir = mkdtempSync(join(tmpdir(), 'airlock-slack-policy-'))
  await buildPolicy(policySource({ 'holdtest.rego': HOLD_RULES }), policyDir)
  Object.assign(testSecrets, { SLACK_BOT: 'xoxb-test-bot-token', SLACK_SIGNING: SIGNING })
  const ids: Record<string, string> = { alice: 'U0ALICE', bob: 'U0BOB', carol: 'U0CAROL' }
  gw = await startTestGateway(
    testConfig({
      policy: { dir: policyDir, watch: false },
      server: { public_url: 'https://airlock.example.com' },
      holds: { wait_s: 0.1 },
      slack: { bot_token_env: 'SLACK_BOT', signing_secret_env: 'SLACK_SIGNING', api_url: `${slack.url}/api/` },
      routes: [{ name: 'api', prefix: '/api', upstream: upstream.url, allow_private: true }],
      approver_groups: {
        ops: { slack_channel: 'C0OPS', min_dwell_s: 0 },
        payments: { slack_channel: 'C0PAY', min_dwell_s: 0 },
      },
      approvers: testApprovers!.map((a) => ({ ...a, slack_user_id: ids[a.id] })),
    }),
    { tickMs: 100 },
  )
})
afterAll(async () => {
  await gw?.close()
  await upstream?.close()
  await slack?.close()
})

const until = async <T>(fn: () => T | undefined, ms = 5000): Promise<T> => {
  const end = Date.now() + ms
  for (;;) {
    const v = fn()
    if (v) return v
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 25))
  }
}
let n = 0
const agent = (path: string, prefer = 'respond-async') =>
  fetch(`${gw.url}/api${path}`, {
    method: 'POST',
    headers: {
      'airlock-agent-key': keys.billing,
      'content-type': 'application/json',
      prefer,
      'airlock-intent': 'pay <!channel> `now`',
    },
    body: JSON.stringify({ marker: `slack-${++n}-${Date.now()}` }),
  })
const posted = (holdId: string) =>
  until(() => calls.find((c) => c.method === 'chat.postMessage' && JSON.stringify(c.args.blocks).includes(holdId)))
/** The ts the gateway recorded for the hold's message (recorded after Slack answers the post, so wait for it). */
const postedTs = (holdId: string, group = 'ops') =>
  until(() => (gw.holds.store as HoldStore).slackMessage(holdId, group)?.ts)
const buttons = (call: Call) => (call.args.blocks as any[]).find((b) => b.type === 'actions')?.elements ?? []

/** A block_actions interaction, signed exactly as Slack signs it. */
function click(
  user: string,
  button: { action_id: string; value: string },
  message: Call,
  opts: { secret?: string; at?: number } = {},
) {
  const payload = {
    type: 'block_actions',
    user: { id: user },
    channel: { id: message.args.channel },
    message: { ts: message.args.ts },
    actions: [{ action_id: button.action_id, value: button.value, type: 'button' }],
  }
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString()
  return signed(body, opts)
}
function signed(body: string, opts: { secret?: string; at?: number } = {}) {
  const t = String(opts.at ?? Math.floor(Date.now() / 1000))
  const sig = `v0=${createHmac('sha256', opts.secret ?? SIGNING)
    .update(`v0:${t}:${body}`)
    .digest('hex')}`
  return {
    body,
    send: () =>
      fetch(`${gw.url}/_airlock/slack/interactions`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-slack-request-timestamp': t,
          'x-slack-signature': sig,
        },
        body,
      }),
  }
}
const state = async (id: string) => (await gw.holds.store.get(id))!.state
const ephemeralTo = (user: string) => calls.filter((c) => c.method === 'chat.postEphemeral' && c.args.user === user)

describe('Slack approvals', () => {
  it('posts the hold with Approve / Deny / Open in console; a click applies the API rules once; the message then shows the outcome', async () => {
    const waiting = agent('/hold', 'wait=30')
    const message = await until(() => calls.find((c) => c.method === 'chat.postMessage' && c.args.channel === 'C0OPS'))
    expect(message.args.auth).toBe('Bearer xoxb-test-bot-token')
    const text = JSON.stringify(message.args.blocks)
    expect(text).toContain('Hold one')
    expect(text).toContain('&lt;!channel&gt;') // agent text escaped for mrkdwn
    expect(text).not.toContain('<!channel>')
    const [approve, deny, open] = buttons(message)
    expect([approve.text.text, deny.text.text, open.text.text]).toEqual(['Approve', 'Deny', 'Open in console'])
    const holdId = approve.value.split(':')[0]
    expect(open.url).toBe(`https://airlock.example.com/_airlock/console/holds/${holdId}`)
    const ts = await postedTs(holdId)
    message.args.ts = ts

    // Forged, stale, and a stranger's clicks change nothing.
    expect((await click('U0CAROL', approve, message, { secret: 'wrong' }).send()).status).toBe(401)
    expect((await click('U0CAROL', approve, message, { at: Math.floor(Date.now() / 1000) - 301 }).send()).status).toBe(
      401,
    )
    const tampered = click('U0CAROL', approve, message)
    const bad = await fetch(`${gw.url}/_airlock/slack/interactions`, {
      method: 'POST',
      headers: { 'x-slack-request-timestamp': String(Math.floor(Date.now() / 1000)), 'x-slack-signature': 'v0=00' },
      body: tampered.body,
    })
    expect(bad.status).toBe(401)
    expect((await click('U0NOBODY', approve, message).send()).status).toBe(200)
    expect((await until(() => ephemeralTo('U0NOBODY')[0])).args.text).toContain('not an Airlock approver')
    // alice owns billing-bot: refused, told privately.
    expect((await click('U0ALICE', approve, message).send()).status).toBe(200)
    expect((await until(() => ephemeralTo('U0ALICE')[0])).args.text).toContain('owns the agent')
    expect(await state(holdId)).toBe('pending')

    // carol approves: the waiting agent gets the upstream's answer; the upstream saw it once.
    const first = click('U0CAROL', approve, message)
    const t0 = Date.now()
    expect((await first.send()).status).toBe(200)
    expect(Date.now() - t0).toBeLessThan(3000)
    const res = await waiting
    expect(res.status).toBe(200)
    // A replayed payload (same signed body) and a double click change nothing.
    expect((await first.send()).status).toBe(200)
    expect((await click('U0CAROL', approve, message).send()).status).toBe(200)
    expect(
      (await until(() => (ephemeralTo('U0CAROL').length >= 2 ? ephemeralTo('U0CAROL') : undefined))).at(-1)!.args.text,
    ).toContain('Nothing changed')
    const marker = JSON.parse(upstream.received.at(-1)!.body.toString()).marker
    expect(upstream.received.filter((r) => r.body.toString().includes(marker))).toHaveLength(1)
    const audit = (await gw.holds.store.auditRecords()).filter((r) => r.hold_id === holdId)
    expect(audit.filter((r) => r.type === 'hold.approved')).toHaveLength(1)
    expect(audit.find((r) => r.type === 'hold.approved')!.actor).toBe('approver:carol')
    expect(audit.find((r) => r.type === 'slack.clicked')!.record).toMatchObject({ action: 'approve', via: 'slack' })

    // The message is updated in place: who decided, what happened, no buttons.
    const update = await until(() =>
      calls.find(
        (c) =>
          c.method === 'chat.update' &&
          c.args.ts === ts &&
          JSON.stringify(c.args.blocks).includes('sent, upstream answered 200'),
      ),
    )
    expect(update.args.channel).toBe('C0OPS')
    expect(JSON.stringify(update.args.blocks)).toContain('Approved by carol')
    expect(buttons(update)).toEqual([])
  })

  it('a deny click reaches the waiting agent and the message says who denied it', async () => {
    const waiting = agent('/hold', 'wait=30')
    const before = calls.filter((c) => c.method === 'chat.postMessage').length
    const message = await until(() => calls.filter((c) => c.method === 'chat.postMessage')[before])
    const [, deny] = buttons(message)
    const holdId = deny.value.split(':')[0]
    message.args.ts = await postedTs(holdId)
    expect((await click('U0BOB', deny, message).send()).status).toBe(200)
    expect((await waiting).status).toBe(403)
    await until(() =>
      calls.find((c) => c.method === 'chat.update' && JSON.stringify(c.args.blocks).includes('Denied by bob')),
    )
  })

  it('a hold that needs a comment shows only "Open in console", and a crafted approve click is refused', async () => {
    const res = await agent('/comment')
    const holdId = res.headers.get('airlock-hold-id')!
    const message = await posted(holdId)
    expect(buttons(message).map((b: any) => b.text.text)).toEqual(['Open in console'])
    expect(JSON.stringify(message.args.blocks)).toContain('needs a written comment')
    const fake = { action_id: 'airlock_approve', value: `${holdId}:${'0'.repeat(64)}` }
    expect((await click('U0BOB', fake, message).send()).status).toBe(200)
    expect((await until(() => ephemeralTo('U0BOB').find((c) => c.args.text.includes('console')))).args.text).toContain(
      'open it in the console',
    )
    expect(await state(holdId)).toBe('pending')
  })

  it('an expired hold’s message is updated to say so, without buttons', async () => {
    const res = await agent('/short') // expires after 1 s
    const holdId = res.headers.get('airlock-hold-id')!
    const message = await posted(holdId)
    const ts = await postedTs(holdId)
    const update = await until(() => calls.find((c) => c.method === 'chat.update' && c.args.ts === ts), 8000)
    expect(update.args.channel).toBe(message.args.channel)
    expect(JSON.stringify(update.args.blocks)).toContain('Expired: nobody decided in time')
    expect(buttons(update)).toEqual([])
  })

  it('a post that Slack refused is retried after the hold was approved: the message shows the outcome, not buttons', async () => {
    refusePosts = 1
    const res = await agent('/pay')
    const holdId = res.headers.get('airlock-hold-id')!
    const refused = await until(() =>
      calls.find((c) => c.method === 'chat.postMessage' && JSON.stringify(c.args.blocks).includes(holdId)),
    )
    const after = calls.indexOf(refused) + 1
    expect(buttons(refused).map((b: any) => b.text.text)).toEqual(['Approve', 'Deny', 'Open in console'])
    // Approved while the post waits for its retry: the hold.approved update finds no message to update.
    const approved = await fetch(`${gw.url}/_airlock/api/holds/${holdId}/approve`, {
      method: 'POST',
      headers: { authorization: 'Bearer approver-bob-token', 'content-type': 'application/json' },
      body: '{}',
    })
    expect(approved.status).toBe(200)
    await until(() => (gw.holds.store as HoldStore).get(holdId)?.state === 'executed' || undefined)
    // The retry (after the delivery's backoff) posts where the hold is now.
    const retried = await until(
      () => calls.slice(after).find((c) => c.method === 'chat.postMessage' && c.args.channel === 'C0PAY'),
      8000,
    )
    expect(JSON.stringify(retried.args.blocks)).toContain('Approved by bob; sent, upstream answered 200')
    expect(buttons(retried)).toEqual([])
    expect(await postedTs(holdId, 'payments')).toBeTruthy()
  })

  it("an approver outside the hold's groups is refused privately", async () => {
    const res = await agent('/pay') // payments; carol is only in ops
    const holdId = res.headers.get('airlock-hold-id')!
    const message = await posted(holdId)
    expect(message.args.channel).toBe('C0PAY')
    const before = ephemeralTo('U0CAROL').length
    expect((await click('U0CAROL', buttons(message)[0], message).send()).status).toBe(200)
    expect((await until(() => ephemeralTo('U0CAROL')[before])).args.text).toContain('in your approver groups')
    expect(await state(holdId)).toBe('pending')
  })
})
