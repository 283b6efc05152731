// The example policies as the gateway runs them (compiled wasm, host built-ins, the gateway's own input builder)
// must decide exactly as OPA's evaluator does in `opa test`/`opa eval`: wasm has its own built-in implementations and
// no rule indexing, so agreement is checked, not assumed. The table also pins what the examples decide.
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { routeSchema } from '../../gateway/core/config/schema.ts'
import { buildInput } from '../../gateway/core/pipeline/input.ts'
import type { PolicyInput } from '../../gateway/core/pipeline/request.ts'
import type { PolicyEvaluator } from '../../gateway/core/ports.ts'
import { loadPolicyDir } from '../../gateway/node/policy-files.ts'
import { findOpa, repoRoot } from '../../gateway/node/toolchain/opa.ts'
import { COMPILED_POLICY } from '../support/gateway.ts'

const upstreams: Record<string, string> = {
  stripe: 'https://api.stripe.com',
  github: 'https://api.github.com',
  slack: 'https://slack.com',
  mail: 'https://api.sendgrid.com',
  httpbin: 'https://httpbin.org',
  unknown: 'https://internal.example.com',
}

function input(
  route: string,
  method: string,
  path: string,
  body?: object | string,
  pendingHolds: Record<string, number> = {},
): PolicyInput {
  const form = typeof body === 'string'
  const bytes = body === undefined ? null : new TextEncoder().encode(form ? body : JSON.stringify(body))
  return buildInput({
    method,
    upstreamUrl: new URL(path, upstreams[route]),
    headers: new Headers(
      bytes ? { 'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json' } : {},
    ),
    body: bytes,
    bodySha256: '0'.repeat(64),
    agent: { id: 'billing-bot', owner: 'alice@example.com', labels: {} },
    route: routeSchema.parse({ name: route, prefix: `/${route}`, upstream: upstreams[route] }),
    nowMs: Date.UTC(2026, 10, 23, 12),
    pendingHolds,
  })
}

const cases: [string, PolicyInput, string, string][] = [
  ['stripe read', input('stripe', 'GET', '/v1/charges/ch_1'), 'allow', 'stripe.read'],
  [
    'stripe large refund',
    input('stripe', 'POST', '/v1/refunds', 'charge=ch_1&amount=123456&currency=usd'),
    'hold',
    'stripe.refund_large',
  ],
  ['stripe small refund', input('stripe', 'POST', '/v1/refunds', 'charge=ch_1&amount=500&currency=usd'), 'review', ''],
  ['stripe refund without amount', input('stripe', 'POST', '/v1/refunds', 'charge=ch_1'), 'hold', ''],
  ['stripe delete customer', input('stripe', 'DELETE', '/v1/customers/cus_1'), 'hold', ''],
  [
    'stripe queue full',
    input('stripe', 'POST', '/v1/refunds', 'charge=ch_1&amount=123456', { payments: 25 }),
    'deny',
    'stripe.approval_queue_full',
  ],
  ['github read', input('github', 'GET', '/repos/acme/web/pulls'), 'allow', ''],
  ['github merge', input('github', 'PUT', '/repos/acme/web/pulls/7/merge', {}), 'hold', ''],
  ['github delete repo', input('github', 'DELETE', '/repos/acme/web'), 'deny', ''],
  [
    'slack external post',
    input('slack', 'POST', '/api/chat.postMessage', { channel: 'C0CUSTOMER', text: 'hi' }),
    'review',
    '',
  ],
  [
    'mail to many',
    input('mail', 'POST', '/v3/mail/send', {
      personalizations: [{ to: Array.from({ length: 30 }, (_, i) => ({ email: `u${i}@x.com` })) }],
      subject: 's',
    }),
    'hold',
    '',
  ],
  ['unknown route', input('unknown', 'GET', '/x'), 'deny', 'catchall.unknown_route'],
  ['demo hold', input('httpbin', 'POST', '/anything/hold', { a: 1 }), 'hold', 'demo.hold'],
  ['nothing matched', input('httpbin', 'PATCH', '/anything'), 'deny', 'airlock.default_deny'],
]

let wasm: PolicyEvaluator
let opaDecisions: unknown[]

beforeAll(async () => {
  wasm = await loadPolicyDir(COMPILED_POLICY)
  // One `opa eval` for all cases (OPA's Go evaluator, the one `opa test` uses).
  const query = `d := [r | some x in input.cases; r := data.airlock.decision with input as x]`
  const out = execFileSync(
    findOpa(),
    [
      'eval',
      '-f',
      'json',
      '--stdin-input',
      '-d',
      join(repoRoot, 'policies'),
      '--ignore',
      '*_test.rego',
      '--ignore',
      'capabilities.json',
      query,
    ],
    {
      input: JSON.stringify({ cases: cases.map((c) => c[1]) }),
      maxBuffer: 16 * 1024 * 1024,
    },
  )
  opaDecisions = JSON.parse(out.toString()).result[0].bindings.d
})

describe('example policies: compiled wasm agrees with OPA', () => {
  it.each(cases.map((c, i) => [c[0], i] as const))('%s', (_name, i) => {
    const [, inp, action, rule] = cases[i]!
    const rs = wasm.evaluate(inp) as { result: { action: string; rule: string } }[]
    expect(rs).toHaveLength(1)
    expect(rs[0]!.result).toEqual(opaDecisions[i])
    expect(rs[0]!.result.action).toBe(action)
    if (rule) expect(rs[0]!.result.rule).toBe(rule)
  })
})
