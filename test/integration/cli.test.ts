// The `airlock` command as an operator, a security engineer and an approver use it: real processes.
import { execFile } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DatabaseSync } from 'node:sqlite'
import { buildPolicy } from '../../gateway/node/toolchain/build.ts'
import { repoRoot } from '../../gateway/node/toolchain/opa.ts'
import { approverTokens, keys, policySource, startTestGateway, testApprovers, testConfig, type TestGateway } from '../support/gateway.ts'
import { HOLD_RULES } from '../support/holds-policy.ts'
import { startUpstream, type TestUpstream } from '../support/upstream.ts'

const run = promisify(execFile)
const airlock = async (args: string[], env: Record<string, string> = {}) => {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(repoRoot, 'gateway/node/bin.ts'), ...args], { env: { ...process.env, ...env } })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

let upstream: TestUpstream
let gw: TestGateway
let configPath: string
let dataDir: string

beforeAll(async () => {
  upstream = await startUpstream()
  const policyDir = mkdtempSync(join(tmpdir(), 'airlock-cli-policy-'))
  await buildPolicy(policySource({ 'holdtest.rego': HOLD_RULES }), policyDir)
  const config = testConfig({
    policy: { dir: policyDir, watch: false },
    routes: [{ name: 'api', prefix: '/api', upstream: upstream.url, allow_private: true }],
    approver_groups: { ops: {}, payments: {} },
    approvers: testApprovers,
    holds: { wait_s: 0 },
  })
  dataDir = config.data_dir
  gw = await startTestGateway(config)
  configPath = join(mkdtempSync(join(tmpdir(), 'airlock-cli-')), 'airlock.json')
  writeFileSync(configPath, JSON.stringify({ data_dir: dataDir, policy: { dir: policyDir }, approver_groups: { ops: {} } }))
})
afterAll(async () => {
  await gw?.close()
  await upstream?.close()
})

describe('airlock config check', () => {
  it('names the file, line, field and problem of every error', async () => {
    const bad = join(mkdtempSync(join(tmpdir(), 'airlock-bad-')), 'airlock.yaml')
    writeFileSync(bad, 'server:\n  port: 99999\nroutes:\n  - name: stripe\n    prefix: stripe\n    upstream: ftp://x\n    bogus: 1\n')
    const r = await airlock(['config', 'check', '--config', bad])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`${bad}:2:9: server.port:`)
    expect(r.stderr).toMatch(new RegExp(`${bad}:5:\\d+: routes\\[0\\]\\.prefix: must start with "/"`))
    expect(r.stderr).toMatch(/routes\[0\]\.upstream: must be an http\(s\) URL/)
    expect(r.stderr).toMatch(/routes\[0\]: Unrecognized key: "bogus"/)
  })

  it('accepts the shipped example config', async () => {
    const r = await airlock(['config', 'check'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/ok \(5 routes, 3 agents, 3 approvers\)/)
  })
})

describe('airlock policy', () => {
  it('eval prints the decision through the gateway code path', async () => {
    const input = join(mkdtempSync(join(tmpdir(), 'airlock-in-')), 'req.json')
    writeFileSync(input, JSON.stringify({ request: { method: 'POST', path: '/hold', host: 'x' }, agent: { id: 'a' } }))
    const r = await airlock(['policy', 'eval', '--input', input, '--config', configPath])
    expect(r.code).toBe(0)
    const out = JSON.parse(r.stdout)
    expect(out.decision).toMatchObject({ action: 'hold', rule: 't.hold', approvers: ['ops'], summary: 'Hold one', timeout_s: 900 })
  })

  it('build fails on a built-in Airlock cannot execute, naming it and the file:line', async () => {
    const src = policySource({ 'bad.rego': 'package airlock.rules.bad\n\nallow contains {"rule": "x", "reason": "y"} if {\n  http.send({"method": "GET", "url": "http://x"})\n}\n' })
    const r = await airlock(['policy', 'build', '--source', src, '--out', mkdtempSync(join(tmpdir(), 'airlock-out-')), '--config', configPath])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/bad\.rego:4/)
    expect(r.stderr).toMatch(/http\.send/)
  })
})

describe('airlock holds (approver API)', () => {
  it('lists, shows and approves a hold; refuses without a token', async () => {
    const res = await fetch(`${gw.url}/api/hold`, { method: 'POST', headers: { 'airlock-agent-key': keys.billing, 'content-type': 'application/json' }, body: '{"cli":1}' })
    const id = res.headers.get('airlock-hold-id')!
    const env = { AIRLOCK_APPROVER_TOKEN: approverTokens.bob }
    const list = await airlock(['holds', 'list', '--url', gw.url, '--config', configPath], env)
    expect(list.code).toBe(0)
    expect(list.stdout).toContain(id)
    expect(list.stdout).toMatch(/pending\s+high\s+billing-bot\s+ops\s+Hold one/)
    const show = await airlock(['holds', 'show', id, '--url', gw.url, '--config', configPath], env)
    expect(JSON.parse(show.stdout).hold.request.body_preview).toContain('"cli": 1')
    const approve = await airlock(['holds', 'approve', id, '--comment', 'looks right', '--url', gw.url, '--config', configPath], env)
    expect(approve.code).toBe(0)
    expect(approve.stdout).toMatch(/Hold one\n {2}why: test hold/)
    expect(approve.stdout).toMatch(/approved: hold .* is now approved/)
    const noToken = await airlock(['holds', 'list', '--url', gw.url, '--config', configPath])
    expect(noToken.code).toBe(1)
    expect(noToken.stderr).toMatch(/AIRLOCK_APPROVER_TOKEN/)
  })
})

describe('airlock report and audit verify (offline, on the data folder)', () => {
  it('reports, verifies the chain, and catches a modified row', async () => {
    const report = await airlock(['report', '--config', configPath])
    expect(report.code).toBe(0)
    expect(report.stdout).toMatch(/Holds by rule/)
    expect(report.stdout).toMatch(/t\.hold\s+1\s+1/)
    const ok = await airlock(['audit', 'verify', '--config', configPath])
    expect(ok.code).toBe(0)
    expect(ok.stdout).toMatch(/audit log ok: \d+ records/)

    const db = new DatabaseSync(join(dataDir, 'airlock.db'))
    db.prepare(`UPDATE audit SET actor = 'approver:mallory' WHERE type = 'hold.approved'`).run()
    db.close()
    const broken = await airlock(['audit', 'verify', '--config', configPath])
    expect(broken.code).toBe(1)
    expect(broken.stdout).toMatch(/audit log BROKEN/)
    expect(broken.stdout).toMatch(/content does not match its hash \(the record was edited\)/)
  })
})
