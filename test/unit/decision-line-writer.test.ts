// The Node logger's decision-line writer (gateway/node/logger.ts) must write exactly what pino writes for the same
// line, and fall back to pino's redaction whenever a line carries something the redaction paths name.
import { describe, expect, it } from 'vitest'
import { createLogger } from '../../gateway/node/logger.ts'

function capture(level = 'info') {
  const out: string[] = []
  const logger = createLogger(level, { write: (s: string) => void out.push(s) })
  return { logger, out }
}

/** Both ways of writing a line, with the time field made equal (it is the only part that may differ). */
function both(line: object): [string, string] {
  const fast = capture()
  fast.logger.decision(line)
  const slow = capture()
  slow.logger.info(line, 'decision')
  const untime = (s: string | undefined) => (s ?? '').replace(/"time":"[^"]+"/, '"time":"T"')
  return [untime(fast.out[0]), untime(slow.out[0])]
}

const input = {
  request: {
    method: 'POST',
    url: 'http://127.0.0.1/r/x?a=1',
    headers: { 'content-type': 'application/json', 'user-agent': 'ü "q"\n' },
    body: { a: [1, null, 'x\u2028y'], skipped: undefined },
    body_size: 12,
    query: { a: ['1', '2'] },
  },
  agent: { id: 'a1', owner: 'o', labels: {} },
  gateway: { now_ns: 1.5e18, pending_holds: {} },
}

describe('decision line writer', () => {
  it('writes byte for byte what pino writes for a full line', () => {
    const line = {
      decision_id: 'd1',
      timestamp: 't',
      path: 'airlock/decision',
      method: 'POST',
      url_path: '/r/x',
      input,
      result: { action: 'allow' },
      action: 'allow',
      reason: undefined,
      eval_us: 3,
      status: 200,
      total_ms: NaN,
    }
    const [fast, slow] = both(line)
    expect(fast).toBe(slow)
    expect(fast.endsWith('"msg":"decision"}\n')).toBe(true)
    expect(JSON.parse(fast).input.request.headers['user-agent']).toBe('ü "q"\n')
  })

  it('writes the same for a line without input', () => {
    const [fast, slow] = both({
      decision_id: 'd2',
      method: 'GET',
      url_path: '/',
      status: 404,
      error_code: 'AIRLOCK_ROUTE_NOT_FOUND',
    })
    expect(fast).toBe(slow)
  })

  it('leaves a line with a secret-looking field to pino, which censors it', () => {
    const withAuth = { ...input, request: { ...input.request, headers: { authorization: 'Bearer sk-live' } } }
    for (const line of [
      { decision_id: 'd3', input: withAuth },
      { decision_id: 'd4', token: 'sk-live' },
    ]) {
      const [fast, slow] = both(line)
      expect(fast).toBe(slow)
      expect(fast).not.toContain('sk-live')
      expect(fast).toContain('[redacted]')
    }
  })

  it('writes nothing below its level', () => {
    const { logger, out } = capture('warn')
    logger.decision({ decision_id: 'd5' })
    expect(out).toEqual([])
  })
})
