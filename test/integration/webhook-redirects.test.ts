// Regressions for issue 10 item 3: webhook deliveries never follow a redirect (a 3xx is a failed delivery, logged
// with its Location), and the guarded connection pool refuses private IP-literal destinations itself, so no path
// through it (upstream, webhook, a redirect hop) can reach one without the connect-time check.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Agent, request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { guardedConnector } from '../../gateway/node/ssrf.ts'
import { buildPolicy } from '../../gateway/node/toolchain/build.ts'
import { keys, policySource, startTestGateway, testApprovers, testConfig } from '../support/gateway.ts'
import { HOLD_RULES } from '../support/holds-policy.ts'
import { startUpstream, type TestUpstream } from '../support/upstream.ts'

let canary: TestUpstream
let redirecting: TestUpstream
let upstream: TestUpstream
let policyDir: string

beforeAll(async () => {
  canary = await startUpstream()
  upstream = await startUpstream()
  redirecting = await startUpstream((_req, res) => {
    res.writeHead(307, { location: `${canary.url}/stolen?token=abc` })
    res.end()
  })
  policyDir = mkdtempSync(join(tmpdir(), 'airlock-redirect-policy-'))
  await buildPolicy(policySource({ 'holdtest.rego': HOLD_RULES }), policyDir)
})
afterAll(async () => {
  await Promise.all([canary?.close(), upstream?.close(), redirecting?.close()])
})

const until = async (pred: () => boolean, ms = 5000) => {
  const end = Date.now() + ms
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 25))
  }
}

describe('webhook deliveries do not follow redirects', () => {
  it('records a 3xx as a failed delivery with its Location and never reaches the redirect target', async () => {
    const gw = await startTestGateway(
      testConfig({
        policy: { dir: policyDir, watch: false },
        holds: { wait_s: 0.1 },
        routes: [{ name: 'api', prefix: '/api', upstream: upstream.url, allow_private: true }],
        // allow_private on the hook: even a destination the hook itself may reach is not reached through a redirect.
        approver_groups: {
          payments: {},
          ops: { webhooks: [{ url: `${redirecting.url}/hook`, secret_env: 'WEBHOOK_SECRET', allow_private: true }] },
        },
        approvers: testApprovers,
      }),
      { tickMs: 100 },
    )
    try {
      const res = await fetch(`${gw.url}/api/hold`, {
        method: 'POST',
        headers: { 'airlock-agent-key': keys.billing, 'content-type': 'application/json' },
        body: '{"n":1}',
      })
      expect(res.headers.get('airlock-hold-id')).toBeTruthy()
      await until(() => gw.logs.some((l) => l.event === 'webhook_failed'))
      const failure = gw.logs.find((l) => l.event === 'webhook_failed')!
      expect(failure.status).toBe(307)
      expect(failure.error).toContain(`redirect to Location ${canary.url}/stolen?token=%5Bredacted%5D`)
      expect(failure.error).not.toContain('abc')
      expect(redirecting.received.length).toBeGreaterThanOrEqual(1)
      expect(canary.received).toHaveLength(0)
    } finally {
      await gw.close()
    }
  })
})

describe('the guarded pool refuses private IP literals at connect time', () => {
  // The connector is where redirect hops and any future caller of the pool end up; net.connect never asks the
  // resolver about an IP literal, so this check is the only one such a hop meets.
  it.each(['127.0.0.1', '[::1]'])('a request to %s through the guarded connector never connects', async (host) => {
    const port = canary.port
    const before = canary.received.length
    const agent = new Agent({ connect: guardedConnector({ timeout: 2000 }) })
    try {
      const err = await request(`http://${host}:${port}/`, { dispatcher: agent }).then(
        () => null,
        (e: unknown) => e,
      )
      expect(err).toMatchObject({ code: 'AIRLOCK_DESTINATION_FORBIDDEN' })
      expect(canary.received).toHaveLength(before)
    } finally {
      await agent.close()
    }
  })
})
