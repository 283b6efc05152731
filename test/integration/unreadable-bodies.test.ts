// Regression for issue 10 item 6, with the real example policies (policies/, compiled): a Slack message the gateway
// could not parse reached messaging.rego as an empty body and bypassed the @channel hold. Now multipart fields are
// parsed (the hold applies), and a write whose body cannot be parsed (text/plain carrying JSON, two Content-Types)
// is denied by catchall.unreadable_body. The fake upstream proves nothing unread reached it.
import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { keys, startTestGateway, type TestGateway, testApprovers, testConfig } from '../support/gateway.ts'
import { startUpstream, type TestUpstream } from '../support/upstream.ts'

let slack: TestUpstream
let gw: TestGateway

beforeAll(async () => {
  slack = await startUpstream()
  gw = await startTestGateway(
    testConfig({
      routes: [{ name: 'slack', prefix: '/slack', upstream: slack.url, allow_private: true }],
      approver_groups: { ops: {}, payments: {}, comms: {}, security: {}, engineering: {} },
      approvers: testApprovers,
      holds: { wait_s: 0 },
    }),
  )
})
afterAll(async () => {
  await gw?.close()
  await slack?.close()
})

const MESSAGE = { channel: 'C0EXTERNAL', text: 'hey <!channel> the deploy is done' }

/** node:http, so a test can send a header twice (an array value is sent as two header lines). */
function post(
  headers: Record<string, string | string[]>,
  body: string | Buffer,
): Promise<{ status: number; body: any; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${gw.url}/slack/api/chat.postMessage`,
      { method: 'POST', headers: { 'airlock-agent-key': keys.billing, ...headers } },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: JSON.parse(Buffer.concat(chunks).toString() || 'null'),
            headers: res.headers,
          }),
        )
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

describe('example policies fail closed on bodies they cannot read', () => {
  it('a Slack message as text/plain carrying JSON is denied, and never reaches Slack', async () => {
    const before = slack.received.length
    const res = await post({ 'content-type': 'text/plain' }, JSON.stringify(MESSAGE))
    expect(res.body.error).toMatchObject({ code: 'AIRLOCK_DENIED', rule: 'catchall.unreadable_body' })
    expect(res.status).toBe(403)
    expect(res.body.error.message).toContain('text/plain bodies are not parsed')
    expect(gw.decisions().at(-1)!.rule).toBe('catchall.unreadable_body')
    expect(slack.received.length).toBe(before)
  })

  it('a Slack message with two Content-Type headers is denied', async () => {
    const before = slack.received.length
    const res = await post(
      { 'content-type': ['application/json', 'application/x-www-form-urlencoded'] },
      JSON.stringify(MESSAGE),
    )
    expect(res.status).toBe(403)
    expect(res.body.error).toMatchObject({ code: 'AIRLOCK_DENIED', rule: 'catchall.unreadable_body' })
    expect(res.body.error.message).toContain('more than one Content-Type')
    expect(slack.received.length).toBe(before)
  })

  it('a multipart Slack message is parsed, so @channel is held for comms like a JSON one', async () => {
    const before = slack.received.length
    const boundary = 'airlock-test-boundary'
    const body = `--${boundary}\r\nContent-Disposition: form-data; name="channel"\r\n\r\n${MESSAGE.channel}\r\n--${boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\n${MESSAGE.text}\r\n--${boundary}--\r\n`
    const res = await post({ 'content-type': `multipart/form-data; boundary=${boundary}` }, body)
    expect(res.headers['airlock-hold-id']).toBeTruthy()
    const line = gw.decisions().at(-1)!
    expect(line).toMatchObject({ action: 'hold', rule: 'slack.mass_mention' })
    expect(slack.received.length).toBe(before)

    const json = await post(
      { 'content-type': 'application/json' },
      JSON.stringify({ ...MESSAGE, text: `${MESSAGE.text} (json)` }),
    )
    expect(json.headers['airlock-hold-id']).toBeTruthy()
    expect(gw.decisions().at(-1)).toMatchObject({ action: 'hold', rule: 'slack.mass_mention' })
  })
})
