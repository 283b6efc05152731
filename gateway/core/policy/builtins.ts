// Host implementations of the OPA built-ins that `opa build -t wasm` leaves out (the policy imports them and
// @open-policy-agent/opa-wasm calls `customBuiltins[name](...args)`): synchronous, JSON values in and out.
// Semantics, edge cases and error messages follow OPA v1.22's Go implementation (v1/topdown). A thrown Error becomes
// an evaluation error, which the gateway treats as a denial (fail closed).
//
// Runtime-agnostic (no node:* imports: this runs unchanged on Workers). Hashing is synchronous, so WebCrypto's
// async digest is out: @noble/hashes provides sha256/md5/sha1/hmac.
//
// This file is the index: the table of built-ins and the differences from OPA. The implementations live by family
// in builtins/: operands.ts (argument checks), time.ts (instants, calendar, zones), go-time.ts (Go's time.Parse),
// units.ts, encoding.ts (urlquery, hex, UTF-8), net.ts.
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
import { decodeObject, encodeObject, hexDecode, queryEscape, queryUnescape, utf8 } from './builtins/encoding.ts'
import { goParse, NAMED_LAYOUTS } from './builtins/go-time.ts'
import { cidrIsValid } from './builtins/net.ts'
import { int, str, strings } from './builtins/operands.ts'
import { addDate, diff, local, toNs, WEEKDAYS, zonedTime } from './builtins/time.ts'
import { parseBytes, parseUnits } from './builtins/units.ts'

/** A host built-in: JSON values in (checked by the built-in itself), a JSON value out. */
export type Builtin = (...args: unknown[]) => unknown

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
  'crypto.hmac.sha256': (message, key) =>
    bytesToHex(hmac(sha256, utf8.encode(str(key, 2)), utf8.encode(str(message, 1)))),
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
