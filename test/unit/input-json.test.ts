// The policy input's JSON text: a JSON body goes in as the agent's own text (not re-serialised), and the text is the
// same value the parsed input holds; everything else is plain JSON.stringify.
import { describe, expect, it } from 'vitest'
import { routeSchema } from '../../gateway/core/config/schema.ts'
import { buildInput } from '../../gateway/core/pipeline/input.ts'
import { inputJson } from '../../gateway/core/policy/input-json.ts'

function input(body: string | null, contentType?: string) {
  return buildInput({
    method: 'POST',
    upstreamUrl: new URL('https://api.example.com/v1/things?x=1'),
    headers: new Headers(contentType ? { 'content-type': contentType } : {}),
    body: body === null ? null : new TextEncoder().encode(body),
    bodySha256: '0'.repeat(64),
    agent: { id: 'bot', owner: 'o@example.com', labels: {} },
    route: routeSchema.parse({ name: 'r', prefix: '/r', upstream: 'https://api.example.com' }),
    nowMs: Date.UTC(2026, 10, 23, 12),
    pendingHolds: {},
  })
}

describe('inputJson', () => {
  it('splices a JSON body as the agent sent it, and the text parses to the input', () => {
    const text = '{ "amount" : 5000, "note": "a \\"quoted\\" \\u00e9 word", "items": [1, 2.50] }'
    const i = input(text, 'application/json')
    const json = inputJson(i)
    expect(json).toContain(`"body":${text}`)
    expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify(i)))
    expect(Object.keys(i.request)).not.toContain('airlock.rawJsonBody') // the mark is not part of the input
  })

  it('is JSON.stringify for forms, other types and no body', () => {
    for (const i of [
      input('a=1&a=2', 'application/x-www-form-urlencoded'),
      input('hello', 'text/plain'),
      input(null),
    ]) {
      expect(inputJson(i)).toBe(JSON.stringify(i))
    }
  })

  it('keeps the body whatever it holds: scalars, arrays, a text that looks like the marker', () => {
    for (const text of ['"x"', '[1,{"a":null}]', '0', 'null', '"\\u0000airlock-raw-body-0"']) {
      const i = input(text, 'application/json')
      expect(JSON.parse(inputJson(i))).toEqual(JSON.parse(JSON.stringify(i)))
    }
  })
})
