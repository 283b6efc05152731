// units.parse_bytes and units.parse, on BigInt: OPA computes the first with big.Float (64-bit mantissa, reproduced
// below, so "538211982.64115mb" is 538211982641149 as in OPA) and the second with big.Rat (exact).
import { str } from './operands.ts'

/** OPA's extractNumAndUnit: "10.5KiB" → ["10.5", "KiB"]; an "e" is an exponent only if a digit or sign follows. */
function splitAmount(s: string): [string, string] {
  let i = 0
  for (; i < s.length; i++) {
    const c = s[i]!
    if (/[\d.+-]/.test(c)) continue
    if ((c !== 'e' && c !== 'E') || !/[\d+-]/.test(s[i + 1] ?? '')) break
    if (s[i + 1] === '+' || s[i + 1] === '-') i++
    if (/^\d*/.exec(s.slice(i + 1))![0].length > 6) throw new Error('exponent too large')
  }
  return [s.slice(0, i), s.slice(i)]
}

/** A number in Go's float syntax ("1", "-1.5", ".5", "1.", "2e3") as sign and exact fraction n/d, n ≥ 0. */
function parseAmount(amount: string): { neg: boolean; n: bigint; d: bigint } | undefined {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(amount)
  if (!m || (m[2] === '' && !m[3])) return undefined
  const neg = m[1] === '-'
  const coef = BigInt(`${m[2]}${m[3] ?? ''}`)
  const exp = Number(m[4] ?? 0) - (m[3]?.length ?? 0)
  // Bound the work (the exponent may have six digits): below 1e-40 every result rounds to 0, and above 1e400 no
  // double can hold it.
  const magnitude = coef.toString().length + exp
  if (coef === 0n || magnitude < -40) return { neg, n: 0n, d: 1n }
  if (magnitude > 400) throw new Error('amount too large')
  return exp >= 0 ? { neg, n: coef * 10n ** BigInt(exp), d: 1n } : { neg, n: coef, d: 10n ** BigInt(-exp) }
}

/** n/d (n > 0) rounded to a 64-bit mantissa, half to even, as big.Float does: [m, e] meaning m·2^e. */
function round64(n: bigint, d: bigint): [bigint, number] {
  let e = n.toString(2).length - d.toString(2).length - 64
  const [a, b] = e >= 0 ? [n, d << BigInt(e)] : [n << BigInt(-e), d]
  let q = a / b
  let r = a % b
  let div = b
  if (q >= 1n << 64n) {
    // one bit too many: halve (the quotient estimate is off by at most one bit)
    div = b << 1n
    q = a / div
    r = a % div
    e++
  }
  if (2n * r > div || (2n * r === div && (q & 1n) === 1n)) q++
  return q === 1n << 64n ? [q >> 1n, e + 1] : [q, e]
}

function finite(x: number): number {
  if (!Number.isFinite(x)) throw new Error('amount too large')
  return x
}

const SI = ['k', 'm', 'g', 't', 'p', 'e']

// units.parse_bytes units, lower-cased: kb/k = 1000, kib/ki = 1024, and so on up to exa.
const BYTE_UNITS = new Map<string, bigint>([['', 1n]])
SI.forEach((p, i) => {
  const [si, bin] = [1000n ** BigInt(i + 1), 1024n ** BigInt(i + 1)]
  BYTE_UNITS.set(p, si).set(`${p}b`, si).set(`${p}i`, bin).set(`${p}ib`, bin)
})

// units.parse units, as [numerator, denominator]: case matters only for m (milli) versus M (mega). OPA's milli is
// the double nearest 0.001 (big.Rat.SetFloat64), slightly above it, which shows in the tenth decimal of large amounts.
const UNITS = new Map<string, [bigint, bigint]>([
  ['', [1n, 1n]],
  ['m', [1152921504606847n, 1n << 60n]],
])
SI.forEach((p, i) => {
  const [si, bin] = [1000n ** BigInt(i + 1), 1024n ** BigInt(i + 1)]
  const P = p.toUpperCase()
  if (p !== 'm') UNITS.set(p, [si, 1n])
  UNITS.set(P, [si, 1n]).set(`${p}i`, [bin, 1n]).set(`${P}i`, [bin, 1n])
})

export function parseBytes(v: unknown): number {
  const s = str(v, 1).toLowerCase().replaceAll('"', '')
  if (s.includes(' ')) throw new Error('spaces not allowed in resource strings')
  const [amount, unit] = splitAmount(s)
  if (amount === '') throw new Error('no byte amount provided')
  const mult = BYTE_UNITS.get(unit)
  if (mult === undefined) throw new Error(`byte unit ${unit} not recognized`)
  const x = parseAmount(amount)
  if (!x) throw new Error('could not parse byte amount to a number')
  if (x.n === 0n) return 0
  // big.Float: the amount rounded to 64 bits, times the unit rounded again, then truncated toward zero.
  const [m1, e1] = round64(x.n, x.d)
  const [m2, e2] = round64(m1 * mult, 1n)
  const e = e1 + e2
  const int = e >= 0 ? m2 << BigInt(e) : m2 >> BigInt(-e)
  return finite(Number(x.neg ? -int : int))
}

export function parseUnits(v: unknown): number {
  const s = str(v, 1).replaceAll('"', '')
  if (s.includes(' ')) throw new Error('spaces not allowed in resource strings')
  const [amount, raw] = splitAmount(s)
  if (amount === '') throw new Error('no amount provided')
  const unit = raw.slice(0, 1) + raw.slice(1).toLowerCase()
  const mult = UNITS.get(unit)
  if (mult === undefined) throw new Error(`unit ${unit} not recognized`)
  const x = parseAmount(amount)
  if (!x) throw new Error('could not parse amount to a number')
  const [n, d] = [x.n * mult[0], x.d * mult[1]]
  const sign = x.neg && n !== 0n ? -1 : 1
  if (n % d === 0n) return sign * finite(Number(n / d))
  // Like big.Rat.FloatString(10): ten decimals, halves away from zero.
  const scaled = n * 10n ** 10n
  const q = (scaled / d + (2n * (scaled % d) >= d ? 1n : 0n)).toString().padStart(11, '0')
  const result = finite(Number(`${q.slice(0, -10)}.${q.slice(-10)}`))
  return result === 0 ? 0 : sign * result
}
