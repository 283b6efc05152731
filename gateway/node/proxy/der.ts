// The few DER (X.690) encodings an X.509 certificate needs, and a reader for the fields Airlock takes back out of
// its own CA certificate. Node's crypto generates keys, signs and parses certificates but cannot build one; this
// writer only ever encodes Airlock's own fixed templates with validated host names, never parses untrusted input.

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n])
  const bytes: number[] = []
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff)
  return Buffer.from([0x80 | bytes.length, ...bytes])
}

export function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content)
  return Buffer.concat([Buffer.from([tag]), length(body.length), body])
}

export const sequence = (...items: Buffer[]) => tlv(0x30, ...items)
export const set = (...items: Buffer[]) => tlv(0x31, ...items)
export const octetString = (b: Buffer) => tlv(0x04, b)
export const utf8String = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'))
export const boolean = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0x00]))
export const nullValue = () => Buffer.from([0x05, 0x00])
/** Context-specific tag n: constructed (explicit wrapper) or primitive (implicit, e.g. a SAN dNSName [2]). */
export const context = (n: number, constructed: boolean, ...content: Buffer[]) =>
  tlv((constructed ? 0xa0 : 0x80) | n, ...content)

/** A non-negative INTEGER from big-endian bytes: leading zeros stripped, one 0x00 added when the top bit is set. */
export function unsignedInteger(bytes: Buffer): Buffer {
  let i = 0
  while (i < bytes.length - 1 && bytes[i] === 0) i++
  const v = bytes.subarray(i)
  return tlv(0x02, v[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v)
}

export function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number)
  const out = [40 * a + b]
  for (const n of rest) {
    const group = [n & 0x7f]
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) group.unshift((v & 0x7f) | 0x80)
    out.push(...group)
  }
  return tlv(0x06, Buffer.from(out))
}

/** A BIT STRING of whole bytes (a signature, a public key). */
export const bitString = (bytes: Buffer) => tlv(0x03, Buffer.from([0]), bytes)

/** A named-bit BIT STRING (KeyUsage): DER drops trailing zero bits and counts them in the first byte. */
export function namedBits(bits: number[]): Buffer {
  const last = Math.max(...bits)
  const bytes = Buffer.alloc(Math.floor(last / 8) + 1)
  for (const bit of bits) bytes[bit >> 3]! |= 0x80 >> (bit & 7)
  return tlv(0x03, Buffer.from([7 - (last & 7)]), bytes)
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds, UTC. */
export function time(d: Date): Buffer {
  const s = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z'
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(s.slice(2))) : tlv(0x18, Buffer.from(s))
}

/** The elements of a constructed DER value (SEQUENCE contents), each as its whole encoding. */
export function children(der: Buffer): Buffer[] {
  const { start, end } = header(der, 0)
  const out: Buffer[] = []
  for (let at = start; at < end; ) {
    const h = header(der, at)
    out.push(der.subarray(at, h.end))
    at = h.end
  }
  return out
}

/** The contents of one DER value (after tag and length). */
export function contents(der: Buffer): Buffer {
  const { start, end } = header(der, 0)
  return der.subarray(start, end)
}

function header(der: Buffer, at: number): { start: number; end: number } {
  let len = der[at + 1]
  let start = at + 2
  if (len === undefined) throw new Error('truncated DER')
  if (len & 0x80) {
    const n = len & 0x7f
    len = 0
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i]!
    start += n
  }
  if (start + len > der.length) throw new Error('truncated DER')
  return { start, end: start + len }
}
