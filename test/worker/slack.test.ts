// Slack approvals on Workers: the holds object posts through the core's fetch Slack client to the fake Slack API
// (slack.test), and a click signed exactly as Slack signs it approves the hold once; the message is then updated.
import { beforeAll, describe, expect, it } from 'vitest'
import { secrets } from './fixtures.ts'
import { api, gateway, post, received, toUpstream, until } from './helpers.ts'

async function slackSignature(secret: string, ts: string, body: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  )
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(`v0:${ts}:${body}`)))
  return `v0=${[...mac].map((b) => b.toString(16).padStart(2, '0')).join('')}`
}

const slackCalls = async (method: string) =>
  (await received('slack.test'))
    .filter((r) => r.url === `/api/${method}`)
    .map((r) => ({ ...r, args: JSON.parse(r.body) }))

// A cold isolate answers its first request only once the policy is compiled and the holds object has started
// (seconds under load): wait for those answers here, so the budgets below time the Slack round trips alone.
beforeAll(async () => {
  expect((await post('/not-a-route')).status).toBe(403)
  expect((await api('/holds', 'bob')).status).toBe(200)
})

describe('Slack on Workers', () => {
  it('posts the hold with buttons; a signed click approves it once; a bad signature changes nothing; the message is updated', async () => {
    const marker = crypto.randomUUID()
    const agent = post('/pay', { marker, prefer: 'wait=20' })
    let message: Awaited<ReturnType<typeof slackCalls>>[number] | undefined
    await until(async () => {
      message = (await slackCalls('chat.postMessage')).find(
        (m) => m.args.channel === 'C0PAY' && JSON.stringify(m.args.blocks).includes(marker),
      )
      return !!message
    })
    expect(message!.headers.authorization).toBe(`Bearer ${secrets.SLACK_BOT}`)
    const approve = message!.args.blocks
      .find((b: any) => b.type === 'actions')
      .elements.find((e: any) => e.action_id === 'airlock_approve')
    const payload = {
      type: 'block_actions',
      user: { id: 'U0BOB' },
      channel: { id: 'C0PAY' },
      message: { ts: '1' },
      actions: [{ action_id: 'airlock_approve', value: approve.value }],
    }
    const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString()
    const ts = String(Math.floor(Date.now() / 1000))
    const send = async (secret: string) =>
      gateway('/_airlock/slack/interactions', {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-slack-request-timestamp': ts,
          'x-slack-signature': await slackSignature(secret, ts, body),
        },
        body,
      })
    expect((await send('wrong-secret')).status).toBe(401)
    expect(await toUpstream(marker)).toHaveLength(0)
    expect((await send(secrets.SLACK_SIGNING!)).status).toBe(200)
    const res = await agent
    expect(res.status).toBe(200)
    expect((await send(secrets.SLACK_SIGNING!)).status).toBe(200) // a replay: nothing changes
    expect(await toUpstream(marker)).toHaveLength(1)
    await until(async () =>
      (await slackCalls('chat.update')).some(
        (u) =>
          JSON.stringify(u.args.blocks).includes('Approved by bob') && JSON.stringify(u.args.blocks).includes(marker),
      ),
    )
  })
})
