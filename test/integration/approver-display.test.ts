// Regressions for issue 10 items 8 and 12, end to end: agent-controlled text (the Airlock-Intent header, the body,
// a policy summary that quotes it) reaches `airlock holds list/show` and the Slack message escaped for each medium,
// and every webhook carries its event id inside the signed body (same id on every retry) for receivers to dedupe.
import { execFile } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifySignature } from '../../gateway/core/holds/webhooks.ts'
import { buildPolicy } from '../../gateway/node/toolchain/build.ts'
import { repoRoot } from '../../gateway/node/toolchain/opa.ts'
import {
  approverTokens,
  keys,
  policySource,
  startTestGateway,
  type TestGateway,
  testApprovers,
  testConfig,
  testSecrets,
} from '../support/gateway.ts'
import { startUpstream, type TestUpstream } from '../support/upstream.ts'

const RULES = `package airlock.rules.display

hold contains {"rule": "d.post", "reason": sprintf("posting to %s", [input.request.body.channel]), "summary": sprintf("Post: %s", [input.request.body.text]), "approvers": ["ops"]} if {
  input.request.method == "POST"
}
`

const run = promisify(execFile)
const airlock = async (args: string[]) => {
  const { stdout } = await run(process.execPath, [join(repoRoot, 'gateway/node/bin.ts'), ...args], {
    env: { ...process.env, AIRLOCK_APPROVER_TOKEN: approverTokens.bob },
  })
  return stdout
}

let upstream: TestUpstream
let json: TestUpstream
let slack: TestUpstream
let flaky = 0
let gw: TestGateway
let configPath: string

beforeAll(async () => {
  upstream = await startUpstream()
  // The JSON receiver fails the first delivery, so the retry shows the id is stable.
  json = await startUpstream((_req, res) => {
    res.writeHead(flaky++ === 0 ? 503 : 204)
    res.end()
  })
  slack = await startUpstream((_req, res) => {
    res.writeHead(200)
    res.end('ok')
  })
  const policyDir = mkdtempSync(join(tmpdir(), 'airlock-display-policy-'))
  await buildPolicy(policySource({ 'display.rego': RULES }), policyDir)
  gw = await startTestGateway(
    testConfig({
      policy: { dir: policyDir, watch: false },
      routes: [{ name: 'api', prefix: '/api', upstream: upstream.url, allow_private: true }],
      approver_groups: {
        payments: {},
        ops: {
          webhooks: [
            { url: `${json.url}/hook`, secret_env: 'WEBHOOK_SECRET', allow_private: true },
            { url: `${slack.url}/slack`, secret_env: 'WEBHOOK_SECRET', allow_private: true, format: 'slack' },
          ],
        },
      },
      approvers: testApprovers,
      holds: { wait_s: 0 },
    }),
    { tickMs: 100 },
  )
  configPath = join(mkdtempSync(join(tmpdir(), 'airlock-display-')), 'airlock.json')
  writeFileSync(
    configPath,
    JSON.stringify({ data_dir: mkdtempSync(join(tmpdir(), 'airlock-display-data-')), approver_groups: { ops: {} } }),
  )
})
afterAll(async () => {
  await gw?.close()
  await Promise.all([upstream?.close(), json?.close(), slack?.close()])
})

const until = async (pred: () => boolean, ms = 8000) => {
  const end = Date.now() + ms
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 25))
  }
}

const hostile = {
  channel: '<!channel>',
  text: 'refund\u001b[2J\u001b[1;1Happroved by finance \u202etxet\u202c <https://evil.example|Stripe dashboard> ```*bold*',
}
// Airlock-Intent is percent-decoded into input.intent (and the hold), so an agent can put any character there.
const intent = encodeURIComponent('routine\u001b]0;title\u0007\u009b2J\r\nwhy: approved already')

async function hold(): Promise<string> {
  const res = await fetch(`${gw.url}/api/chat.postMessage`, {
    method: 'POST',
    headers: { 'airlock-agent-key': keys.billing, 'content-type': 'application/json', 'airlock-intent': intent },
    body: JSON.stringify(hostile),
  })
  const id = res.headers.get('airlock-hold-id')
  expect(id).toBeTruthy()
  return id!
}

const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/

describe('airlock holds list/show escape terminal control sequences', () => {
  it('prints escape sequences, C1 controls, bidi overrides and line breaks as visible text', async () => {
    const id = await hold()
    const list = await airlock(['holds', 'list', '--url', gw.url, '--config', configPath])
    expect(list).toContain(id)
    expect(list).not.toMatch(RAW_CONTROL)
    expect(list).toContain('refund\\x1b[2J\\x1b[1;1Happroved by finance \\u202etxet\\u202c')
    const show = await airlock(['holds', 'show', id, '--url', gw.url, '--config', configPath])
    expect(show).not.toMatch(RAW_CONTROL)
    expect(show).toContain('\\u202etxet\\u202c')
    expect(show).toContain('\\x9b2J') // JSON leaves C1 raw; the escaper shows it
  })
})

describe('Slack messages escape mrkdwn', () => {
  it('leaves no <!channel>, disguised link or code-block break from agent text', async () => {
    const id = await hold()
    await until(() => slack.received.some((r) => r.body.toString().includes(id)))
    const raw = slack.received.find((r) => r.body.toString().includes(id))!.body.toString()
    const message = JSON.parse(raw) as {
      text: string
      blocks: {
        type: string
        text?: { type: string; text: string }
        fields?: { text: string }[]
        elements?: { text: string }[]
      }[]
    }
    const mrkdwn = [
      message.text,
      ...message.blocks.flatMap((b) => [
        ...(b.text?.type === 'mrkdwn' ? [b.text.text] : []),
        ...(b.fields ?? []).map((f) => f.text),
        ...(b.elements ?? []).map((e) => e.text),
      ]),
    ].join('\n')
    expect(mrkdwn).not.toContain('<!channel>')
    expect(mrkdwn).not.toContain('<https://evil.example')
    expect(mrkdwn).toContain('&lt;!channel&gt;')
    expect(mrkdwn).toContain('&lt;https://evil.example|Stripe dashboard&gt;')
    // Only Airlock's own code fences: the body preview and the agent's ``` cannot close them.
    const preview = message.blocks.find((b) => b.text?.text.startsWith('*Request*'))!.text!.text
    expect(preview.match(/```/g)).toHaveLength(2)
  })
})

describe('webhook event ids are signed and stable across retries', () => {
  it('puts the id in the signed body and the Airlock-Event-Id header, the same on every attempt', async () => {
    const id = await hold()
    const forHold = () => json.received.filter((r) => JSON.parse(r.body.toString()).hold?.id === id)
    await until(() => forHold().length >= 2) // the first attempt got 503, the retry 204
    const [first, retry] = forHold()
    for (const r of [first!, retry!]) {
      const body = r.body.toString()
      expect(
        await verifySignature(
          testSecrets.WEBHOOK_SECRET!,
          body,
          r.headers['airlock-signature'] as string,
          Math.floor(Date.now() / 1000),
        ),
      ).toBe(true)
      expect(r.headers['airlock-event-id']).toBe(JSON.parse(body).id)
    }
    expect(JSON.parse(retry!.body.toString()).id).toBe(JSON.parse(first!.body.toString()).id)
    // The Slack format carries the id inside its signed body too.
    const slackDelivery = slack.received.find((r) => r.body.toString().includes(id))!
    expect(slackDelivery.body.toString()).toContain(slackDelivery.headers['airlock-event-id'] as string)
    expect(
      await verifySignature(
        testSecrets.WEBHOOK_SECRET!,
        slackDelivery.body.toString(),
        slackDelivery.headers['airlock-signature'] as string,
        Math.floor(Date.now() / 1000),
      ),
    ).toBe(true)
  }, 20_000)
})
