// Decision validation: undefined, ambiguous or malformed results are errors, and errors deny.
import { describe, expect, it } from 'vitest'
import { toDecision } from '../../gateway/core/policy/decision.ts'

const defaults = { timeout_s: 900, sample_rate: 0.1 }
const one = (result: unknown) => [{ result }]

describe('toDecision', () => {
  it('fills defaults by action', () => {
    expect(
      toDecision(one({ action: 'hold', reason: 'r', rule: 'x', approvers: ['ops'] }), defaults, 'POST h/p'),
    ).toEqual({
      action: 'hold',
      reason: 'r',
      rule: 'x',
      risk: 'high',
      summary: 'POST h/p',
      approvers: ['ops'],
      approvals_required: 1,
      require_comment: false,
      timeout_s: 900,
      sample_rate: 0.1,
    })
    expect(toDecision(one({ action: 'allow', reason: 'r' }), defaults, 's')).toMatchObject({
      risk: 'low',
      rule: 'unnamed',
    })
  })

  it.each([
    ['undefined (empty result set)', [], 'AIRLOCK_POLICY_UNDEFINED'],
    ['not a result set', { result: 1 }, 'AIRLOCK_POLICY_UNDEFINED'],
    ['more than one result', [{ result: {} }, { result: {} }], 'AIRLOCK_POLICY_MALFORMED'],
    ['unknown action', one({ action: 'maybe', reason: 'r' }), 'AIRLOCK_POLICY_MALFORMED'],
    ['missing reason', one({ action: 'allow' }), 'AIRLOCK_POLICY_MALFORMED'],
    ['result not an object', one('allow'), 'AIRLOCK_POLICY_MALFORMED'],
    ['bad sample rate', one({ action: 'review', reason: 'r', sample_rate: 2 }), 'AIRLOCK_POLICY_MALFORMED'],
  ])('%s → %s', (_name, rs, code) => {
    expect(() => toDecision(rs, defaults, 's')).toThrow(expect.objectContaining({ code, status: 500 }))
  })
})
