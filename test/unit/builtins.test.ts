// Host built-ins (gateway/core/policy/builtins.ts) against OPA itself.
//
// The table's expected values and error messages are what OPA v1.22.2 answers for the same arguments:
//   echo '{"args": [...]}' | opa eval --strict-builtin-errors -f json --stdin-input 'time.date(input.args[0])'
// except where a comment says otherwise. Two deliberate differences: OPA names units.* twice in its errors
// ("units.parse: units.parse: ..."), here once; and results no double can hold throw instead.
// The end-to-end test compiles a policy to wasm and checks that opa-wasm's results equal `opa eval`'s.
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadPolicy } from '@open-policy-agent/opa-wasm'
import { x as untar } from 'tar'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHostBuiltins, HOST_BUILTINS } from '../../gateway/core/policy/builtins.ts'
import { findOpa } from '../../gateway/node/toolchain/opa.ts'

const fails = (message: string) => ({ fails: message })
const failure = (x: unknown): x is { fails: string } => typeof x === 'object' && x !== null && 'fails' in x

const TABLE: Record<string, [args: unknown[], expected: unknown][]> = {
  'time.parse_rfc3339_ns': [
    [['2023-11-14T22:13:20Z'], 1700000000000000000],
    [['2023-11-14T22:13:20.123456789Z'], 1700000000123456789],
    [['2023-11-14T23:13:20+01:00'], 1700000000000000000],
    [['2023-11-14T17:43:20.5-04:30'], 1700000000500000000],
    [['1970-01-01T00:00:00Z'], 0],
    [['1969-12-31T23:59:59.999Z'], -1000000],
    [['2024-02-29T12:00:00Z'], 1709208000000000000],
    [['2023-02-29T12:00:00Z'], fails('time.parse_rfc3339_ns: parsing time "2023-02-29T12:00:00Z": day out of range')],
    [['2023-13-01T00:00:00Z'], fails('time.parse_rfc3339_ns: parsing time "2023-13-01T00:00:00Z": month out of range')],
    [['2023-11-14T24:00:00Z'], fails('time.parse_rfc3339_ns: parsing time "2023-11-14T24:00:00Z": hour out of range')],
    [['2023-11-14T22:13:20'], fails('time.parse_rfc3339_ns: parsing time "2023-11-14T22:13:20" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "Z07:00"')],
    [['2023-11-14 22:13:20Z'], fails('time.parse_rfc3339_ns: parsing time "2023-11-14 22:13:20Z" as "2006-01-02T15:04:05Z07:00": cannot parse " 22:13:20Z" as "T"')],
    [['2023-11-14T22:13:20Zjunk'], fails('time.parse_rfc3339_ns: parsing time "2023-11-14T22:13:20Zjunk": extra text: "junk"')],
    [['2023-11-14T22:13:20z'], fails('time.parse_rfc3339_ns: parsing time "2023-11-14T22:13:20z" as "2006-01-02T15:04:05Z07:00": cannot parse "z" as "Z07:00"')],
    [['2023-11-14T22:13:20+0100'], fails('time.parse_rfc3339_ns: parsing time "2023-11-14T22:13:20+0100" as "2006-01-02T15:04:05Z07:00": cannot parse "+0100" as "Z07:00"')],
    [['1600-01-01T00:00:00Z'], fails('time.parse_rfc3339_ns: time outside of valid range')],
    [['2262-04-11T23:47:16.854775807Z'], 9223372036854775807],
    [['2262-04-11T23:47:16.854775808Z'], fails('time.parse_rfc3339_ns: time outside of valid range')],
    [['2023-11-14T22:13:20,5Z'], 1700000000500000000],
    [['2023-11-14T2:13:20Z'], 1699928000000000000],
    [['x'], fails('time.parse_rfc3339_ns: parsing time "x" as "2006-01-02T15:04:05Z07:00": cannot parse "x" as "2006"')],
    [[''], fails('time.parse_rfc3339_ns: parsing time "" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "2006"')],
    [['2023-11-14T22:13:20+25:00'], fails('time.parse_rfc3339_ns: parsing time "2023-11-14T22:13:20+25:00": time zone offset hour out of range')],
    [[1], fails('time.parse_rfc3339_ns: operand 1 must be string but got number')],
  ],
  'time.parse_ns': [
    [['2006-01-02', '2023-11-14'], 1699920000000000000],
    [['RFC3339', '2023-11-14T22:13:20Z'], 1700000000000000000],
    [['RFC3339Nano', '2023-11-14T22:13:20.000000001Z'], 1700000000000000001],
    [['RFC1123', 'Tue, 14 Nov 2023 22:13:20 GMT'], 1700000000000000000],
    [['RFC1123', 'Tue, 14 Nov 2023 22:13:20 PST'], 1700000000000000000],
    [['RFC1123', 'Tue, 14 Nov 2023 22:13:20 UTC'], 1700000000000000000],
    [['RFC1123', 'Tue, 14 Nov 2023 22:13:20 GMT+3'], 1700000000000000000],
    [['RFC1123Z', 'Tue, 14 Nov 2023 22:13:20 -0500'], 1700018000000000000],
    [['RFC822', '14 Nov 23 22:13 UTC'], 1699999980000000000],
    [['RFC822Z', '14 Nov 23 22:13 +0200'], 1699992780000000000],
    [['RFC850', 'Tuesday, 14-Nov-23 22:13:20 UTC'], 1700000000000000000],
    [['ANSIC', 'Tue Nov 14 22:13:20 2023'], 1700000000000000000],
    [['ANSIC', 'Tue Nov  4 22:13:20 2023'], 1699136000000000000],
    [['UnixDate', 'Tue Nov 14 22:13:20 UTC 2023'], 1700000000000000000],
    [['RubyDate', 'Tue Nov 14 22:13:20 +0100 2023'], 1699996400000000000],
    [['Jan 2, 2006 at 3:04pm (MST)', 'Feb 3, 2013 at 7:54pm (PST)'], 1359921240000000000],
    [['January 2 2006 3:04:05 PM', 'march 5 2021 12:00:01 am'], fails('time.parse_ns: parsing time "march 5 2021 12:00:01 am" as "January 2 2006 3:04:05 PM": cannot parse "am" as "PM"')],
    [['2006-01-02 15:04:05.000', '2023-11-14 22:13:20.123'], 1700000000123000000],
    [['2006-01-02 15:04:05.000', '2023-11-14 22:13:20.12'], fails('time.parse_ns: parsing time "2023-11-14 22:13:20.12" as "2006-01-02 15:04:05.000": cannot parse ".12" as ".000"')],
    [['2006-01-02 15:04:05.999', '2023-11-14 22:13:20'], 1700000000000000000],
    [['2006-01-02 15:04:05', '2023-11-14 22:13:20.987654321123'], 1700000000987654321],
    [['2006-01-02T15:04:05-07:00:00', '2023-11-14T22:13:20+01:30:15'], 1699994585000000000],
    [['2006-01-02T15:04:05Z0700', '2023-11-14T22:13:20Z'], 1700000000000000000],
    [['2006-01-02T15:04:05Z07', '2023-11-14T22:13:20-03'], 1700010800000000000],
    [['02/01/06', '14/11/23'], 1699920000000000000],
    [['02/01/06', '14/11/68'], 3120076800000000000],
    [['02/01/06', '14/11/69'], -4147200000000000],
    [['15:04', '22:13'], fails('time.parse_ns: time outside of valid range')],
    [['2006-01-02', '2023-11-31'], fails('time.parse_ns: parsing time "2023-11-31": day out of range')],
    [['2006-01-02', '2023-1-14'], fails('time.parse_ns: parsing time "2023-1-14" as "2006-01-02": cannot parse "1-14" as "01"')],
    [['2006-1-2', '2023-1-4'], 1672790400000000000],
    [['2006-01-02', '2023-11-14 extra'], fails('time.parse_ns: parsing time "2023-11-14 extra": extra text: " extra"')],
    [['2006-01-02 Monday', '2023-11-14 Friday'], 1699920000000000000],
    [['2006-01-02 Mon', '2023-11-14 xyz'], fails('time.parse_ns: parsing time "2023-11-14 xyz" as "2006-01-02 Mon": cannot parse "xyz" as "Mon"')],
    [['2006  01', '2023 11'], 1698796800000000000],
    [['2006-002', '2023-318'], 1699920000000000000],
    [['not a layout', 'not a layout'], fails('time.parse_ns: time outside of valid range')],
    [['2006-01-02', 5], fails('time.parse_ns: operand 2 must be string but got number')],
  ],
  'time.date': [
    [[1700000000000000000], [2023, 11, 14]],
    [[0], [1970, 1, 1]],
    [[-1], [1969, 12, 31]],
    [[[1700000000000000000, 'America/New_York']], [2023, 11, 14]],
    [[[1700000000000000000, 'Asia/Tokyo']], [2023, 11, 15]],
    [[[1700000000000000000, 'Local']], [2023, 11, 14]],
    [[[1700000000000000000, '']], [2023, 11, 14]],
    [[[1700000000000000000]], [2023, 11, 14]],
    [[[1700000000000000000, 'UTC', '2006']], [2023, 11, 14]],
    [[[1700000000000000000, 'Foo/Bar']], fails('time.date: unknown time zone Foo/Bar')],
    [[[1700000000000000000, 'utc']], fails('time.date: unknown time zone utc')],
    [[[1700000000000000000, 'Etc/UTC']], [2023, 11, 14]],
    [[[1700000000000000000, 'Europe/Kyiv']], [2023, 11, 15]],
    [[[1700000000000000000, 5]], fails('time.date: operand 1 must be string but got number')],
    [[['x', 'UTC']], fails('time.date: operand 1 must be number but got string')],
    [[[]], fails('time.date: operand 1 must be either number (ns) or [number (ns), string (tz)] but got array')],
    [['x'], fails('time.date: operand 1 must be either number (ns) or [number (ns), string (tz)] but got string')],
    [[1.5], fails('time.date: timestamp too big')],
    [[10000000000000000000], fails('time.date: timestamp too big')],
    [[-9223372036854775808], [1677, 9, 21]], // -2^63, the smallest int64: valid
    [[9223372036854775000], [2262, 4, 11]],
  ],
  'time.clock': [
    [[1700000000000000000], [22, 13, 20]],
    [[[1700000000000000000, 'Asia/Kolkata']], [3, 43, 20]],
    [[[1700000000000000000, 'America/St_Johns']], [18, 43, 20]],
    [[-1], [23, 59, 59]],
    [[[1710054000000000000, 'America/New_York']], [3, 0, 0]],
    [[[-2208988800000000000, 'Asia/Kolkata']], [5, 21, 10]], // 1900: local mean time, offset with seconds
    [[[1700000000000000000, 'Australia/Lord_Howe']], [9, 13, 20]], // half-hour DST
  ],
  'time.weekday': [
    [[1700000000000000000], 'Tuesday'],
    [[0], 'Thursday'],
    [[[1700000000000000000, 'Pacific/Kiritimati']], 'Wednesday'],
    [[[1700000000000000000, 'Pacific/Pago_Pago']], 'Tuesday'],
    [[-86400000000000], 'Wednesday'],
  ],
  'time.add_date': [
    [[1700000000000000000, 1, 0, 0], 1731622400000000000],
    [[1700000000000000000, 0, 1, 0], 1702592000000000000],
    [[1700000000000000000, 0, 0, 1], 1700086400000000000],
    [[1700000000000000000, -1, -2, -3], 1662934400000000000],
    [[1706659200000000000, 0, 1, 0], 1709337600000000000],
    [[1709164800000000000, 1, 0, 0], 1740787200000000000],
    [[1700000000000000000, 0, 0, 100000], fails('time.add_date: time outside of valid range')],
    [[1700000000000000000, 1000, 0, 0], fails('time.add_date: time outside of valid range')],
    [[1700000000000000000, 1.5, 0, 0], fails('time.add_date: operand 2 must be integer number but got floating-point number')],
    [[1700000000000000000, '1', 0, 0], fails('time.add_date: operand 2 must be number but got string')],
    [[[1710021600000000000, 'America/New_York'], 0, 0, 1], 1710104400000000000],
    [[[1709964000000000000, 'America/New_York'], 0, 0, 1], 1710050400000000000],
    [[[1730548800000000000, 'America/New_York'], 0, 0, 1], 1730638800000000000],
    [[[1711846800000000000, 'Europe/London'], 0, 0, 1], 1711933200000000000],
    [[[1700000000000000000, 'Asia/Tokyo'], 0, 3, 0], 1707948800000000000],
  ],
  'time.diff': [
    [[1700000000000000000, 0], [53, 10, 13, 22, 13, 20]],
    [[0, 1700000000000000000], [53, 10, 13, 22, 13, 20]],
    [[1700000000000000000, 1700000000000000000], [0, 0, 0, 0, 0, 0]],
    [[1706659200000000000, 1709164800000000000], [0, 0, 29, 0, 0, 0]],
    [[1709164800000000000, 1740787200000000000], [1, 0, 1, 0, 0, 0]],
    [[[1700000000000000000, 'Asia/Tokyo'], [1690000000000000000, 'UTC']], [0, 3, 23, 17, 46, 40]],
    [[[1700000000000000000, 'America/New_York'], 1690000000000000000], [0, 3, 23, 16, 46, 40]],
    [[1, 0], [0, 0, 0, 0, 0, 0]],
    [[1700000000000000000, 'x'], fails('time.diff: operand 1 must be either number (ns) or [number (ns), string (tz)] but got string')],
  ],
  'units.parse_bytes': [
    [['0'], 0],
    [['1'], 1],
    [['1.5'], 1],
    [['10KB'], 10000],
    [['10kb'], 10000],
    [['10k'], 10000],
    [['10KiB'], 10240],
    [['10ki'], 10240],
    [['1MB'], 1000000],
    [['1MiB'], 1048576],
    [['1.5GiB'], 1610612736],
    [['2.3gib'], 2469606195],
    [['1TB'], 1000000000000],
    [['1tib'], 1099511627776],
    [['1PB'], 1000000000000000],
    [['1pib'], 1125899906842624],
    [['1EB'], 1000000000000000000],
    [['1eib'], 1152921504606846976],
    [['16eib'], 18446744073709551616],
    [['0.1kb'], 100],
    [['0.3kb'], 300],
    [['1.1kb'], 1100],
    [['0.7mb'], 700000],
    [['-1kb'], -1000],
    [['+5mib'], 5242880],
    [['1.'], 1],
    [['.5k'], 500],
    [['1e3'], 1000],
    [['1e'], 1000000000000000000],
    [['1E3KB'], 1000000],
    [['1e-2kb'], 10],
    [['1e+2k'], 100000],
    [['"10MB"'], 10000000],
    [['10 MB'], fails('units.parse_bytes: spaces not allowed in resource strings')],
    [[' 10'], fails('units.parse_bytes: spaces not allowed in resource strings')],
    [['MB'], fails('units.parse_bytes: no byte amount provided')],
    [[''], fails('units.parse_bytes: no byte amount provided')],
    [['10XB'], fails('units.parse_bytes: byte unit xb not recognized')],
    [['1.2.3kb'], fails('units.parse_bytes: could not parse byte amount to a number')],
    [['1e1234567'], fails('units.parse_bytes: exponent too large')],
    [['12345678901234567890'], 12345678901234567890],
    [['1e20'], 100000000000000000000],
    [['1e400'], fails('units.parse_bytes: amount too large')], // OPA: 10^400, which no double holds
    [['1e-400'], 0],
    [['-0'], 0],
    [['1_000'], fails('units.parse_bytes: byte unit _000 not recognized')],
    [['0x10'], fails('units.parse_bytes: byte unit x10 not recognized')],
    [['.'], fails('units.parse_bytes: could not parse byte amount to a number')],
    [['+'], fails('units.parse_bytes: could not parse byte amount to a number')],
    [['e5'], fails('units.parse_bytes: could not parse byte amount to a number')],
    [['1.e2'], 100],
    [['.e2'], fails('units.parse_bytes: could not parse byte amount to a number')],
    [['3.999999999999999999999'], 4], // rounded to 64 bits before truncation, as big.Float does
    [['538211982.64115mb'], 538211982641149], // likewise: not ...150
    [[10], fails('units.parse_bytes: operand 1 must be string but got number')],
  ],
  'units.parse': [
    [['0'], 0],
    [['1'], 1],
    [['1.5'], 1.5],
    [['10K'], 10000],
    [['10k'], 10000],
    [['10Ki'], 10240],
    [['10ki'], 10240],
    [['1M'], 1000000],
    [['1m'], 0.001],
    [['1Mi'], 1048576],
    [['1mi'], 1048576],
    [['1G'], 1000000000],
    [['1Gi'], 1073741824],
    [['1T'], 1000000000000],
    [['1Ti'], 1099511627776],
    [['1P'], 1000000000000000],
    [['1Pi'], 1125899906842624],
    [['1E'], 1000000000000000000],
    [['1Ei'], 1152921504606846976],
    [['1e3'], 1000],
    [['1e3m'], 1],
    [['1e'], 1000000000000000000],
    [['1.5m'], 0.0015],
    [['100m'], 0.1],
    [['1000m'], 1],
    [['0.5m'], 0.0005],
    [['0.00000005m'], 1e-10],
    [['646777132.692662148092217m'], 646777.1326926622], // milli is the double nearest 0.001, as in OPA
    [['0.00000004m'], 0],
    [['-1.5m'], -0.0015],
    [['-0.00000000001'], 0],
    [['1/3'], fails('units.parse: unit /3 not recognized')],
    [['1KI'], 1024],
    [['1KB'], fails('units.parse: unit Kb not recognized')],
    [['abc'], fails('units.parse: no amount provided')],
    [[''], fails('units.parse: no amount provided')],
    [['1 k'], fails('units.parse: spaces not allowed in resource strings')],
    [['"1k"'], 1000],
    [['1e-11'], 0],
    [['1e-10'], 1e-10],
    [['0.12345678905'], 0.1234567891],
    [['-0.12345678905'], -0.1234567891],
    [['0.333333333333333'], 0.3333333333],
    [['1.'], 1],
    [['.5'], 0.5],
    [['1e400'], fails('units.parse: amount too large')], // OPA: 10^400
    [['12345678901234567890M'], 12345678901234567890000000],
    [['1Em'], fails('units.parse: unit Em not recognized')],
  ],
  'crypto.sha256': [
    [[''], 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    [['abc'], 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    [['hello world'], 'b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9'],
    [['héllo ☃ 😀'], '580dcda131c1ca42e4a009e621dcdd5aafa91f571b0288e77d67bbbf39c86f55'],
    [['a'.repeat(1000)], '41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3'],
    [[1], fails('crypto.sha256: operand 1 must be string but got number')],
  ],
  'crypto.md5': [
    [[''], 'd41d8cd98f00b204e9800998ecf8427e'],
    [['abc'], '900150983cd24fb0d6963f7d28e17f72'],
    [['hello world'], '5eb63bbbe01eeed093cb22bb8f5acdc3'],
    [['héllo ☃ 😀'], '44314d05b09b74dafda26d5273d91a17'],
    [['a'.repeat(1000)], 'cabe45dcc9ae5b66ba86600cca6b8ba8'],
  ],
  'crypto.sha1': [
    [[''], 'da39a3ee5e6b4b0d3255bfef95601890afd80709'],
    [['abc'], 'a9993e364706816aba3e25717850c26c9cd0d89d'],
    [['hello world'], '2aae6c35c94fcfb415dbe95f408b9ce91ee846ed'],
    [['héllo ☃ 😀'], 'a36431196ce8ed709939b7cf3a288727182e1f39'],
    [['a'.repeat(1000)], '291e9a6c66994949b57ba5e650361e98fc36b1ba'],
  ],
  'crypto.hmac.sha256': [
    [['message', 'key'], '6e9ef29b75fffc5b7abae527d58fdadb2fe42e7219011976917343065f58ed4a'],
    [['', ''], 'b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad'],
    [['héllo', 'k'.repeat(100)], '3fb2eaa48b8da5ef796dbf6b4b098a74c6670259cefcd21484e64c7120374fe2'],
    [['m', 1], fails('crypto.hmac.sha256: operand 2 must be string but got number')],
  ],
  'urlquery.encode': [
    [[''], ''],
    [['a b'], 'a+b'],
    [['a+b'], 'a%2Bb'],
    [['a&b=c/d?e#f'], 'a%26b%3Dc%2Fd%3Fe%23f'],
    [['!*\'()~-_.'], '%21%2A%27%28%29~-_.'],
    [['héllo ☃ 😀'], 'h%C3%A9llo+%E2%98%83+%F0%9F%98%80'],
    [['%'], '%25'],
    [['100%'], '100%25'],
    [['\n\t'], '%0A%09'],
  ],
  'urlquery.decode': [
    [[''], ''],
    [['a+b'], 'a b'],
    [['a%20b'], 'a b'],
    [['%E2%98%83'], '☃'],
    [['%e2%98%83'], '☃'],
    [['%'], fails('urlquery.decode: invalid URL escape "%"')],
    [['%zz'], fails('urlquery.decode: invalid URL escape "%zz"')],
    [['a%2'], fails('urlquery.decode: invalid URL escape "%2"')],
    [['%ff'], '\ufffd'],
    [['caf%C3%A9+%2B'], 'café +'],
    [['100%'], fails('urlquery.decode: invalid URL escape "%"')],
  ],
  'urlquery.encode_object': [
    [[{ a: 'b', c: ['d', 'e'], 'sp ace': 'x y', z: [] }], 'a=b&c=d&c=e&sp+ace=x+y'],
    [[{}], ''],
    [[{ b: '2', a: '1', B: '3', 'é': '4', _: '5' }], 'B=3&_=5&a=1&b=2&%C3%A9=4'],
    [[{ a: 1 }], fails('urlquery.encode_object: operand 1 values must be string, array[string], or set[string]')],
    [[{ a: [1] }], fails('urlquery.encode_object: operand 1 values must be string, array[string], or set[string]')],
    [['x'], fails('urlquery.encode_object: operand 1 must be object but got string')],
  ],
  'urlquery.decode_object': [
    [[''], {}],
    [['a=b'], { a: ['b'] }],
    [['a=b&a=c&d'], { a: ['b', 'c'], d: [''] }],
    [['a=b&&c=d&'], { a: ['b'], c: ['d'] }],
    [['a=1;b=2'], fails('urlquery.decode_object: invalid semicolon separator in query')],
    [['a=%zz&b=1'], fails('urlquery.decode_object: invalid URL escape "%zz"')],
    [['x=%E2%98%83+y'], { x: ['☃ y'] }],
    [['=v'], { '': ['v'] }],
    [['k='], { k: [''] }],
    [['a=b=c'], { a: ['b=c'] }],
    [['__proto__=1'], { ['__proto__']: ['1'] }],
    [['a%2Bb=c%26d'], { 'a+b': ['c&d'] }],
  ],
  'strings.any_prefix_match': [
    [['foobar', 'foo'], true],
    [['foobar', 'bar'], false],
    [[['a', 'foobar'], ['x', 'foo']], true],
    [[['a', 'b'], ['x', 'y']], false],
    [['foobar', []], false],
    [[[], 'a'], false],
    [['foobar', ''], true],
    [[1, 'a'], fails('strings.any_prefix_match: operand 1 must be one of {string, set, array} but got number')],
    [['a', 1], fails('strings.any_prefix_match: operand 2 must be one of {string, set, array} but got number')],
    [[['a', 1], ['a']], fails('strings.any_prefix_match: operand 1 must be array of strings but got array containing number')],
  ],
  'strings.any_suffix_match': [
    [['foobar', 'bar'], true],
    [['foobar', 'foo'], false],
    [[['api.example.com', 'x'], ['.example.com', '.test']], true],
    [[['a', 'b'], ['x', 'y']], false],
    [['a', [null]], fails('strings.any_suffix_match: operand 2 must be array of strings but got array containing null')],
  ],
  'net.cidr_is_valid': [
    [['10.0.0.0/8'], true],
    [['10.0.0.0/08'], true],
    [['10.0.0.0/33'], false],
    [['10.0.0.0/32'], true],
    [['10.0.0.0'], false],
    [['10.0.0/8'], false],
    [['010.0.0.0/8'], false],
    [['256.0.0.0/8'], false],
    [['1.2.3.4/0'], true],
    [['1.2.3.4/'], false],
    [['1.2.3.4/-1'], false],
    [['1.2.3.4/+8'], false],
    [['::/0'], true],
    [['::1/128'], true],
    [['::1/129'], false],
    [['fe80::1%eth0/64'], false],
    [['2001:db8::/32'], true],
    [['2001:db8:0:0:0:0:0:1/64'], true],
    [['2001:db8:0:0:0:0:0:0:1/64'], false],
    [['1:2:3:4:5:6:7::/64'], true],
    [['::1:2:3:4:5:6:7:8/64'], false],
    [['::ffff:1.2.3.4/96'], true],
    [['1:2:3:4:5:6:1.2.3.4/64'], true],
    [['1:2:3:4:5:1.2.3.4/64'], false],
    [['::1.2.3/64'], false],
    [['1.2.3.4::/64'], false],
    [[':::/0'], false],
    [['1::2::3/64'], false],
    [['12345::/64'], false],
    [['g::/64'], false],
    [[':1::/64'], false],
    [['1::2:/64'], false],
    [[''], false],
    [['/8'], false],
    [['abc/8'], false],
    [[' 10.0.0.0/8'], false],
    [['10.0.0.0/8 '], false],
    [['::ffff:1.2.3.4/129'], false],
    [['1.2.3.4/0000000000008'], true],
    [[5], false],
  ],
  'hex.encode': [
    [[''], ''],
    [['abc'], '616263'],
    [['héllo ☃'], '68c3a96c6c6f20e29883'],
    [['\u0000ÿ'], '00c3bf'],
    [[1], fails('hex.encode: operand 1 must be string but got number')],
  ],
  'hex.decode': [
    [[''], ''],
    [['616263'], 'abc'],
    [['616'], fails('hex.decode: encoding/hex: odd length hex string')],
    [['ABCDEF'], '\ufffd\ufffd\ufffd'],
    [['zz'], fails('hex.decode: encoding/hex: invalid byte: U+007A \'z\'')],
    [['61z'], fails('hex.decode: encoding/hex: invalid byte: U+007A \'z\'')],
    [['e298'], '\ufffd\ufffd'],
    [['e29883'], '☃'],
    [['ff'], '\ufffd'],
    [['00'], '\u0000'],
    [['6'], fails('hex.decode: encoding/hex: odd length hex string')],
    [['ü'], fails('hex.decode: encoding/hex: invalid byte: U+00C3 \'Ã\'')],
  ],
}

describe('host built-ins, against OPA', () => {
  const builtins = createHostBuiltins({ nowNs: () => 0 })
  describe.each(Object.entries(TABLE))('%s', (name, rows) => {
    const cases = rows.map(([args, expected]) => [JSON.stringify(args).slice(0, 100), args, expected] as const)
    it.each(cases)('%s', (_, args, expected) => {
      const call = () => builtins[name]!(...args)
      if (failure(expected)) expect(call).toThrowError(new Error(expected.fails))
      else expect(call()).toEqual(expected)
    })
  })

  it('implements exactly the built-ins it lists', () => {
    expect(Object.keys(builtins).sort()).toEqual([...HOST_BUILTINS].sort())
    expect([...HOST_BUILTINS].sort()).toEqual(['time.now_ns', ...Object.keys(TABLE)].sort())
  })

  it('time.now_ns asks the injected clock on every call (the gateway pins it per evaluation)', () => {
    let now = 1_700_000_000_000_000_000
    const { 'time.now_ns': nowNs } = createHostBuiltins({ nowNs: () => now })
    expect(nowNs!()).toBe(1_700_000_000_000_000_000)
    expect(nowNs!()).toBe(1_700_000_000_000_000_000)
    now += 1e9
    expect(nowNs!()).toBe(1_700_000_001_000_000_000)
  })

  it('throws Error instances', () => {
    expect(() => builtins['hex.decode']!('zz')).toThrowError(Error)
  })

  it('stays runtime-agnostic: no node:* imports', () => {
    const source = readFileSync(new URL('../../gateway/core/policy/builtins.ts', import.meta.url), 'utf8')
    expect(source).not.toMatch(/from\s+['"]node:|import\(\s*['"]node:/)
  })
})

// Every host built-in, with arguments from the input so that nothing is folded at compile time.
const POLICY = `package test

result := {
	"now": time.now_ns(),
	"now_again": time.now_ns(),
	"today": time.date(time.now_ns()),
	"parse_rfc3339_ns": time.parse_rfc3339_ns(input.rfc3339),
	"parse_ns": time.parse_ns("RFC1123", input.http_date),
	"date": time.date([input.ns, "Asia/Tokyo"]),
	"clock": time.clock([input.ns, "Asia/Kolkata"]),
	"weekday": time.weekday(input.ns),
	"add_date": time.add_date(input.ns, 0, 1, 0),
	"diff": time.diff(input.ns, 0),
	"parse_bytes": units.parse_bytes(input.size),
	"parse": units.parse(input.quantity),
	"sha256": crypto.sha256(input.text),
	"md5": crypto.md5(input.text),
	"sha1": crypto.sha1(input.text),
	"hmac": crypto.hmac.sha256(input.text, input.key),
	"encode": urlquery.encode(input.text),
	"decode": urlquery.decode(input.encoded),
	"encode_object": urlquery.encode_object({"q": input.text, "tags": ["b", "a"]}),
	"decode_object": urlquery.decode_object(input.query),
	"prefix": strings.any_prefix_match(input.host, {"api.", "www."}),
	"suffix": strings.any_suffix_match([input.host], [".example.com"]),
	"cidr": net.cidr_is_valid(input.cidr),
	"hex": hex.encode(input.text),
	"unhex": hex.decode(input.hex),
}

broken := hex.decode(input.text)
`

const INPUT = {
  rfc3339: '2023-11-14T22:13:20.123456789+01:00',
  http_date: 'Tue, 14 Nov 2023 22:13:20 GMT',
  ns: 1_700_000_000_000_000_000,
  size: '1.5GiB',
  quantity: '250m',
  text: 'héllo wörld & ☃',
  key: 'secret',
  encoded: 'a%20b+c%E2%98%83',
  query: 'a=1&b=2&a=3&empty',
  host: 'api.example.com',
  cidr: '2001:db8::/32',
  hex: 'e298',
}

describe('host built-ins in a policy compiled to wasm', () => {
  let dir: string
  let opa: string

  beforeAll(() => {
    opa = findOpa()
    dir = mkdtempSync(join(tmpdir(), 'airlock-builtins-'))
    writeFileSync(join(dir, 'policy.rego'), POLICY)
    execFileSync(opa, ['build', '-t', 'wasm', '-e', 'test/result', '-e', 'test/broken', '-o', 'bundle.tar.gz', 'policy.rego'], { cwd: dir })
    // Into its own directory: the bundle also holds a policy.rego (the entrypoints only).
    mkdirSync(join(dir, 'bundle'))
    untar({ file: join(dir, 'bundle.tar.gz'), cwd: join(dir, 'bundle'), sync: true }, ['/policy.wasm'])
  }, 120_000)

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('returns what opa eval returns, with time.now_ns from the pinned clock', async () => {
    const wasm = readFileSync(join(dir, 'bundle/policy.wasm'))
    let pinned = 0
    const policy = await loadPolicy(wasm, { initial: 10, maximum: 1024 }, createHostBuiltins({ nowNs: () => pinned }))

    pinned = 1_700_000_000_000_000_000
    const [{ result }] = policy.evaluate(INPUT, 'test/result')
    const stdout = execFileSync(opa, ['eval', '--strict-builtin-errors', '-f', 'json', '-d', 'policy.rego', '--stdin-input', 'data.test.result'], {
      cwd: dir,
      input: JSON.stringify(INPUT),
      encoding: 'utf8',
    })
    const expected = JSON.parse(stdout).result[0].expressions[0].value

    // opa eval's clock is the real one; the wasm policy's is pinned.
    const { now, now_again, today, ...rest } = result
    expect([now, now_again, today]).toEqual([1_700_000_000_000_000_000, 1_700_000_000_000_000_000, [2023, 11, 14]])
    for (const key of ['now', 'now_again', 'today']) delete expected[key]
    expect(rest).toEqual(expected)
    expect(Object.keys(rest)).toHaveLength(HOST_BUILTINS.length - 1) // one key per other built-in
  })

  it('turns a failing built-in into an evaluation error', async () => {
    const wasm = readFileSync(join(dir, 'bundle/policy.wasm'))
    const policy = await loadPolicy(wasm, { initial: 10, maximum: 1024 }, createHostBuiltins({ nowNs: () => 0 }))
    expect(() => policy.evaluate(INPUT, 'test/broken')).toThrowError(new Error("hex.decode: encoding/hex: invalid byte: U+0068 'h'"))
  })
})
