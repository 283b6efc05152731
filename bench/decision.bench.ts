// The price of one policy decision, in process: the gateway's own decision stage, `decide()`, imported directly
// (undici's lesson: micro-benchmarks import internals). One decision = buildInput (URL, header redaction, JSON body
// parse) + evaluate (opa-wasm: stringify the input, copy it into wasm memory, evaluate, read the result back) +
// toDecision (validate the result); decide() times each step. Each iteration is timed on its own, so p99 includes
// GC pauses.
//
//   node bench/decision.bench.ts <example policy dir> <1,000-rule policy dir>     (prints JSON)

import type { RouteConfig } from '../gateway/core/config/schema.ts'
import { decide } from '../gateway/core/pipeline/decide.ts'
import type { PolicyEvaluator } from '../gateway/core/ports.ts'
import { loadPolicyDir } from '../gateway/node/policy-files.ts'
import { percentile } from './loadgen.ts'

export interface DecisionCase {
  policy: 'example' | '1,000 rules'
  request: string
  body_bytes: number
  iterations: number
  action: string
  median_us: number
  p99_us: number
  /** Medians of the three stages, for where the time goes. */
  input_us: number
  evaluate_us: number
  validate_us: number
}

const route = { name: 'httpbin', upstream: 'https://httpbin.org', allow_private: false } as RouteConfig
const agent = { id: 'bench-bot', owner: 'bench@example.com', labels: { team: 'bench' } }

/** A JSON body of about `bytes` bytes: a Stripe-like object, then line items until it is big enough. */
export function jsonBody(bytes: number): Uint8Array {
  const body: Record<string, unknown> = {
    amount: 125000,
    currency: 'usd',
    customer: 'cus_NbenchAirlock01',
    description: 'Invoice 2026-11 for consulting services',
    metadata: { order_id: '6735', source: 'billing-bot', team: 'payments' },
    items: [] as unknown[],
  }
  const items = body.items as unknown[]
  for (let i = 0; JSON.stringify(body).length < bytes - 120; i++) {
    items.push({ sku: `sku_${i}`, qty: (i % 7) + 1, unit_amount: 1000 + i, name: `Line item ${i}` })
  }
  let text = JSON.stringify(body)
  body.note = 'x'.repeat(Math.max(0, bytes - text.length - 10))
  text = JSON.stringify(body)
  return new TextEncoder().encode(text)
}

function headers(contentType?: string): Headers {
  const h = new Headers({
    'airlock-agent-key': 'bench-agent-key',
    accept: 'application/json',
    'user-agent': 'bench-agent/1.0 (node)',
    'x-request-id': 'req_0123456789abcdef',
  })
  if (contentType) h.set('content-type', contentType)
  return h
}

function bench(
  policy: PolicyEvaluator,
  name: DecisionCase['policy'],
  method: string,
  path: string,
  body: Uint8Array | null,
  iterations: number,
): DecisionCase {
  const upstreamUrl = new URL(`https://httpbin.org${path}`)
  const h = headers(body ? 'application/json' : undefined)
  const defaults = { timeout_s: 900, sample_rate: 0.1 }
  const total = new Float64Array(iterations)
  const stages = [new Float64Array(iterations), new Float64Array(iterations), new Float64Array(iterations)]
  const warmup = Math.max(200, iterations / 10)
  let action = ''
  for (let i = -warmup; i < iterations; i++) {
    const t0 = performance.now()
    const parts = {
      method,
      upstreamUrl,
      headers: h,
      body,
      bodySha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      agent,
      route,
      nowMs: Date.now(),
      pendingHolds: {},
    }
    const decided = decide(policy, { parts }, { defaults })
    const t1 = performance.now()
    if (!decided.ok) throw decided.error
    if (i >= 0) {
      total[i] = (t1 - t0) * 1000
      stages[0]![i] = decided.timing.input_us
      stages[1]![i] = decided.timing.eval_us
      stages[2]![i] = decided.timing.validate_us
    }
    action = decided.decision.action
  }
  const median = (a: Float64Array) => round(percentile(a.sort(), 50))
  total.sort()
  return {
    policy: name,
    request: `${method} ${path}`,
    body_bytes: body?.byteLength ?? 0,
    iterations,
    action,
    median_us: round(percentile(total, 50)),
    p99_us: round(percentile(total, 99)),
    input_us: median(stages[0]!),
    evaluate_us: median(stages[1]!),
    validate_us: median(stages[2]!),
  }
}

const round = (x: number) => Math.round(x * 10) / 10

/** Runs every case; `scale` shrinks the iteration counts (the smoke run uses 0.01). */
export async function decisionBench(exampleDir: string, largeDir: string, scale = 1): Promise<DecisionCase[]> {
  const example = await loadPolicyDir(exampleDir)
  const large = await loadPolicyDir(largeDir)
  const small = jsonBody(1024)
  const big = jsonBody(64 * 1024)
  const n = (k: number) => Math.max(50, Math.round(k * scale))
  return [
    bench(example, 'example', 'GET', '/anything/bench', null, n(50_000)),
    bench(example, 'example', 'POST', '/anything/review', small, n(50_000)),
    bench(example, 'example', 'POST', '/anything/review', big, n(5_000)),
    bench(large, '1,000 rules', 'GET', '/anything/bench', null, n(20_000)),
    bench(large, '1,000 rules', 'POST', '/anything/review', small, n(20_000)),
  ]
}

if (import.meta.main) {
  const [exampleDir, largeDir, scale] = process.argv.slice(2)
  if (!exampleDir || !largeDir)
    throw new Error('usage: decision.bench.ts <example policy dir> <1,000-rule policy dir> [scale]')
  decisionBench(exampleDir, largeDir, scale ? Number(scale) : 1).then(
    (r) => process.stdout.write(JSON.stringify(r) + '\n'),
    (err: Error) => {
      process.stderr.write(`decision bench: ${err.stack ?? err.message}\n`)
      process.exitCode = 1
    },
  )
}
