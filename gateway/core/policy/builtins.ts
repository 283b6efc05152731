// Host implementations of the OPA built-ins that `opa build -t wasm` leaves out (the policy imports them and
// @open-policy-agent/opa-wasm calls `customBuiltins[name](...args)`): synchronous, JSON values in and out.
// Semantics, edge cases and error messages follow OPA v1.22's Go implementation (v1/topdown). A thrown Error becomes
// an evaluation error, which the gateway treats as a denial (fail closed).
//
// Runtime-agnostic (no node:* imports: this runs unchanged on Workers). Hashing is synchronous, so WebCrypto's
// async digest is out: @noble/hashes provides sha256/md5/sha1/hmac.
//
// Known differences from OPA, all at the edges:
// - Nanosecond timestamps are JS numbers: past 2^53 (~104 days after the epoch) they lose precision, so an
//   instant near 2024 is exact only to 256 ns. Arguments are used exactly as received; results are rounded once.
// - OPA strings are bytes, these are JS strings: bytes that are not UTF-8 (from hex.decode, urlquery.decode)
//   become U+FFFD already inside the evaluation, not only in OPA's JSON output.
// - Time zones come from Intl (ICU), limited to names Go accepts (case-sensitive, no "+05:00"); zone history
//   before 1970 can differ from Go's tzdata. "Local" is UTC: a gateway has no meaningful local zone. Zone
//   abbreviations in time.parse_ns ("PST") mean offset 0, as in Go on a host whose local zone is UTC.
// - units.*: amounts no double can hold (1e400) throw instead of returning a huge integer. With more than 27
//   decimal places, units.parse_bytes can differ from OPA in the last bit (Go rounds 5^28 and up).
// - Rego sets arrive as JSON arrays in the wasm's own order, not sorted: urlquery.encode_object of a set value
//   lists the repeated key's values in that order, where OPA sorts them.
// - Errors name the built-in once (OPA repeats it for units.*).
import { hmac } from '@noble/hashes/hmac.js'
import { md5, sha1 } from '@noble/hashes/legacy.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex } from '@noble/hashes/utils.js'

type Builtin = (...args: any[]) => unknown

const utf8 = new TextEncoder()
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
// Operands (OPA's builtins.NewOperandTypeErr messages; a Rego set arrives here as a JSON array)

function typeName(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  return typeof v // string, number, boolean, object
}

function operandError(pos: number, got: unknown, ...expected: string[]): Error {
  const want = expected.length === 1 ? expected[0] : `one of {${expected.join(', ')}}`
  return new Error(`operand ${pos} must be ${want} but got ${typeName(got)}`)
}

function str(v: unknown, pos: number): string {
  if (typeof v !== 'string') throw operandError(pos, v, 'string')
  return v
}

function int(v: unknown, pos: number): number {
  if (typeof v !== 'number') throw operandError(pos, v, 'number')
  // Go's ast.Number.Int: anything that is not an int64 counts as floating-point
  if (!Number.isInteger(v) || Math.abs(v) >= 2 ** 63) {
    throw new Error(`operand ${pos} must be integer number but got floating-point number`)
  }
  return v
}

/** A string, or an array (or set) of strings, as a list. */
function strings(v: unknown, pos: number): string[] {
  if (typeof v === 'string') return [v]
  if (!Array.isArray(v)) throw operandError(pos, v, 'string', 'set', 'array')
  const i = v.findIndex((s) => typeof s !== 'string')
  if (i >= 0) {
    throw new Error(`operand ${pos} must be array of strings but got array containing ${typeName(v[i])}`)
  }
  return v as string[]
}

// ---------------------------------------------------------------------------------------------------------------
// Instants: whole seconds (a safe integer) plus nanoseconds, so calendar arithmetic is exact.

interface Instant {
  sec: number
  nsec: number
}

const NS = 1_000_000_000n
const DAY = 86_400

/** An instant from OPA's ns number; like OPA, anything that is not an exact int64 is "too big". */
function fromNs(ns: number): Instant {
  if (!Number.isInteger(ns) || ns < -(2 ** 63) || ns >= 2 ** 63) throw new Error('timestamp too big')
  const big = BigInt(ns)
  let sec = big / NS
  if (big % NS < 0n) sec -= 1n // floor, for instants before 1970
  return { sec: Number(sec), nsec: Number(big - sec * NS) }
}

/** OPA's toSafeUnixNano: only instants that fit an int64 of nanoseconds. */
function toNs({ sec, nsec }: Instant): number {
  if (!Number.isSafeInteger(sec)) throw new Error('time outside of valid range')
  const ns = BigInt(sec) * NS + BigInt(nsec)
  if (ns < -(2n ** 63n) || ns >= 2n ** 63n) throw new Error('time outside of valid range')
  return Number(ns)
}

/** Days since the epoch of a proleptic Gregorian date; month and day may overflow (Go's time.Date normalises too). */
function epochDays(year: number, month: number, day: number): number {
  const d = new Date(0)
  d.setUTCFullYear(year, month - 1, day) // unlike Date.UTC, no 1900 offset for years 0..99
  return d.getTime() / 86_400_000 // NaN when beyond Date's ±275,000 years
}

function daysIn(year: number, month: number): number {
  return epochDays(year, month + 1, 1) - epochDays(year, month, 1)
}

/** Wall-clock fields of seconds since the epoch, read as UTC. */
function civil(sec: number) {
  const d = new Date(sec * 1000)
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    weekday: d.getUTCDay(),
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Time zones, through Intl (Workers and Node both ship full ICU data). One formatter per zone: they are costly to
// build. Only valid zones are cached, so the map is bounded by the IANA database.

const zoneFormats = new Map<string, Intl.DateTimeFormat>()

function zoneFormat(tz: string): Intl.DateTimeFormat {
  let fmt = zoneFormats.get(tz)
  if (fmt) return fmt
  try {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    })
  } catch {
    throw new Error(`unknown time zone ${tz}`)
  }
  // Go's tzdata lookup is case-sensitive and has no "+05:00" zones; Intl accepts both.
  const resolved = fmt.resolvedOptions().timeZone
  if (/^[+-]/.test(tz) || (resolved !== tz && resolved.toLowerCase() === tz.toLowerCase())) {
    throw new Error(`unknown time zone ${tz}`)
  }
  zoneFormats.set(tz, fmt)
  return fmt
}

/** Seconds east of UTC in effect at an instant. */
function offsetAt(tz: string, sec: number): number {
  if (tz === 'UTC') return 0
  const f: Record<string, number> = {}
  for (const { type, value } of zoneFormat(tz).formatToParts(sec * 1000)) f[type] = Number(value)
  const days = epochDays(f.year!, f.month!, f.day!)
  return days * DAY + f.hour! * 3600 + f.minute! * 60 + f.second! - sec
}

/** The instant a wall-clock time (seconds, read as UTC) names in a zone; Go's time.Date resolution of gaps/overlaps. */
function fromWall(tz: string, wall: number): number {
  // Guard Intl against instants Date cannot represent; far outside the int64 range anyway.
  if (!(Math.abs(wall) < 1e13)) throw new Error('time outside of valid range')
  const guess = offsetAt(tz, wall)
  return guess === 0 ? wall : wall - offsetAt(tz, wall - guess)
}

interface ZonedTime extends Instant {
  tz: string
}

/** OPA's tzTime: ns, or [ns, tz] (a third element, time.format's layout, is checked but unused here). */
function zonedTime(v: unknown): ZonedTime {
  const typeErr = () => operandError(1, v, 'either number (ns) or [number (ns), string (tz)]')
  if (typeof v === 'number') return { ...fromNs(v), tz: 'UTC' }
  if (!Array.isArray(v) || v.length === 0) throw typeErr()
  const [ns, tz = '', layout = ''] = v as unknown[]
  if (typeof ns !== 'number') throw operandError(1, ns, 'number')
  const name = str(tz, 1)
  str(layout, 1)
  const zone = name === '' || name === 'Local' ? 'UTC' : name
  if (zone !== 'UTC') zoneFormat(zone) // unknown zones fail before the timestamp is looked at, as in OPA
  return { ...fromNs(ns), tz: zone }
}

/** Wall-clock fields of a zoned time. */
function local(t: ZonedTime) {
  const wall = t.sec + offsetAt(t.tz, t.sec)
  return { wall, ...civil(wall) }
}

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']

function addDate(t: ZonedTime, years: number, months: number, days: number): number {
  const { wall, year, month, day } = local(t)
  const secOfDay = wall - epochDays(year, month, day) * DAY
  const newWall = epochDays(year + years, month + months, day + days) * DAY + secOfDay
  return toNs({ sec: fromWall(t.tz, newWall), nsec: t.nsec })
}

/** [years, months, days, hours, minutes, seconds] between two instants, in the first one's zone (OPA's algorithm). */
function diff(a: ZonedTime, b: ZonedTime): number[] {
  const [t1, t2] = a.sec < b.sec || (a.sec === b.sec && a.nsec <= b.nsec) ? [a, b] : [b, a]
  const l1 = local({ ...t1, tz: a.tz })
  const l2 = local({ ...t2, tz: a.tz })
  let year = l2.year - l1.year
  let month = l2.month - l1.month
  let day = l2.day - l1.day
  let hour = l2.hour - l1.hour
  let min = l2.minute - l1.minute
  let sec = l2.second - l1.second
  // Borrow from the next unit up, as in subtraction by hand.
  if (sec < 0) {
    sec += 60
    min--
  }
  if (min < 0) {
    min += 60
    hour--
  }
  if (hour < 0) {
    hour += 24
    day--
  }
  if (day < 0) {
    day += daysIn(l1.year, l1.month)
    month--
  }
  if (month < 0) {
    month += 12
    year--
  }
  return [year, month, day, hour, min, sec]
}

// ---------------------------------------------------------------------------------------------------------------
// Go's time.Parse, ported from src/time/format.go: the layout is a reference time, Mon Jan 2 15:04:05 MST 2006.

// The reference-time constants OPA's time.parse_ns accepts by name.
const NAMED_LAYOUTS = new Map(
  Object.entries({
    ANSIC: 'Mon Jan _2 15:04:05 2006',
    UnixDate: 'Mon Jan _2 15:04:05 MST 2006',
    RubyDate: 'Mon Jan 02 15:04:05 -0700 2006',
    RFC822: '02 Jan 06 15:04 MST',
    RFC822Z: '02 Jan 06 15:04 -0700',
    RFC850: 'Monday, 02-Jan-06 15:04:05 MST',
    RFC1123: 'Mon, 02 Jan 2006 15:04:05 MST',
    RFC1123Z: 'Mon, 02 Jan 2006 15:04:05 -0700',
    RFC3339: '2006-01-02T15:04:05Z07:00',
    RFC3339Nano: '2006-01-02T15:04:05.999999999Z07:00',
  }),
)

// Layout elements in the order Go's nextStdChunk tries them; anything else is literal text.
const ELEMENT =
  /January|Jan(?![a-z])|Monday|Mon(?![a-z])|MST|0[1-6]|002|15|1|2006|2|_2(?!006)|__2|3|4|5|PM|pm|[-Z]07(?:0000|:00:00|00|:00)?|[.,](?:0+|9+)(?!\d)/y

/** Splits a layout into [literal prefix, element] pairs; the last element is '' (trailing literal only). */
function chunks(layout: string): [string, string][] {
  const out: [string, string][] = []
  let prefix = ''
  for (let i = 0; i < layout.length; ) {
    ELEMENT.lastIndex = i
    const m = ELEMENT.exec(layout)
    if (m) {
      out.push([prefix, m[0]])
      prefix = ''
      i += m[0].length
    } else {
      prefix += layout[i++]
    }
  }
  out.push([prefix, ''])
  return out
}

const SHORT_MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const LONG_MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October',
  'November', 'December']
const SHORT_DAYS = WEEKDAYS.map((d) => d.slice(0, 3))

const isDigit = (s: string, i: number) => i < s.length && s[i]! >= '0' && s[i]! <= '9'

/** Go's quote() in parse errors: like %q, but non-ASCII as \x bytes. */
function quote(s: string): string {
  let out = '"'
  for (const ch of s) {
    const c = ch.codePointAt(0)!
    if (c < 0x20 || c >= 0x80) for (const b of utf8.encode(ch)) out += `\\x${b.toString(16).padStart(2, '0')}`
    else out += ch === '"' || ch === '\\' ? `\\${ch}` : ch
  }
  return `${out}"`
}

/** Go's atoi: an optional sign, then only digits. */
function atoi(s: string): number | undefined {
  return /^[+-]?\d+$/.test(s) ? Number(s) : undefined
}

/** Parses a time like Go's time.Parse(layout, value), with UTC as the default and the local zone. */
function goParse(layout: string, value: string): Instant {
  const parseError = (elem: string, rest: string) =>
    new Error(`parsing time ${quote(value)} as ${quote(layout)}: cannot parse ${quote(rest)} as ${quote(elem)}`)
  const rangeError = (what: string) => new Error(`parsing time ${quote(value)}: ${what}`)

  let year = 0
  let month = -1
  let day = -1
  let yday = -1
  let hour = 0
  let min = 0
  let sec = 0
  let nsec = 0
  let offset = 0 // seconds east of UTC; zone abbreviations keep 0 (see the header)
  let utc = false // "Z" or "UTC" in the value: wins over any numeric offset, as in Go
  let am = false
  let pm = false

  let rest = value
  const parts = chunks(layout)
  for (let p = 0; p < parts.length; p++) {
    const [prefix, elem] = parts[p]!
    // The literal must match, a run of spaces matching any run of spaces.
    for (let i = 0; i < prefix.length; ) {
      if (prefix[i] === ' ') {
        if (rest.length > 0 && rest[0] !== ' ') throw parseError(prefix, rest)
        while (prefix[i] === ' ') i++
        rest = rest.replace(/^ +/, '')
      } else {
        if (rest[0] !== prefix[i]) throw parseError(prefix, rest)
        rest = rest.slice(1)
        i++
      }
    }
    if (elem === '') {
      if (rest !== '') throw rangeError(`extra text: ${quote(rest)}`)
      break
    }

    const hold = rest
    let ok = true
    let outOfRange = ''
    // Go's getnum: one or two digits (exactly two when fixed).
    const num = (fixed: boolean): number => {
      if (!isDigit(rest, 0) || (fixed && !isDigit(rest, 1))) {
        ok = false
        return 0
      }
      const n = isDigit(rest, 1) ? 2 : 1
      const v = Number(rest.slice(0, n))
      rest = rest.slice(n)
      return v
    }
    // Case-insensitive name lookup (months, weekdays).
    const lookup = (names: string[]): number => {
      const i = names.findIndex((name) => rest.slice(0, name.length).toLowerCase() === name.toLowerCase())
      if (i < 0) ok = false
      else rest = rest.slice(names[i]!.length)
      return i
    }
    // A fraction of n characters: separator and digits, of which the first nine count.
    const fraction = (n: number) => {
      const digits = rest.slice(1, Math.min(n, 10))
      const v = rest[0] === '.' || rest[0] === ',' ? atoi(digits) : undefined
      if (v === undefined) ok = false
      else if (v < 0) outOfRange = 'fractional second'
      else nsec = v * 10 ** (9 - digits.length)
      rest = rest.slice(n)
    }
    const fractionLength = () => /^[.,]\d+/.exec(rest)?.[0].length ?? 0

    switch (elem) {
      case '2006': {
        const y = isDigit(rest, 0) ? atoi(rest.slice(0, 4)) : undefined
        if (rest.length < 4 || y === undefined) ok = false
        else {
          year = y
          rest = rest.slice(4)
        }
        break
      }
      case '06': {
        const y = rest.length < 2 ? undefined : atoi(rest.slice(0, 2))
        if (y === undefined) ok = false
        else {
          year = y >= 69 ? 1900 + y : 2000 + y
          rest = rest.slice(2)
        }
        break
      }
      case 'Jan':
      case 'January':
        month = lookup(elem === 'Jan' ? SHORT_MONTHS : LONG_MONTHS) + 1
        break
      case '01':
      case '1':
        month = num(elem === '01')
        if (ok && (month < 1 || month > 12)) outOfRange = 'month'
        break
      case 'Mon':
      case 'Monday':
        lookup(elem === 'Mon' ? SHORT_DAYS : WEEKDAYS) // checked, otherwise ignored
        break
      case '02':
      case '2':
      case '_2':
        if (elem === '_2' && rest[0] === ' ') rest = rest.slice(1)
        day = num(elem === '02') // checked against the month at the end
        break
      case '15':
        hour = num(false)
        if (hour >= 24) outOfRange = 'hour'
        break
      case '03':
      case '3':
        hour = num(elem === '03')
        if (hour > 12) outOfRange = 'hour'
        break
      case '04':
      case '4':
        min = num(elem === '04')
        if (min >= 60) outOfRange = 'minute'
        break
      case '05':
      case '5': {
        sec = num(elem === '05')
        if (!ok) break
        if (sec >= 60) outOfRange = 'second'
        // A fraction the layout does not ask for is accepted anyway, unless the next element is one.
        else if (fractionLength() > 0 && !/^[.,][09]/.test(parts[p + 1]?.[1] ?? '')) fraction(fractionLength())
        break
      }
      case 'PM':
      case 'pm': {
        const v = rest.slice(0, 2)
        if (v === (elem === 'PM' ? 'PM' : 'pm')) pm = true
        else if (v === (elem === 'PM' ? 'AM' : 'am')) am = true
        else ok = false
        rest = rest.slice(2)
        break
      }
      case 'MST': {
        utc ||= rest.startsWith('UTC')
        const n = rest.startsWith('UTC') ? 3 : zoneAbbreviationLength(rest)
        if (n === 0) ok = false
        rest = rest.slice(n)
        break
      }
      case '002':
      case '__2': {
        if (elem === '__2') rest = rest.replace(/^ {1,2}/, '')
        const digits = /^\d{1,3}/.exec(rest)?.[0] ?? ''
        if (digits === '' || (elem === '002' && digits.length < 3)) ok = false
        else {
          yday = Number(digits)
          rest = rest.slice(digits.length)
        }
        break
      }
      default:
        if (/^[.,]0/.test(elem)) {
          // .000: exactly that many digits
          if (rest.length < elem.length) ok = false
          else fraction(elem.length)
        } else if (/^[.,]9/.test(elem)) {
          // .999: any number of digits, or none
          if (fractionLength() > 0) fraction(fractionLength())
        } else if (elem[0] === 'Z' && rest[0] === 'Z') {
          rest = rest.slice(1) // Z07:00 and friends also accept "Z" for UTC
          utc = true
        } else {
          // Numeric offsets -07, -0700, -07:00, -070000, -07:00:00: the value has the layout's shape.
          const v = rest.slice(0, elem.length)
          const shaped =
            v.length === elem.length && [...elem].every((c, i) => i === 0 || (c === ':' ? v[i] === ':' : isDigit(v, i)))
          if (!shaped) {
            ok = false
            break
          }
          const digits = v.slice(1).replaceAll(':', '')
          const [hh, mm, ss] = [0, 2, 4].map((i) => Number(digits.slice(i, i + 2) || '0')) as [number, number, number]
          if (hh > 24) outOfRange = 'time zone offset hour'
          if (mm > 60) outOfRange = 'time zone offset minute'
          if (ss > 60) outOfRange = 'time zone offset second'
          offset = (v[0] === '-' ? -1 : 1) * (hh * 3600 + mm * 60 + ss)
          if (v[0] !== '+' && v[0] !== '-') ok = false
          rest = rest.slice(v.length)
        }
    }
    if (outOfRange) throw rangeError(`${outOfRange} out of range`)
    if (!ok) throw parseError(elem, hold)
  }

  if (pm && hour < 12) hour += 12
  else if (am && hour === 12) hour = 0
  if (yday >= 0) {
    // The day of the year sets month and day, which must agree with any the value also gave.
    const daysInYear = epochDays(year + 1, 1, 1) - epochDays(year, 1, 1)
    if (yday < 1 || yday > daysInYear) throw rangeError('day-of-year out of range')
    const d = civil(epochDays(year, 1, yday) * DAY)
    if (month >= 0 && month !== d.month) throw rangeError('day-of-year does not match month')
    if (day >= 0 && day !== d.day) throw rangeError('day-of-year does not match day')
    month = d.month
    day = d.day
  }
  if (month < 0) month = 1
  if (day < 0) day = 1
  if (day < 1 || day > daysIn(year, month)) throw rangeError('day out of range')
  return { sec: epochDays(year, month, day) * DAY + hour * 3600 + min * 60 + sec - (utc ? 0 : offset), nsec }
}

/** Length of a zone abbreviation at the start of s (Go's parseTimeZone), 0 if there is none. */
function zoneAbbreviationLength(s: string): number {
  if (s.length < 3) return 0
  if (s.startsWith('ChST') || s.startsWith('MeST')) return 4
  const signed = (t: string) => {
    const m = /^[+-](\d+)/.exec(t)
    return m && Number(m[1]) <= 23 ? m[0].length : 0
  }
  if (s.startsWith('GMT')) return 3 + signed(s.slice(3))
  if (s[0] === '+' || s[0] === '-') return signed(s)
  const upper = /^[A-Z]{0,6}/.exec(s)![0].length
  if (upper === 3) return 3
  if (upper === 4 && (s[3] === 'T' || s.startsWith('WITA'))) return 4
  if (upper === 5 && s[4] === 'T') return 5
  return 0
}

// ---------------------------------------------------------------------------------------------------------------
// units.parse_bytes and units.parse, on BigInt: OPA computes the first with big.Float (64-bit mantissa, reproduced
// below, so "538211982.64115mb" is 538211982641149 as in OPA) and the second with big.Rat (exact).

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

function parseBytes(v: unknown): number {
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

function parseUnits(v: unknown): number {
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

// ---------------------------------------------------------------------------------------------------------------
// Encodings

/** Go's url.QueryEscape: UTF-8 bytes, unreserved characters kept, space as "+". */
function queryEscape(s: string): string {
  let out = ''
  for (const b of utf8.encode(s)) {
    const c = String.fromCharCode(b)
    out += /[A-Za-z0-9\-_.~]/.test(c) ? c : b === 0x20 ? '+' : `%${b.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

/** Go's url.QueryUnescape: "+" is a space, every "%" must start a valid escape. */
function queryUnescape(s: string): string {
  const bad = /%(?![\da-fA-F]{2})/.exec(s)
  if (bad) throw new Error(`invalid URL escape ${JSON.stringify(s.slice(bad.index, bad.index + 3))}`)
  const bytes = (run: string) => Uint8Array.from(run.slice(1).split('%'), (h) => parseInt(h, 16))
  return s.replaceAll('+', ' ').replace(/(?:%[\da-fA-F]{2})+/g, (run) => fromUtf8(bytes(run)))
}

function encodeObject(v: unknown): string {
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
function decodeObject(v: unknown): Record<string, string[]> {
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

function hexDecode(v: unknown): string {
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

// ---------------------------------------------------------------------------------------------------------------
// net.cidr_is_valid: Go's net.ParseCIDR (netip rules: no leading zeros in IPv4, no zones, one "::").

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?!$)|$)){4}$/

function isIPv6(s: string): boolean {
  // A trailing dotted quad stands for the last two groups.
  const quad = /(?<=:)[^:]*\.[^:]*$/.exec(s)
  if (quad) {
    if (!IPV4.test(quad[0])) return false
    s = `${s.slice(0, quad.index)}0:0`
  }
  const halves = s.split('::')
  if (halves.length > 2) return false
  const groups = halves.flatMap((h) => (h === '' ? [] : h.split(':')))
  if (!groups.every((g) => /^[\da-fA-F]{1,4}$/.test(g))) return false
  return halves.length === 2 ? groups.length <= 7 : groups.length === 8
}

function cidrIsValid(v: unknown): boolean {
  if (typeof v !== 'string') return false
  const slash = v.indexOf('/')
  if (slash < 0) return false
  const [addr, mask] = [v.slice(0, slash), v.slice(slash + 1)]
  // netip.ParseAddr decides by the first "." or ":".
  const v4 = /^[^:]*\./.test(addr)
  if (!(v4 ? IPV4.test(addr) : isIPv6(addr))) return false
  return /^\d+$/.test(mask) && Number(mask) <= (v4 ? 32 : 128)
}

// ---------------------------------------------------------------------------------------------------------------
// The built-ins

function affixMatch(match: (s: string, affix: string) => boolean): Builtin {
  return (search: unknown, base: unknown) => {
    const strs = strings(search, 1)
    const affixes = strings(base, 2)
    return strs.some((s) => affixes.some((a) => match(s, a)))
  }
}

const TIMELESS: Record<string, Builtin> = {
  'time.parse_rfc3339_ns': (value) => toNs(goParse(NAMED_LAYOUTS.get('RFC3339')!, str(value, 1))),
  'time.parse_ns': (layout, value) => {
    const l = str(layout, 1)
    return toNs(goParse(NAMED_LAYOUTS.get(l) ?? l, str(value, 2)))
  },
  'time.date': (x) => {
    const { year, month, day } = local(zonedTime(x))
    return [year, month, day]
  },
  'time.clock': (x) => {
    const { hour, minute, second } = local(zonedTime(x))
    return [hour, minute, second]
  },
  'time.weekday': (x) => WEEKDAYS[local(zonedTime(x)).weekday],
  'time.add_date': (x, years, months, days) => addDate(zonedTime(x), int(years, 2), int(months, 3), int(days, 4)),
  'time.diff': (a, b) => diff(zonedTime(a), zonedTime(b)),
  'units.parse_bytes': parseBytes,
  'units.parse': parseUnits,
  'crypto.sha256': (s) => bytesToHex(sha256(utf8.encode(str(s, 1)))),
  'crypto.md5': (s) => bytesToHex(md5(utf8.encode(str(s, 1)))),
  'crypto.sha1': (s) => bytesToHex(sha1(utf8.encode(str(s, 1)))),
  'crypto.hmac.sha256': (message, key) => bytesToHex(hmac(sha256, utf8.encode(str(key, 2)), utf8.encode(str(message, 1)))),
  'urlquery.encode': (s) => queryEscape(str(s, 1)),
  'urlquery.decode': (s) => queryUnescape(str(s, 1)),
  'urlquery.encode_object': encodeObject,
  'urlquery.decode_object': decodeObject,
  'strings.any_prefix_match': affixMatch((s, prefix) => s.startsWith(prefix)),
  'strings.any_suffix_match': affixMatch((s, suffix) => s.endsWith(suffix)),
  'net.cidr_is_valid': cidrIsValid,
  'hex.encode': (s) => bytesToHex(utf8.encode(str(s, 1))),
  'hex.decode': hexDecode,
}

/** The built-ins implemented here: list them in the capabilities file so `opa build` accepts policies using them. */
export const HOST_BUILTINS: readonly string[] = Object.freeze(['time.now_ns', ...Object.keys(TIMELESS)])

/**
 * The built-ins for `loadPolicy(wasm, memory, createHostBuiltins(clock))`. Errors carry the built-in's name, as in
 * OPA ("time.parse_rfc3339_ns: parsing time ...").
 *
 * time.now_ns returns `clock.nowNs()`. OPA returns one instant for every call within an evaluation, so the gateway
 * pins the value before each evaluation (the evaluator sets it, then evaluates); a live clock here would let two
 * calls in one decision disagree. It must be an integer number of ns since the epoch (as a double: see the header).
 */
export function createHostBuiltins(clock: { nowNs(): number }): Record<string, Builtin> {
  const impls: Record<string, Builtin> = { 'time.now_ns': () => clock.nowNs(), ...TIMELESS }
  return Object.fromEntries(
    Object.entries(impls).map(([name, fn]) => [
      name,
      (...args: unknown[]) => {
        try {
          return fn(...args)
        } catch (err) {
          throw new Error(`${name}: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
        }
      },
    ]),
  )
}
