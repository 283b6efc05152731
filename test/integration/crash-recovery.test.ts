// Holds survive `kill -9`: a real gateway process is killed with a pending hold and a hold mid-execution, then
// restarted on the same data folder. Nothing is lost, nothing is sent twice, and the interrupted call is left for a
// person to resolve ("outcome unknown"), never silently re-sent.
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { buildPolicy } from '../../gateway/node/toolchain/build.ts'
import { approverTokens, keys, policySource, testApprovers } from '../support/gateway.ts'
import { startGatewayProcess } from '../support/gateway-process.ts'
import { HOLD_RULES } from '../support/holds-policy.ts'
import { startUpstream, type TestUpstream } from '../support/upstream.ts'

let upstream: TestUpstream
let configPath: string
const children: ChildProcess[] = []

beforeAll(async () => {
  upstream = await startUpstream((req, res) => {
    if (req.body.toString().includes('crash-exec')) return // hangs: the process dies mid-call
    res.writeHead(201, { 'content-type': 'application/json' })
    res.end('{"created":true}')
  })
  const policyDir = mkdtempSync(join(tmpdir(), 'airlock-crash-policy-'))
  await buildPolicy(policySource({ 'holdtest.rego': HOLD_RULES }), policyDir)
  const dir = mkdtempSync(join(tmpdir(), 'airlock-crash-'))
  configPath = join(dir, 'airlock.json')
  writeFileSync(
    configPath,
    JSON.stringify({
      server: { host: '127.0.0.1', port: 0 },
      data_dir: join(dir, 'data'),
      policy: { dir: policyDir, watch: false },
      log: { level: 'info', decision_input: false },
      agents: [{ id: 'billing-bot', owner: 'alice@example.com', key_env: 'TEST_KEY_BILLING' }],
      routes: [{ name: 'api', prefix: '/api', upstream: upstream.url, allow_private: true, timeout_ms: 60_000 }],
      approver_groups: { ops: {}, payments: {} },
      approvers: testApprovers,
    }),
  )
})
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL')
  await upstream.close()
})

/** Starts `airlock start` as its own process and resolves with its URL once it is ready. */
const startProcess = () => startGatewayProcess({ configPath, children, timeoutMs: 20_000 })

const post = (url: string, marker: string) =>
  fetch(`${url}/api/hold`, {
    method: 'POST',
    headers: { 'airlock-agent-key': keys.billing, 'content-type': 'application/json', prefer: 'respond-async' },
    body: JSON.stringify({ marker }),
  })
const api = (url: string, path: string, body?: object) =>
  fetch(`${url}/_airlock/api${path}`, {
    method: body ? 'POST' : 'GET',
    headers: { authorization: `Bearer ${approverTokens.bob}` },
    ...(body ? { body: JSON.stringify(body) } : {}),
  })
const seen = (marker: string) => upstream.received.filter((r) => r.body.toString().includes(marker)).length
const until = async (pred: () => boolean | Promise<boolean>, ms = 10_000) => {
  const end = Date.now() + ms
  while (!(await pred())) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 25))
  }
}

it('keeps pending holds across kill -9 and never re-sends one that was mid-execution', async () => {
  const first = await startProcess()
  const pending = (await post(first.url, 'crash-pending')).headers.get('airlock-hold-id')!
  const executing = (await post(first.url, 'crash-exec')).headers.get('airlock-hold-id')!
  expect((await api(first.url, `/holds/${executing}/approve`, { comment: 'go' })).status).toBe(200)
  await until(() => seen('crash-exec') === 1) // the upstream has the request; the gateway waits for its answer
  first.child.kill('SIGKILL')
  await new Promise((r) => first.child.once('exit', r))

  const second = await startProcess()
  const e = await (await api(second.url, `/holds/${executing}`)).json()
  expect(e.state).toBe('outcome_unknown')
  const retry = await fetch(`${second.url}/api/hold`, {
    method: 'POST',
    headers: { 'airlock-agent-key': keys.billing, 'content-type': 'application/json' },
    body: JSON.stringify({ marker: 'crash-exec' }),
  })
  expect(retry.status).toBe(502)
  expect((await retry.json()).error.code).toBe('AIRLOCK_HOLD_OUTCOME_UNKNOWN')

  const p = await (await api(second.url, `/holds/${pending}`)).json()
  expect(p.state).toBe('pending')
  expect(p.hold.request.body_preview).toContain('crash-pending')
  expect((await api(second.url, `/holds/${pending}/approve`, {})).status).toBe(200)
  await until(() => seen('crash-pending') === 1)
  await until(
    async () =>
      (await fetch(`${second.url}/_airlock/holds/${pending}`, { headers: { 'airlock-agent-key': keys.billing } }))
        .status === 201,
  )

  expect(
    (
      await api(second.url, `/holds/${executing}/resolve`, {
        outcome: 'failed',
        comment: 'checked upstream: not applied',
      })
    ).status,
  ).toBe(200)
  await new Promise((r) => setTimeout(r, 300))
  expect(seen('crash-exec')).toBe(1)
  expect(seen('crash-pending')).toBe(1)
  const verify = await (await api(second.url, '/audit/verify')).json()
  expect(verify.ok).toBe(true)
  second.child.kill('SIGTERM')
}, 60_000)
