// Regressions for issue 10 item 1: an upstream credential that is not a valid header value (CR, LF, NUL …) made
// Headers.set throw a message quoting it, which then reached the hold's error, the agent, the webhook, approvers,
// SQLite and the log. Now the Node server refuses to start naming the env var, a route refuses to send it (Workers
// read secrets per request, so a bad one can appear after start), and no thrown message Airlock did not write
// reaches anything outside the gateway.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Config } from '../../gateway/core/config/schema.ts'
import { publicErrorText } from '../../gateway/core/credentials.ts'
import { buildPolicy } from '../../gateway/node/toolchain/build.ts'
import {
  approverTokens,
  keys,
  policySource,
  startTestGateway,
  testApprovers,
  testConfig,
  testSecrets,
} from '../support/gateway.ts'
import { HOLD_RULES } from '../support/holds-policy.ts'
import { startUpstream, type TestUpstream } from '../support/upstream.ts'

const SECRET = 'sk_live_TOPSECRET_4242'
const BAD_VALUES = {
  'a CR LF': `${SECRET}\r\nx-evil: 1`,
  'a NUL': `${SECRET}\0`,
  'a non-Latin-1 character': `${SECRET}€`,
}

let upstream: TestUpstream
let receiver: TestUpstream
let policyDir: string

beforeAll(async () => {
  upstream = await startUpstream()
  receiver = await startUpstream((_req, res) => {
    res.writeHead(204)
    res.end()
  })
  policyDir = mkdtempSync(join(tmpdir(), 'airlock-cred-policy-'))
  await buildPolicy(policySource({ 'holdtest.rego': HOLD_RULES }), policyDir)
})
afterAll(async () => {
  await Promise.all([upstream?.close(), receiver?.close()])
})

function config(): Config {
  return testConfig({
    policy: { dir: policyDir, watch: false },
    holds: { wait_s: 0.1 },
    routes: [
      {
        name: 'api',
        prefix: '/api',
        upstream: upstream.url,
        allow_private: true,
        credential: { env: 'UPSTREAM_TOKEN' },
      },
    ],
    approver_groups: {
      payments: {},
      ops: { webhooks: [{ url: `${receiver.url}/hook`, secret_env: 'WEBHOOK_SECRET', allow_private: true }] },
    },
    approvers: testApprovers,
  })
}

describe('a credential that is not a valid header value is refused at start', () => {
  it.each(Object.entries(BAD_VALUES))(
    '%s: the start fails naming the env var, never the value',
    async (_what, value) => {
      const err = await startTestGateway(config(), {
        secrets: (n) => (n === 'UPSTREAM_TOKEN' ? value : testSecrets[n]),
      }).then(
        (gw) => gw.close().then(() => null),
        (e: Error) => e,
      )
      expect(err).toBeInstanceOf(Error)
      expect(err!.message).toContain('UPSTREAM_TOKEN')
      expect(err!.message).toContain('route "api"')
      expect(err!.message).not.toContain(SECRET)
    },
  )
})

describe('a credential that turns bad after start never leaks through a hold', () => {
  it("fails the approved hold with Airlock's own message: agent, webhook, approver API, SQLite and log hold no secret", async () => {
    const env: Record<string, string | undefined> = { ...testSecrets, UPSTREAM_TOKEN: SECRET }
    const cfg = config()
    const gw = await startTestGateway(cfg, { secrets: (n) => env[n], tickMs: 100 })
    try {
      const held = await fetch(`${gw.url}/api/hold`, {
        method: 'POST',
        headers: { 'airlock-agent-key': keys.billing, 'content-type': 'application/json', prefer: 'respond-async' },
        body: '{"n":1}',
      })
      const id = held.headers.get('airlock-hold-id')!
      expect(id).toBeTruthy()
      // As a Worker secret can change under a running isolate: the value is now one Headers.set throws on.
      env.UPSTREAM_TOKEN = BAD_VALUES['a CR LF']
      const api = (path: string, body?: object) =>
        fetch(`${gw.url}/_airlock/api${path}`, {
          method: body ? 'POST' : 'GET',
          headers: { authorization: `Bearer ${approverTokens.bob}`, 'content-type': 'application/json' },
          ...(body ? { body: JSON.stringify(body) } : {}),
        })
      const view = await (await api(`/holds/${id}`)).json()
      expect((await api(`/holds/${id}/approve`, { context_sha256: view.context_sha256 })).status).toBe(200)

      let final: any
      for (let i = 0; i < 100; i++) {
        final = await (await api(`/holds/${id}`)).json()
        if (final.state === 'failed' || final.state === 'outcome_unknown') break
        await new Promise((r) => setTimeout(r, 50))
      }
      expect(final.state).toBe('failed')

      const agentView = await fetch(`${gw.url}/_airlock/holds/${id}`, {
        headers: { 'airlock-agent-key': keys.billing },
      })
      const agentText = await agentView.text()
      expect(agentText).toContain('AIRLOCK_HOLD_FAILED')
      expect(agentText).toContain('is misconfigured on the gateway (UPSTREAM_TOKEN is not a valid header value)')

      const plain = await fetch(`${gw.url}/api/anything`, { headers: { 'airlock-agent-key': keys.billing } })
      expect(plain.status).toBe(503)
      const plainText = await plain.text()
      expect(plainText).toContain('AIRLOCK_CREDENTIAL_INVALID')

      await new Promise<void>((resolve, reject) => {
        const end = Date.now() + 5000
        const check = () =>
          receiver.received.some((r) => r.body.toString().includes('hold.executed'))
            ? resolve()
            : Date.now() > end
              ? reject(new Error('no hold.executed webhook'))
              : setTimeout(check, 25)
        check()
      })
      const outside = [
        agentText,
        plainText,
        JSON.stringify(final),
        ...receiver.received.map((r) => r.body.toString()),
        JSON.stringify(gw.logs),
        ...readdirSync(cfg.data_dir).map((f) => readFileSync(join(cfg.data_dir, f)).toString('latin1')),
      ]
      for (const text of outside) expect(text).not.toContain(SECRET)
      expect(upstream.received.filter((r) => r.url === '/hold')).toHaveLength(0)
    } finally {
      await gw.close()
    }
  }, 20_000)
})

describe('thrown messages Airlock did not write stay inside', () => {
  it('publicErrorText keeps the type and code of a Headers error, not the value it quotes', () => {
    let thrown: unknown
    try {
      new Headers().set('authorization', `Bearer ${SECRET}\r\nx-evil: 1`)
    } catch (err) {
      thrown = err
    }
    expect(String((thrown as Error).message)).toContain(SECRET) // what the platform does
    expect(publicErrorText(thrown)).not.toContain(SECRET)
    expect(publicErrorText(thrown)).toMatch(/^unexpected TypeError/)
    expect(publicErrorText(Object.assign(new Error(`connect ${SECRET}`), { code: 'ECONNREFUSED' }))).toBe(
      "unexpected Error (ECONNREFUSED); details are in the gateway's log",
    )
  })
})
