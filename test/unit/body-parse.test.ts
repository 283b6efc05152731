// Regression for issue 10 item 6: bodies the policy cannot read are flagged (body_parse_error), not silently null;
// multipart/form-data fields are parsed (files as metadata only).
import { describe, expect, it } from 'vitest'
import { decodeBody } from '../../gateway/core/pipeline/body.ts'

const enc = (s: string) => new TextEncoder().encode(s)
const multipart = (boundary: string, parts: string[]) =>
  enc(`--${boundary}\r\n${parts.join(`\r\n--${boundary}\r\n`)}\r\n--${boundary}--\r\n`)

describe('decodeBody: what the policy can and cannot read', () => {
  it.each([
    ['JSON', '{"a":1}', 'application/json; charset=utf-8', { a: 1 }, 'application/json', null],
    [
      'form',
      'a=1&a=2',
      'application/x-www-form-urlencoded',
      { a: ['1', '2'] },
      'application/x-www-form-urlencoded',
      null,
    ],
    [
      'text/plain carrying JSON',
      '{"text":"<!channel>"}',
      'text/plain',
      null,
      'text/plain',
      'text/plain bodies are not parsed (Airlock reads JSON, form and multipart bodies)',
    ],
    [
      'octet-stream',
      'xx',
      'application/octet-stream',
      null,
      'application/octet-stream',
      'application/octet-stream bodies are not parsed (Airlock reads JSON, form and multipart bodies)',
    ],
    [
      'a repeated Content-Type',
      '{"a":1}',
      'application/json, text/plain',
      null,
      'application/json, text/plain',
      'the request has more than one Content-Type, so the upstream may read the body differently than Airlock could',
    ],
    [
      'a repeated identical Content-Type',
      '{"a":1}',
      'application/json, application/json',
      null,
      'application/json, application/json',
      'the request has more than one Content-Type, so the upstream may read the body differently than Airlock could',
    ],
    ['no Content-Type', 'x', null, null, null, 'the body has no Content-Type, so Airlock cannot read it'],
    ['an empty body', '', 'text/plain', null, 'text/plain', null],
  ])('%s', (_name, body, type, value, mediaType, parseError) => {
    const d = decodeBody(enc(body), type)
    expect(d).toMatchObject({ value, mediaType, parseError })
  })

  it('a comma inside a quoted parameter is not a second Content-Type', () => {
    const d = decodeBody(enc('{"a":1}'), 'application/json; profile="a,b"')
    expect(d).toMatchObject({ value: { a: 1 }, parseError: null })
  })

  it('claiming JSON and not being JSON is still refused with 400', () => {
    expect(() => decodeBody(enc('{nope'), 'application/json')).toThrow(
      expect.objectContaining({ code: 'AIRLOCK_BODY_MALFORMED' }),
    )
  })
})

describe('multipart/form-data', () => {
  it('parses text fields (repeated names as arrays) and describes files without their bytes', () => {
    const body = multipart('XyZ', [
      'Content-Disposition: form-data; name="channel"\r\n\r\nC0ENG',
      'Content-Disposition: form-data; name="text"\r\n\r\nhello <!channel>\r\nsecond line',
      'Content-Disposition: form-data; name="tag"\r\n\r\na',
      'Content-Disposition: form-data; name="tag"\r\n\r\nb',
      'Content-Disposition: form-data; name="file"; filename="r\u00e9sum\u00e9.bin"\r\nContent-Type: application/octet-stream\r\n\r\n\u0000\u0001\u0002\u00ff',
    ])
    const d = decodeBody(body, 'multipart/form-data; boundary=XyZ')
    expect(d.parseError).toBeNull()
    expect(d.mediaType).toBe('multipart/form-data')
    expect(d.value).toEqual({
      channel: 'C0ENG',
      text: 'hello <!channel>\r\nsecond line',
      tag: ['a', 'b'],
      file: {
        filename: 'résumé.bin',
        content_type: 'application/octet-stream',
        size: new TextEncoder().encode('\u0000\u0001\u0002\u00ff').byteLength,
      },
    })
  })

  it('accepts a quoted boundary and a preamble', () => {
    const body = enc(`preamble\r\n--a b\r\nContent-Disposition: form-data; name="x"\r\n\r\n1\r\n--a b--`)
    expect(decodeBody(body, 'multipart/form-data; boundary="a b"').value).toEqual({ x: '1' })
  })

  it.each([
    [
      'no boundary parameter',
      'multipart/form-data',
      multipart('b', ['Content-Disposition: form-data; name="x"\r\n\r\n1']),
      'multipart/form-data without a boundary parameter',
    ],
    [
      'no closing boundary',
      'multipart/form-data; boundary=b',
      enc('--b\r\nContent-Disposition: form-data; name="x"\r\n\r\n1'),
      'the multipart body has no closing boundary',
    ],
    [
      'a part without a name',
      'multipart/form-data; boundary=b',
      multipart('b', ['Content-Disposition: form-data\r\n\r\n1']),
      'a multipart part without a name',
    ],
    [
      'not starting with the boundary',
      'multipart/form-data; boundary=b',
      enc('junk--b--'),
      'the multipart body does not start with its boundary',
    ],
    [
      'a field that is not UTF-8',
      'multipart/form-data; boundary=b',
      new Uint8Array([
        ...enc('--b\r\nContent-Disposition: form-data; name="x"\r\n\r\n'),
        0xff,
        0xfe,
        ...enc('\r\n--b--'),
      ]),
      'a multipart field is not valid UTF-8',
    ],
  ])('%s → body_parse_error', (_name, type, body, error) => {
    expect(decodeBody(body, type)).toMatchObject({ value: null, mediaType: 'multipart/form-data', parseError: error })
  })
})
