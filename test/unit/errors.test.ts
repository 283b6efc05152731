// Refusals are expected outcomes and carry no stack (they are answered on the hot deny path); failures keep theirs.
import { expect, it } from 'vitest'
import { AirlockError, errorResponse } from '../../gateway/core/errors.ts'

it('captures no stack for a refusal, and keeps one for a failure', () => {
  const denied = new AirlockError('AIRLOCK_DENIED', 'no rule allows this request', { rule: 'r' })
  expect(denied.stack).not.toMatch(/\n\s+at /)
  expect(denied.code).toBe('AIRLOCK_DENIED')
  expect(denied.status).toBe(403)
  expect(denied).toBeInstanceOf(Error)
  const internal = new AirlockError('AIRLOCK_INTERNAL', 'boom')
  expect(internal.stack).toMatch(/\n\s+at /)
  // The limit is restored: ordinary errors still have stacks.
  expect(new Error('x').stack).toMatch(/\n\s+at /)
})

it('answers a refusal exactly as before', async () => {
  const res = errorResponse(new AirlockError('AIRLOCK_DENIED', 'no', { rule: 'r', action: 'deny' }), 'd1')
  expect(res.status).toBe(403)
  expect(res.headers.get('airlock-error-code')).toBe('AIRLOCK_DENIED')
  expect(await res.json()).toEqual({
    error: { code: 'AIRLOCK_DENIED', message: 'no', rule: 'r', action: 'deny', decision_id: 'd1' },
  })
})
