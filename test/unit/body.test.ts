// readBody takes the body as a stream (a Web Request) or as bytes an adapter has already read (InboundRequest):
// the same limit applies to both, so a lighter request view cannot bypass it.
import { describe, expect, it } from 'vitest'
import { AirlockError } from '../../gateway/core/errors.ts'
import { readBody } from '../../gateway/core/pipeline/body.ts'

const bytes = new TextEncoder().encode('{"amount":1}')

describe('readBody', () => {
  it('returns already-read bytes as they are, within the limit', async () => {
    expect(await readBody({ method: 'POST', headers: new Headers(), body: bytes }, 100)).toBe(bytes)
  })

  it('refuses already-read bytes over the limit as it refuses a stream', async () => {
    const stream = new Request('http://x/', { method: 'POST', body: bytes })
    for (const request of [{ method: 'POST', headers: new Headers(), body: bytes }, stream]) {
      const err = await readBody(request, 4).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(AirlockError)
      expect((err as AirlockError).code).toBe('AIRLOCK_BODY_TOO_LARGE')
    }
  })
})
