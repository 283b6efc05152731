// Time: instants as whole seconds plus nanoseconds, the proleptic Gregorian calendar, and time zones through Intl
// (time.date, time.clock, time.weekday, time.add_date, time.diff and the zone part of every time.* built-in).
import { operandError, str } from './operands.ts'

// Instants: whole seconds (a safe integer) plus nanoseconds, so calendar arithmetic is exact.

export interface Instant {
  sec: number
  nsec: number
}

const NS = 1_000_000_000n
export const DAY = 86_400

/** An instant from OPA's ns number; like OPA, anything that is not an exact int64 is "too big". */
function fromNs(ns: number): Instant {
  if (!Number.isInteger(ns) || ns < -(2 ** 63) || ns >= 2 ** 63) throw new Error('timestamp too big')
  const big = BigInt(ns)
  let sec = big / NS
  if (big % NS < 0n) sec -= 1n // floor, for instants before 1970
  return { sec: Number(sec), nsec: Number(big - sec * NS) }
}

/** OPA's toSafeUnixNano: only instants that fit an int64 of nanoseconds. */
export function toNs({ sec, nsec }: Instant): number {
  if (!Number.isSafeInteger(sec)) throw new Error('time outside of valid range')
  const ns = BigInt(sec) * NS + BigInt(nsec)
  if (ns < -(2n ** 63n) || ns >= 2n ** 63n) throw new Error('time outside of valid range')
  return Number(ns)
}

/** Days since the epoch of a proleptic Gregorian date; month and day may overflow (Go's time.Date normalises too). */
export function epochDays(year: number, month: number, day: number): number {
  const d = new Date(0)
  d.setUTCFullYear(year, month - 1, day) // unlike Date.UTC, no 1900 offset for years 0..99
  return d.getTime() / 86_400_000 // NaN when beyond Date's ±275,000 years
}

export function daysIn(year: number, month: number): number {
  return epochDays(year, month + 1, 1) - epochDays(year, month, 1)
}

/** Wall-clock fields of seconds since the epoch, read as UTC. */
export function civil(sec: number) {
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
export function zonedTime(v: unknown): ZonedTime {
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
export function local(t: ZonedTime) {
  const wall = t.sec + offsetAt(t.tz, t.sec)
  return { wall, ...civil(wall) }
}

export const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']

export function addDate(t: ZonedTime, years: number, months: number, days: number): number {
  const { wall, year, month, day } = local(t)
  const secOfDay = wall - epochDays(year, month, day) * DAY
  const newWall = epochDays(year + years, month + months, day + days) * DAY + secOfDay
  return toNs({ sec: fromWall(t.tz, newWall), nsec: t.nsec })
}

/** [years, months, days, hours, minutes, seconds] between two instants, in the first one's zone (OPA's algorithm). */
export function diff(a: ZonedTime, b: ZonedTime): number[] {
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
