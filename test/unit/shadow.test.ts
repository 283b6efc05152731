// The shadow policy records what a second compiled policy would decide and can never affect the request: not by its
// decision, not by throwing, not by a malformed result.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import type { PolicyInput } from '../../gateway/core/pipeline/request.ts'
import { createShadow } from '../../gateway/core/policy/shadow.ts'
import type { PolicyEvaluator } from '../../gateway/core/ports.ts'
import { loadPolicyDir } from '../../gateway/node/policy-files.ts'
import { buildPolicy } from '../../gateway/node/toolchain/build.ts'
import { policySource } from '../support/gateway.ts'

const defaults = { timeout_s: 900, sample_rate: 0.1 }
const input = (method: string, path = '/x'): PolicyInput => ({
  request: {
    method,
    url: `https://api.example.com${path}`,
    scheme: 'https',
    host: 'api.example.com',
    port: 443,
    path,
    parsed_path: path.split('/').filter(Boolean),
    query: {},
    headers: {},
    body: null,
    body_media_type: null,
    body_parse_error: null,
    body_size: 0,
    body_sha256: '',
  },
  route: { name: 'api', upstream: 'https://api.example.com' },
  agent: { id: 'a', owner: 'o', labels: {} },
  intent: null,
  gateway: { now: new Date(0).toISOString(), now_ns: 0, pending_holds: {} },
})

let strict: PolicyEvaluator
let throwing: PolicyEvaluator

beforeAll(async () => {
  const build = async (rules: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'airlock-shadow-'))
    await buildPolicy(policySource({ 'shadow.rego': rules }), dir)
    return loadPolicyDir(dir)
  }
  ;[strict, throwing] = await Promise.all([
    build(`package airlock.rules.shadowtest
hold contains {"rule": "s.post", "reason": "posts wait", "approvers": ["ops"]} if input.request.method == "POST"
allow contains {"rule": "s.read", "reason": "reads"} if input.request.method == "GET"
`),
    // sprintf %v of null throws inside the SDK: a policy that fails at evaluation, as a broken shadow would.
    build(`package airlock.rules.shadowtest
allow contains {"rule": "s.boom", "reason": sprintf("%v", [input.request.body])} if true
`),
  ])
}, 60_000)

const source = (p: PolicyEvaluator | undefined) => ({ current: () => p })

describe('shadow policy', () => {
  it('records the action, rule, revision and cost of the shadow decision', () => {
    const seen: [string, string][] = []
    const shadow = createShadow({
      policy: source(strict),
      sampleRate: 1,
      defaults,
      observe: (e, s) => seen.push([e, s]),
    })
    const out = shadow.run(input('POST'), 'allow')
    expect(out).toMatchObject({ action: 'hold', rule: 's.post', revision: strict.revision })
    expect(out!.eval_us).toBeGreaterThanOrEqual(0)
    expect(shadow.run(input('GET'), 'allow')).toMatchObject({ action: 'allow', rule: 's.read' })
    expect(shadow.run(input('PUT'), 'allow')).toMatchObject({ action: 'deny', rule: 'airlock.default_deny' })
    expect(seen).toEqual([
      ['allow', 'hold'],
      ['allow', 'allow'],
      ['allow', 'deny'],
    ])
  })

  it('turns a shadow policy that throws into a recorded error, never an exception', () => {
    const shadow = createShadow({ policy: source(throwing), sampleRate: 1, defaults })
    const out = shadow.run(input('GET'), 'allow')
    expect(out).toMatchObject({ action: 'error', rule: 'AIRLOCK_POLICY_ERROR', revision: throwing.revision })
    expect(out!.error).toMatch(/shadow policy evaluation failed/)
    const malformed = createShadow({
      policy: source({ revision: 'r', evaluate: () => [{ result: { action: 'maybe' } }] }),
      sampleRate: 1,
      defaults,
    })
    expect(malformed.run(input('GET'), 'allow')).toMatchObject({ action: 'error', rule: 'AIRLOCK_POLICY_MALFORMED' })
    const js = createShadow({
      policy: source({
        revision: 'r',
        evaluate: () => {
          throw new TypeError('boom')
        },
      }),
      sampleRate: 1,
      defaults,
      observe: () => {
        throw new Error('observer broke')
      },
    })
    expect(() => js.run(input('GET'), 'allow')).not.toThrow()
  })

  it('samples, and does nothing until a shadow policy has loaded', () => {
    let i = 0
    const coin = () => [0.1, 0.9][i++ % 2]!
    const half = createShadow({ policy: source(strict), sampleRate: 0.5, defaults, random: coin })
    expect([1, 2, 3, 4].map(() => half.run(input('GET'), 'allow')?.action)).toEqual([
      'allow',
      undefined,
      'allow',
      undefined,
    ])
    expect(
      createShadow({ policy: source(undefined), sampleRate: 1, defaults }).run(input('GET'), 'allow'),
    ).toBeUndefined()
  })
})
