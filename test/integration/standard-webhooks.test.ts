// `format: standard` webhooks verified by the Standard Webhooks reference library (npm standardwebhooks), against a
// real gateway, real compiled Rego and a loopback receiver; a secret that is not `whsec_…` is never used to sign.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, expect, it } from 'vitest'
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

const SECRET = `whsec_${Buffer.from('standard-webhooks-test-key-32-bytes!').toString('base64')}`
let upstream: TestUpstream
let receiver: TestUpstream
let gw: TestGateway

beforeAll(async () => {
  upstream = await startUpstream()
  receiver = await startUpstream((_req, res) => {
    res.writeHead(204)
    res.end()
  })
  const policyDir = mkdtempSync(join(tmpdir(), 'airlock-stdhooks-policy-'))
  await buildPolicy(policySource({ 'holdtest.rego': HOLD_RULES }), policyDir)
  testSecrets.STANDARD_SECRET = SECRET
  testSecrets.NOT_WHSEC = 'plain-secret-not-whsec'
  gw = await startTestGateway(
    testConfig({
      policy: { dir: policyDir, watch: false },
      holds: { wait_s: 0.1 },
      routes: [{ name: 'api', prefix: '/api', upstream: upstream.url, allow_private: true }],
      approver_groups: {
        ops: {
          webhooks: [
            { url: `${receiver.url}/std`, secret_env: 'STANDARD_SECRET', format: 'standard', allow_private: true },
          ],
        },
        payments: {
          webhooks: [{ url: `${receiver.url}/bad`, secret_env: 'NOT_WHSEC', format: 'standard', allow_private: true }],
        },
      },
      approvers: testApprovers,
    }),
    { tickMs: 100 },
  )
})
afterAll(async () => {
  await gw?.close()
  await upstream?.close()
  await receiver?.close()
})

const until = async (pred: () => boolean | Promise<boolean>, ms = 5000) => {
  const end = Date.now() + ms
  while (!(await pred())) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 25))
  }
}
const hold = (path: string) =>
  fetch(`${gw.url}/api${path}`, {
    method: 'POST',
    headers: { 'airlock-agent-key': keys.billing, 'content-type': 'application/json', prefer: 'respond-async' },
    body: JSON.stringify({ n: Math.random() }),
  })

it('signs hold events so the standardwebhooks library verifies them; webhook-id is the event id', async () => {
  const res = await hold('/hold')
  const holdId = res.headers.get('airlock-hold-id')!
  await until(() => receiver.received.some((r) => r.url === '/std'))
  const delivery = receiver.received.find((r) => r.url === '/std')!
  const headers = Object.fromEntries(Object.entries(delivery.headers).map(([k, v]) => [k, String(v)]))
  expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/)
  expect(headers['airlock-signature']).toBeUndefined()
  const event = new Webhook(SECRET).verify(delivery.body.toString(), headers) as {
    id: string
    type: string
    hold: { id: string }
  }
  expect(event.type).toBe('hold.created')
  expect(event.hold.id).toBe(holdId)
  expect(headers['webhook-id']).toBe(event.id)
  // Tampering or another key fails verification.
  expect(() =>
    new Webhook(SECRET).verify(delivery.body.toString().replace('hold.created', 'hold.decided'), headers),
  ).toThrow()
  expect(() =>
    new Webhook(`whsec_${Buffer.from('another-key-another-key-another!').toString('base64')}`).verify(
      delivery.body.toString(),
      headers,
    ),
  ).toThrow()
})

it('a secret that is not whsec_ base64 fails the delivery with a clear error and sends nothing', async () => {
  const res = await hold('/pay')
  const holdId = res.headers.get('airlock-hold-id')!
  await until(async () => (await gw.holds.store.deliveries(holdId)).some((d) => d.attempts > 0))
  const d = (await gw.holds.store.deliveries(holdId))[0]!
  expect(d.state).toBe('pending')
  expect(d.last_error).toContain('NOT_WHSEC is not a Standard Webhooks secret')
  expect(receiver.received.filter((r) => r.url === '/bad')).toHaveLength(0)
})
