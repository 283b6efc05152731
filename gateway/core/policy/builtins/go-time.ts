// Go's time.Parse (time.parse_ns, time.parse_rfc3339_ns), ported from src/time/format.go: the layout is a reference
// time, Mon Jan 2 15:04:05 MST 2006.
import { utf8 } from './encoding.ts'
import { civil, DAY, daysIn, epochDays, type Instant, WEEKDAYS } from './time.ts'

// The reference-time constants OPA's time.parse_ns accepts by name.
export const NAMED_LAYOUTS = new Map(
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
const LONG_MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
]
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
export function goParse(layout: string, value: string): Instant {
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
