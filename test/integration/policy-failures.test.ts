// Fail closed: a policy that errors or returns nothing refuses the request; a broken policy build is rejected at
// reload while the previous one keeps serving.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { policyRevision } from '../../gateway/node/policy-files.ts'
import { buildPolicy } from '../../gateway/node/toolchain/build.ts'
import { repoRoot } from '../../gateway/node/toolchain/opa.ts'
import { keys, policySource, startTestGateway, testConfig } from '../support/gateway.ts'
import { startUpstream, type TestUpstream } from '../support/upstream.ts'

const ALLOW_ALL = `package airlock.rules.t
allow contains {"rule": "t.all", "reason": "test allows everything"} if true
`
const DENY_ALL = `package airlock.rules.t
deny contains {"rule": "t.none", "reason": "test denies everything"} if true
`
// A host built-in that throws makes evaluation itself fail.
const ERRORING = `package airlock.rules.t
allow contains {"rule": "t.err", "reason": "never"} if {
  time.parse_rfc3339_ns("not a time") > 0
}
`

let upstream: TestUpstream
beforeAll(async () => {
  upstream = await startUpstream()
})
afterAll(async () => {
  await upstream.close()
})

const routes = () => [{ name: 'httpbin', prefix: '/httpbin', upstream: upstream.url, allow_private: true }]
const get = (url: string) => fetch(`${url}/httpbin/get`, { headers: { 'airlock-agent-key': keys.billing } })

describe('fail closed', () => {
  it('refuses with 500 and a decision id when evaluation errors, and the upstream sees nothing', async () => {
    const out = mkdtempSync(join(tmpdir(), 'airlock-build-'))
    await buildPolicy(policySource({ 'err.rego': ERRORING }), out)
    const gw = await startTestGateway(testConfig({ policy: { dir: out, watch: false }, routes: routes() }))
    try {
      const before = upstream.received.length
      const res = await get(gw.url)
      expect(res.status).toBe(500)
      const body = await res.json()
      expect(body.error.code).toBe('AIRLOCK_POLICY_ERROR')
      expect(body.error.decision_id).toBe(res.headers.get('airlock-decision-id'))
      expect(upstream.received.length).toBe(before)
      expect(gw.decisions().at(-1)).toMatchObject({ error_code: 'AIRLOCK_POLICY_ERROR', status: 500 })
    } finally {
      await gw.close()
    }
  })

  it('refuses with 500 when the decision is undefined', async () => {
    const src = mkdtempSync(join(tmpdir(), 'airlock-rego-'))
    writeFileSync(
      join(src, 'p.rego'),
      'package airlock\ndecision := {"action": "allow", "reason": "x"} if input.never\n',
    )
    cpSync(join(repoRoot, 'policies/capabilities.json'), join(src, 'capabilities.json'))
    const out = mkdtempSync(join(tmpdir(), 'airlock-build-'))
    await buildPolicy(src, out)
    const gw = await startTestGateway(testConfig({ policy: { dir: out, watch: false }, routes: routes() }))
    try {
      const res = await get(gw.url)
      expect(res.status).toBe(500)
      expect((await res.json()).error.code).toBe('AIRLOCK_POLICY_UNDEFINED')
    } finally {
      await gw.close()
    }
  })

  it('refuses with 503 when no policy has loaded', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'airlock-none-'))
    const gw = await startTestGateway(testConfig({ policy: { dir: empty, watch: false }, routes: routes() }))
    try {
      expect((await fetch(`${gw.url}/readyz`)).status).toBe(503)
      const res = await get(gw.url)
      expect(res.status).toBe(503)
      expect((await res.json()).error.code).toBe('AIRLOCK_POLICY_NOT_LOADED')
    } finally {
      await gw.close()
    }
  })
})

describe('hot reload', () => {
  it('swaps in a new build, rejects a broken one and keeps serving the last good policy', async () => {
    const out = mkdtempSync(join(tmpdir(), 'airlock-build-'))
    const allow = await buildPolicy(policySource({ 't.rego': ALLOW_ALL }), out)
    const gw = await startTestGateway(testConfig({ policy: { dir: out, watch: true }, routes: routes() }))
    const waitFor = async (pred: () => boolean) => {
      for (let i = 0; i < 100 && !pred(); i++) await new Promise((r) => setTimeout(r, 50))
      expect(pred()).toBe(true)
    }
    try {
      expect((await get(gw.url)).status).toBe(200)

      const deny = await buildPolicy(policySource({ 't.rego': DENY_ALL }), out)
      await waitFor(() => gw.policy.current()?.revision === deny.revision)
      expect((await get(gw.url)).status).toBe(403)
      expect(deny.revision).not.toBe(allow.revision)

      // A corrupt wasm whose manifest matches it: it must fail to load and be rejected.
      const junk = Buffer.from('definitely not wasm')
      const data = readFileSync(join(out, 'data.json'))
      writeFileSync(join(out, 'policy.wasm'), junk)
      writeFileSync(join(out, 'manifest.json'), JSON.stringify({ revision: policyRevision(junk, data) }))
      await waitFor(() => gw.logs.some((l) => l.event === 'policy_rejected' && /failed to load/.test(l.error)))
      expect(gw.policy.current()?.revision).toBe(deny.revision)
      const res = await get(gw.url)
      expect(res.status).toBe(403)
      expect((await res.json()).error.rule).toBe('t.none')
    } finally {
      await gw.close()
    }
  })
})
