// The decision stage as every caller uses it (the gateway, `airlock policy eval`, the decision benchmark): input →
// evaluate → validate, with its timing and log fields, and failures returned (never thrown) so that the log of a
// refused request still says how long the policy ran.
import { beforeAll, describe, expect, it } from 'vitest'
import { routeSchema } from '../../gateway/core/config/schema.ts'
import { decide } from '../../gateway/core/pipeline/decide.ts'
import { buildInput, type InputParts } from '../../gateway/core/pipeline/input.ts'
import type { PolicyEvaluator } from '../../gateway/core/ports.ts'
import { loadPolicyDir } from '../../gateway/node/policy-files.ts'
import { COMPILED_POLICY } from '../support/gateway.ts'

const defaults = { timeout_s: 900, sample_rate: 0.25 }

function parts(method: string, path: string): InputParts {
  return {
    method,
    upstreamUrl: new URL(path, 'https://httpbin.org'),
    headers: new Headers({ 'airlock-intent': 'testing decide' }),
    body: null,
    bodySha256: '0'.repeat(64),
    agent: { id: 'billing-bot', owner: 'alice@example.com', labels: {} },
    route: routeSchema.parse({ name: 'httpbin', prefix: '/httpbin', upstream: 'https://httpbin.org' }),
    nowMs: Date.UTC(2026, 10, 23, 12),
    pendingHolds: {},
  }
}

let policy: PolicyEvaluator
beforeAll(async () => {
  policy = await loadPolicyDir(COMPILED_POLICY)
})

describe('decide()', () => {
  it('decides a request from its parts with the compiled policy, timing each step', () => {
    const d = decide(policy, { parts: parts('GET', '/get') }, { defaults })
    if (!d.ok) throw d.error
    expect(d.decision.action).toBe('allow')
    expect(d.input.intent).toBe('testing decide')
    expect(d.timing.input_us).toBeGreaterThan(0)
    expect(d.timing.eval_us).toBeGreaterThan(0)
    expect(d.timing.validate_us).toBeGreaterThan(0)
    expect(d.log).toMatchObject({
      action: 'allow',
      rule: d.decision.rule,
      reason: d.decision.reason,
      risk: d.decision.risk,
      result: d.decision,
    })
    expect(d.log.metrics!.timer_rego_query_eval_ns).toBeGreaterThan(0)
    expect(d.log.input).toBeUndefined()
  })

  it('decides a ready input the same way (policy eval, replay), and logs the input only when asked', () => {
    const input = buildInput(parts('GET', '/get'))
    const fromParts = decide(policy, { parts: parts('GET', '/get') }, { defaults })
    const fromInput = decide(policy, { input }, { defaults, logInput: true })
    if (!fromParts.ok || !fromInput.ok) throw new Error('expected decisions')
    expect(fromInput.decision).toEqual(fromParts.decision)
    expect(fromInput.timing.input_us).toBe(0)
    expect(fromInput.log.input).toBe(input)
  })

  it('returns a policy that throws as AIRLOCK_POLICY_ERROR, with the evaluation time still in the log fields', () => {
    const throwing: PolicyEvaluator = {
      revision: 'r',
      evaluate() {
        throw 'wasm memory exhausted'
      },
    }
    const d = decide(throwing, { parts: parts('GET', '/get') }, { defaults, logInput: true })
    expect(d.ok).toBe(false)
    if (d.ok) return
    expect(d.error.code).toBe('AIRLOCK_POLICY_ERROR')
    expect(d.error.message).toContain('wasm memory exhausted')
    expect(d.log.metrics!.timer_rego_query_eval_ns).toBeGreaterThanOrEqual(0)
    expect(d.log.input).toBeDefined()
    expect(d.log.action).toBeUndefined()
  })

  it('returns an undefined decision as AIRLOCK_POLICY_UNDEFINED (errors deny)', () => {
    const d = decide({ revision: 'r', evaluate: () => [] }, { parts: parts('GET', '/get') }, { defaults })
    expect(d.ok ? 'decided' : d.error.code).toBe('AIRLOCK_POLICY_UNDEFINED')
  })

  it('returns a body the input cannot parse as AIRLOCK_BODY_MALFORMED, before any evaluation', () => {
    let evaluated = false
    const p = {
      ...parts('POST', '/post'),
      headers: new Headers({ 'content-type': 'application/json' }),
      body: new TextEncoder().encode('{nope'),
    }
    const evaluate = () => {
      evaluated = true
      return []
    }
    const d = decide({ revision: 'r', evaluate }, { parts: p }, { defaults })
    expect(d.ok ? 'decided' : d.error.code).toBe('AIRLOCK_BODY_MALFORMED')
    expect(evaluated).toBe(false)
    expect(d.input).toBeUndefined()
  })
})
