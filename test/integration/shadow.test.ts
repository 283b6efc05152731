// policy.shadow on a real gateway: the shadow decision is recorded in the decision line and counted in Prometheus,
// never changes what happens to the request (even when the shadow policy throws), and hot-reloads like the main one.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Config } from '../../gateway/core/config/schema.ts'
import { reportCommand } from '../../gateway/node/cli-holds.ts'
import { buildPolicy } from '../../gateway/node/toolchain/build.ts'
import { keys, policySource, startTestGateway, type TestGateway, testConfig } from '../support/gateway.ts'
import { startUpstream, type TestUpstream } from '../support/upstream.ts'

const ENFORCED = `package airlock.rules.enforced
allow contains {"rule": "e.read", "reason": "reads"} if input.request.method == "GET"
review contains {"rule": "e.write", "reason": "writes are reviewed"} if input.request.method == "POST"
`
// A stricter candidate: writes denied.
const STRICT = `package airlock.rules.candidate
allow contains {"rule": "c.read", "reason": "reads"} if input.request.method == "GET"
deny contains {"rule": "c.no_writes", "reason": "no writes"} if input.request.method == "POST"
`
// A broken candidate: sprintf %v of null throws inside the SDK on every request.
const THROWS = `package airlock.rules.candidate
allow contains {"rule": "c.boom", "reason": sprintf("%v", [input.request.body])} if true
`

let upstream: TestUpstream
let enforcedDir: string
let shadowDir: string
let plain: TestGateway
let shadowed: TestGateway
let shadowConfig: Config

const send = (gw: TestGateway, method: string, n: number) =>
  fetch(`${gw.url}/api/thing/${n}`, {
    method,
    headers: { 'airlock-agent-key': keys.billing },
    ...(method === 'POST' ? { body: `{"n":${n}}` } : {}),
  })

beforeAll(async () => {
  upstream = await startUpstream()
  enforcedDir = mkdtempSync(join(tmpdir(), 'airlock-enforced-'))
  shadowDir = mkdtempSync(join(tmpdir(), 'airlock-shadow-'))
  await Promise.all([
    buildPolicy(policySource({ 'e.rego': ENFORCED }), enforcedDir),
    buildPolicy(policySource({ 'c.rego': STRICT }), shadowDir),
  ])
  const routes = [{ name: 'api', prefix: '/api', upstream: upstream.url, allow_private: true }]
  plain = await startTestGateway(testConfig({ policy: { dir: enforcedDir, watch: false }, routes }))
  shadowConfig = testConfig({ policy: { dir: enforcedDir, watch: true, shadow: { dir: shadowDir } }, routes })
  shadowed = await startTestGateway(shadowConfig)
}, 60_000)
afterAll(async () => {
  await plain?.close()
  await shadowed?.close()
  await upstream?.close()
})

async function metric(gw: TestGateway, enforced: string, shadow: string): Promise<number> {
  const text = await (await fetch(`${gw.url}/metrics`)).text()
  const m = text.match(
    new RegExp(
      `^airlock_shadow_disagreements_total\\{enforced_action="${enforced}",shadow_action="${shadow}"\\} (\\d+)`,
      'm',
    ),
  )
  return m ? Number(m[1]) : 0
}

describe('shadow policy', () => {
  it('records what the shadow decided and counts disagreements exactly, without changing any outcome', async () => {
    const methods = ['GET', 'POST', 'POST', 'GET', 'POST', 'DELETE', 'GET']
    const before = upstream.received.length
    const a: number[] = []
    const b: number[] = []
    for (const [i, m] of methods.entries()) {
      a.push((await send(plain, m, i)).status)
      b.push((await send(shadowed, m, i)).status)
    }
    expect(b).toEqual(a)
    expect(a).toEqual([200, 200, 200, 200, 200, 403, 200]) // the shadow's "deny" for POST changed nothing
    expect(upstream.received.length - before).toBe(12) // 6 forwarded by each gateway
    const lines = shadowed.decisions().slice(-methods.length)
    expect(lines.map((l) => [l.action, l.shadow?.action, l.shadow?.rule])).toEqual([
      ['allow', 'allow', 'c.read'],
      ['review', 'deny', 'c.no_writes'],
      ['review', 'deny', 'c.no_writes'],
      ['allow', 'allow', 'c.read'],
      ['review', 'deny', 'c.no_writes'],
      ['deny', 'deny', 'airlock.default_deny'],
      ['allow', 'allow', 'c.read'],
    ])
    for (const l of lines) {
      expect(l.shadow.revision).toMatch(/^[0-9a-f]{64}$/)
      expect(l.shadow.eval_us).toBeGreaterThanOrEqual(0)
    }
    expect(plain.decisions().every((l) => l.shadow === undefined)).toBe(true)
    expect(await metric(shadowed, 'review', 'deny')).toBe(3)
    expect(await metric(shadowed, 'allow', 'allow')).toBe(0) // agreements are not disagreements
  })

  it('puts a shadow section in airlock report from the decision log', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'airlock-shadow-log-')), 'decisions.jsonl')
    writeFileSync(file, shadowed.logs.map((l) => JSON.stringify(l)).join('\n') + '\n')
    let out = ''
    const write = process.stdout.write
    process.stdout.write = ((c: string) => {
      out += c
      return true
    }) as typeof process.stdout.write
    try {
      expect(await reportCommand(shadowConfig, { json: true, log: file })).toBe(0)
    } finally {
      process.stdout.write = write
    }
    const shadow = JSON.parse(out).shadow
    expect(shadow).toMatchObject({ evaluated: 7, disagreements: 3, errors: 0 })
    expect(shadow.pairs).toEqual([{ enforced_action: 'review', shadow_action: 'deny', count: 3 }])
    expect(shadow.top_rules[0]).toEqual({ rule: 'e.write', disagreements: 3, shadow: ['deny (c.no_writes)'] })
  })

  it('hot-reloads the shadow policy; one that throws fails no request', async () => {
    const first = shadowed.decisions().at(-1)!.shadow.revision
    await buildPolicy(policySource({ 'c.rego': THROWS }), shadowDir)
    let line: Record<string, any> | undefined
    for (let i = 0; i < 100; i++) {
      const res = await send(shadowed, 'GET', 1000 + i)
      expect(res.status).toBe(200)
      line = shadowed.decisions().at(-1)
      if (line?.shadow?.revision !== first) break
      await new Promise((r) => setTimeout(r, 50))
    }
    expect(line!.shadow).toMatchObject({ action: 'error', rule: 'AIRLOCK_POLICY_ERROR' })
    expect(line!.action).toBe('allow')
    for (const m of ['POST', 'GET', 'DELETE']) {
      const res = await send(shadowed, m, 2000)
      expect(res.status).toBe(m === 'DELETE' ? 403 : 200)
      expect(shadowed.decisions().at(-1)!.shadow.action).toBe('error')
    }
    expect(await metric(shadowed, 'review', 'error')).toBe(1)
    expect(shadowed.logs.some((l) => l.event === 'shadow_policy_loaded' && l.previous_revision === first)).toBe(true)
  }, 30_000)
})
