// The Worker's HoldGate on its own, with a fake holds object: what it caches, which failures it calls again, and
// that a failed review sample never turns a forwarded request into an error.
import { describe, expect, it } from 'vitest'
import { AirlockError } from '../../gateway/core/errors.ts'
import type { HeldRequest } from '../../gateway/core/pipeline/request.ts'
import { silentLogger } from '../../gateway/core/ports.ts'
import { createDurableHoldGate, isRetryable, PENDING_TTL_MS } from '../../gateway/worker/hold-gate.ts'
import type { HoldsApi } from '../../gateway/worker/holds-object.ts'

const failure = (message: string, flags: Partial<DurableObjectError>) => Object.assign(new Error(message), flags)

function fakeHolds(api: Partial<HoldsApi>) {
  const calls: string[] = []
  const stub = new Proxy({} as Record<string, unknown>, {
    get:
      (_, name: string) =>
      (...args: unknown[]) => {
        calls.push(name)
        const fn = (api as Record<string, (...a: unknown[]) => unknown>)[name]
        if (!fn) throw new Error(`unexpected call ${name}`)
        return Promise.resolve().then(() => fn(...args))
      },
  })
  const namespace = { idFromName: () => ({}), get: () => stub } as unknown as DurableObjectNamespace<HoldsApi>
  return { namespace, calls }
}

function gate(api: Partial<HoldsApi>, now = { t: 1_000_000 }) {
  const holds = fakeHolds(api)
  const g = createDurableHoldGate({
    namespace: holds.namespace,
    logger: silentLogger,
    clock: { now: () => now.t },
    sleep: async () => {},
  })
  return { gate: g, calls: holds.calls, now }
}

const held = {
  decisionId: 'd1',
  route: { name: 'api' },
  agent: { id: 'a', owner: 'o', labels: {} },
  method: 'POST',
  upstreamUrl: new URL('https://upstream.test/x'),
  headers: new Headers({ 'content-type': 'application/json' }),
  body: new Uint8Array([1]),
  bodySha256: 'f'.repeat(64),
  input: {},
  decision: {},
  revision: 'r',
  prefer: null,
} as unknown as HeldRequest

const submitted = { ok: true as const, value: { holdId: 'h1', waitMs: 5000, respondAsync: false } }

describe('Worker HoldGate', () => {
  it('reads pending counts from the object at most once per TTL, and again after a hold is submitted', async () => {
    const {
      gate: g,
      calls,
      now,
    } = gate({
      pendingCounts: async () => ({ ops: 2 }),
      submit: async () => submitted,
      settle: async () => new Response('ok'),
    })
    expect(await g.pendingCounts()).toEqual({ ops: 2 })
    now.t += PENDING_TTL_MS - 1
    await g.pendingCounts()
    expect(calls.filter((c) => c === 'pendingCounts')).toHaveLength(1)
    now.t += 1
    await g.pendingCounts()
    expect(calls.filter((c) => c === 'pendingCounts')).toHaveLength(2)
    await g.hold(held, new AbortController().signal)
    await g.pendingCounts()
    expect(calls.filter((c) => c === 'pendingCounts')).toHaveLength(3)
  })

  it('calls settle again after a reset, with the time left, and answers from the second call', async () => {
    const waits: number[] = []
    const now = { t: 1_000_000 }
    const { gate: g } = gate(
      {
        submit: async () => submitted,
        settle: async (_id, waitMs) => {
          waits.push(waitMs)
          if (waits.length === 1) {
            now.t += 2000 // the object was reset 2 s into the wait
            throw failure('Durable Object reset because its code was updated.', { durableObjectReset: true })
          }
          return new Response('executed', { status: 200 })
        },
      },
      now,
    )
    const out = await g.hold(held, new AbortController().signal)
    expect(out.holdId).toBe('h1')
    expect(await out.response.text()).toBe('executed')
    expect(waits).toEqual([5000, 3000])
  })

  it('passes on a refusal from the object as the same AirlockError (e.g. an approver group at capacity)', async () => {
    const { gate: g } = gate({
      submit: async () => ({
        ok: false,
        error: { code: 'AIRLOCK_HOLD_CAPACITY', message: 'full', details: { group: 'ops' } },
      }),
    })
    const err = await g.hold(held, new AbortController().signal).catch((e) => e)
    expect(err).toBeInstanceOf(AirlockError)
    expect(err).toMatchObject({ code: 'AIRLOCK_HOLD_CAPACITY', status: 503, details: { group: 'ops' } })
  })

  it('does not retry an overloaded object or an error thrown by its own code: 503 AIRLOCK_STORE_ERROR', async () => {
    for (const e of [failure('overloaded', { retryable: true, overloaded: true }), failure('bug', { remote: true })]) {
      const { gate: g, calls } = gate({
        pendingCounts: async () => {
          throw e
        },
      })
      const err = await g.pendingCounts().catch((x) => x)
      expect(err).toMatchObject({ code: 'AIRLOCK_STORE_ERROR', status: 503 })
      expect(calls).toHaveLength(1)
    }
  })

  it('a failed review sample is logged, not thrown: the request was already forwarded', async () => {
    const { gate: g } = gate({
      review: async () => {
        throw failure('Network connection lost.', { retryable: true })
      },
    })
    expect(await g.review(held, 200)).toBe(false)
  })

  it('classifies errors', () => {
    expect(isRetryable(failure('x', { durableObjectReset: true }))).toBe(true)
    expect(isRetryable(failure('x', { retryable: true }))).toBe(true)
    expect(isRetryable(failure('x', { retryable: true, overloaded: true }))).toBe(false)
    expect(isRetryable(new Error('x'))).toBe(false)
    expect(isRetryable(undefined)).toBe(false)
  })
})
