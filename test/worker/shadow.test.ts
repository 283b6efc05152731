// policy.shadow on Workers: the bundled shadow policy's decision is in the decision line, and neither its refusals
// nor its errors change what the agent gets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import shadowManifest from '../../build/worker-test/shadow/manifest.json' with { type: 'json' }
import { keys } from './fixtures.ts'
import { captureLogs, gateway, received } from './helpers.ts'

let logs: ReturnType<typeof captureLogs>
beforeAll(() => {
  logs = captureLogs()
})
afterAll(() => logs.restore())

const decision = (id: string | null) => logs.lines.find((l) => l.msg === 'decision' && l.decision_id === id)

describe('shadow policy on Workers', () => {
  it('records a shadow deny for a read the enforced policy allows, and forwards it anyway', async () => {
    const marker = crypto.randomUUID()
    const res = await gateway(`/api/shadowed?marker=${marker}`, { headers: { 'airlock-agent-key': keys.billing } })
    expect(res.status).toBe(200)
    expect((await received('upstream.test')).filter((r) => r.url.includes(marker))).toHaveLength(1)
    const line = decision(res.headers.get('airlock-decision-id'))!
    expect(line.action).toBe('allow')
    expect(line.shadow).toMatchObject({ action: 'deny', rule: 's.no_reads', revision: shadowManifest.revision })
    expect(line.shadow.eval_us).toBeGreaterThanOrEqual(0)
  })

  it('records a shadow policy that throws as an error, and the enforced decision stands', async () => {
    const res = await gateway('/api/things/1', { method: 'DELETE', headers: { 'airlock-agent-key': keys.billing } })
    expect(res.status).toBe(403)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('AIRLOCK_DENIED')
    const line = decision(res.headers.get('airlock-decision-id'))!
    expect(line.rule).toBe('t.delete')
    expect(line.shadow).toMatchObject({ action: 'error', rule: 'AIRLOCK_POLICY_ERROR' })
  })
})
