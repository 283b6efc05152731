// urlquery.* and hex.*: Go's URL query and hex encodings, and Go's treatment of bytes that are not UTF-8.
import { operandError, str } from './operands.ts'

export const utf8 = new TextEncoder()
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

/** Bytes as a string, each byte that starts no valid UTF-8 sequence as one U+FFFD (as Go's JSON encoder does). */
function fromUtf8(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes)
  } catch {
    let out = ''
    for (let i = 0; i < bytes.length; ) {
      const lead = bytes[i]!
      const n = lead < 0x80 ? 1 : lead < 0xc2 ? 0 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : lead < 0xf5 ? 4 : 0
      let ch: string | undefined
      try {
        if (n > 0 && i + n <= bytes.length) ch = strictUtf8.decode(bytes.subarray(i, i + n))
      } catch {
        // overlong, surrogate or bad continuation: just this byte is replaced
      }
      out += ch ?? '\ufffd'
      i += ch === undefined ? 1 : n
    }
    return out
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Encodings

/** Go's url.QueryEscape: UTF-8 bytes, unreserved characters kept, space as "+". */
export function queryEscape(s: string): string {
  let out = ''
  for (const b of utf8.encode(s)) {
    const c = String.fromCharCode(b)
    out += /[A-Za-z0-9\-_.~]/.test(c) ? c : b === 0x20 ? '+' : `%${b.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

/** Go's url.QueryUnescape: "+" is a space, every "%" must start a valid escape. */
export function queryUnescape(s: string): string {
  const bad = /%(?![\da-fA-F]{2})/.exec(s)
  if (bad) throw new Error(`invalid URL escape ${JSON.stringify(s.slice(bad.index, bad.index + 3))}`)
  const bytes = (run: string) => Uint8Array.from(run.slice(1).split('%'), (h) => parseInt(h, 16))
  return s.replaceAll('+', ' ').replace(/(?:%[\da-fA-F]{2})+/g, (run) => fromUtf8(bytes(run)))
}

export function encodeObject(v: unknown): string {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw operandError(1, v, 'object')
  const pairs: string[] = []
  // Go's url.Values.Encode sorts by key (bytes; UTF-16 order differs only past U+FFFF).
  for (const key of Object.keys(v).sort()) {
    const value: unknown = (v as Record<string, unknown>)[key]
    const values = typeof value === 'string' ? [value] : value
    if (!Array.isArray(values) || !values.every((x) => typeof x === 'string')) {
      throw new Error('operand 1 values must be string, array[string], or set[string]')
    }
    for (const x of values) pairs.push(`${queryEscape(key)}=${queryEscape(x)}`)
  }
  return pairs.join('&')
}

/** Go's url.ParseQuery: every pair is parsed, the first error (a ";" separator overriding) is reported. */
export function decodeObject(v: unknown): Record<string, string[]> {
  const pairs = str(v, 1).split('&')
  if (pairs.length > 10_000) throw new Error('number of URL query parameters exceeded limit')
  const out = new Map<string, string[]>() // not an object: "__proto__" is a valid key
  let error: unknown
  for (const pair of pairs) {
    if (pair.includes(';')) {
      error = new Error('invalid semicolon separator in query')
      continue
    }
    if (pair === '') continue
    const eq = pair.indexOf('=')
    try {
      const key = queryUnescape(eq < 0 ? pair : pair.slice(0, eq))
      const value = queryUnescape(eq < 0 ? '' : pair.slice(eq + 1))
      const values = out.get(key)
      if (values) values.push(value)
      else out.set(key, [value])
    } catch (err) {
      error ??= err
    }
  }
  if (error) throw error
  return Object.fromEntries(out)
}

/** Go's %#U of a byte taken as a rune: U+0078 'x', without the character when it is not printable. */
function goRune(b: number): string {
  const code = `U+${b.toString(16).toUpperCase().padStart(4, '0')}`
  const printable = (b >= 0x20 && b < 0x7f) || (b >= 0xa1 && b !== 0xad)
  return printable ? `${code} '${String.fromCharCode(b)}'` : code
}

export function hexDecode(v: unknown): string {
  const src = utf8.encode(str(v, 1))
  const out = new Uint8Array(src.length >> 1)
  for (let i = 0; i < src.length; i++) {
    const b = src[i]!
    const lower = b | 0x20
    const nibble = b >= 0x30 && b <= 0x39 ? b - 0x30 : lower >= 0x61 && lower <= 0x66 ? lower - 0x57 : -1
    if (nibble < 0) throw new Error(`encoding/hex: invalid byte: ${goRune(b)}`)
    if (i >> 1 < out.length) out[i >> 1] = (out[i >> 1]! << 4) | nibble
  }
  if (src.length % 2 === 1) throw new Error('encoding/hex: odd length hex string')
  return fromUtf8(out)
}
