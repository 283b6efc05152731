// The one answer an agent gets for its hold (answers.ts), whichever runtime or route gives it: the pipeline's hold
// stage on Node, the Durable Object's settle on Workers, and the poll endpoint.
import { describe, expect, it } from 'vitest'
import { configSchema } from '../../gateway/core/config/schema.ts'
import { agentWait, answerAgent } from '../../gateway/core/holds/answers.ts'
import type { Hold, HoldState } from '../../gateway/core/holds/types.ts'

const holds = configSchema.parse({ routes: [], agents: [] }).holds

function hold(state: HoldState, over: Partial<Hold> = {}): Hold {
  return {
    id: 'h1',
    state,
    created_at: 0,
    updated_at: 0,
    expires_at: 900_000,
    decided_at: null,
    dedupe_key: 'k',
    agent: { id: 'billing-bot', owner: 'alice@example.com' },
    route: 'stripe',
    method: 'POST',
    url: 'https://api.stripe.com/v1/refunds',
    headers: [],
    body: null,
    body_sha256: '0'.repeat(64),
    intent: null,
    decision: {
      action: 'hold',
      reason: 'money moves',
      rule: 'stripe.refund',
      risk: 'high',
      summary: 'Refund',
      approvers: ['payments'],
      approvals_required: 1,
      require_comment: false,
      timeout_s: 900,
      sample_rate: 0,
    },
    decision_id: 'd-created',
    policy_revision: 'r',
    groups: ['payments'],
    approvals: [],
    views: [],
    denial: null,
    response: null,
    error: null,
    ...over,
  } as Hold
}

describe('agentWait', () => {
  it('waits the configured default, what the agent asks within the maximum, or not at all for respond-async', () => {
    expect(agentWait(null, holds)).toEqual({ waitMs: holds.wait_s * 1000, respondAsync: false })
    expect(agentWait('wait=1', holds)).toEqual({ waitMs: 1000, respondAsync: false })
    expect(agentWait(`wait=${holds.max_wait_s + 100}`, holds)).toEqual({
      waitMs: holds.max_wait_s * 1000,
      respondAsync: false,
    })
    expect(agentWait('respond-async, wait=5', holds)).toEqual({ waitMs: 0, respondAsync: true })
  })
})

describe('answerAgent', () => {
  it('answers an open hold 202 with where to poll when the agent asked not to wait', async () => {
    for (const state of ['pending', 'approved', 'executing'] as const) {
      const res = answerAgent(hold(state), { respondAsync: true, retryAfterS: 5, decisionId: 'd-retry' })
      expect(res.status).toBe(202)
      expect(res.headers.get('location')).toBe('/_airlock/holds/h1')
      expect(res.headers.get('airlock-decision-id')).toBe('d-retry')
    }
  })

  it('answers an open hold "pending, not executed" when the agent waited, with the hold decision id by default', async () => {
    const res = answerAgent(hold('pending'), { respondAsync: false, retryAfterS: 5 })
    expect(res.status).toBe(409)
    expect(res.headers.get('airlock-error-code')).toBe('AIRLOCK_HOLD_PENDING')
    expect(res.headers.get('retry-after')).toBe('5')
    expect(res.headers.get('airlock-decision-id')).toBe('d-created')
  })

  it('answers a settled hold by its state, whether or not the agent asked to wait', async () => {
    const executed = hold('executed', {
      response: {
        status: 201,
        headers: [['content-type', 'application/json']],
        body: new TextEncoder().encode('{"id":"re_1"}'),
        truncated: false,
      },
    })
    for (const respondAsync of [true, false]) {
      const res = answerAgent(executed, { respondAsync, retryAfterS: 5 })
      expect(res.status).toBe(201)
      expect(await res.text()).toBe('{"id":"re_1"}')
      expect(answerAgent(hold('denied'), { respondAsync, retryAfterS: 5 }).headers.get('airlock-error-code')).toBe(
        'AIRLOCK_HOLD_DENIED',
      )
      expect(answerAgent(hold('expired'), { respondAsync, retryAfterS: 5 }).headers.get('airlock-error-code')).toBe(
        'AIRLOCK_HOLD_EXPIRED',
      )
      expect(
        answerAgent(hold('outcome_unknown'), { respondAsync, retryAfterS: 5 }).headers.get('airlock-error-code'),
      ).toBe('AIRLOCK_HOLD_OUTCOME_UNKNOWN')
    }
  })
})
