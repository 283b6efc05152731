// The deployed entry (gateway/worker/index.ts) with what `npm run build:worker` bundles by default:
// config/airlock.yaml and the example policies. Only what needs no holds object of its own: the test runtime binds HOLDS to the tests' class.

import { createExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import manifest from '../../build/worker/policy/manifest.json' with { type: 'json' }
import worker from '../../gateway/worker/index.ts'
import { captureLogs } from './helpers.ts'

let logs: ReturnType<typeof captureLogs>
beforeAll(() => {
  logs = captureLogs()
})
afterAll(() => logs.restore())

const call = (path: string, init: RequestInit = {}) =>
  worker.fetch(new Request(`https://airlock.test${path}`, init), env, createExecutionContext())
const demoKey = { 'airlock-agent-key': 'demo-dev-bot-key' } // published in the README, stored as a digest in the config

describe('the deployed entry with the example config and policies', () => {
  it('serves the bundled example policy', async () => {
    const res = await call('/readyz')
    expect(await res.json()).toEqual({ status: 'ready', policy_revision: manifest.revision })
    expect(logs.lines.find((l) => l.event === 'policy_loaded')).toMatchObject({
      level: 'info',
      revision: manifest.revision,
    })
  })

  it('denies deleting a GitHub repository (github.repo_delete) without reaching GitHub', async () => {
    const res = await call('/github/repos/acme/widgets', { method: 'DELETE', headers: demoKey })
    expect(res.status).toBe(403)
    expect((await res.json()).error).toMatchObject({ code: 'AIRLOCK_DENIED', rule: 'github.repo_delete' })
  })

  it('refuses an unknown agent key', async () => {
    const res = await call('/github/user', { headers: { 'airlock-agent-key': 'not-a-key' } })
    expect(res.status).toBe(401)
  })
})
