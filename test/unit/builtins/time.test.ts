// Host built-ins against OPA itself: Time: time.parse_rfc3339_ns, time.parse_ns (Go's time.Parse), time.date, time.clock, time.weekday, time.add_date, time.diff.
// Expected values and errors are what OPA answers for the same arguments (how they were taken: ./table.ts).
import { describe } from 'vitest'
import { type Cases, checkAgainstOpa, fails } from './table.ts'

const CASES: Cases = {
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
    [
      ['2023-11-14T22:13:20'],
      fails(
        'time.parse_rfc3339_ns: parsing time "2023-11-14T22:13:20" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "Z07:00"',
      ),
    ],
    [
      ['2023-11-14 22:13:20Z'],
      fails(
        'time.parse_rfc3339_ns: parsing time "2023-11-14 22:13:20Z" as "2006-01-02T15:04:05Z07:00": cannot parse " 22:13:20Z" as "T"',
      ),
    ],
    [
      ['2023-11-14T22:13:20Zjunk'],
      fails('time.parse_rfc3339_ns: parsing time "2023-11-14T22:13:20Zjunk": extra text: "junk"'),
    ],
    [
      ['2023-11-14T22:13:20z'],
      fails(
        'time.parse_rfc3339_ns: parsing time "2023-11-14T22:13:20z" as "2006-01-02T15:04:05Z07:00": cannot parse "z" as "Z07:00"',
      ),
    ],
    [
      ['2023-11-14T22:13:20+0100'],
      fails(
        'time.parse_rfc3339_ns: parsing time "2023-11-14T22:13:20+0100" as "2006-01-02T15:04:05Z07:00": cannot parse "+0100" as "Z07:00"',
      ),
    ],
    [['1600-01-01T00:00:00Z'], fails('time.parse_rfc3339_ns: time outside of valid range')],
    [['2262-04-11T23:47:16.854775807Z'], 9223372036854775807],
    [['2262-04-11T23:47:16.854775808Z'], fails('time.parse_rfc3339_ns: time outside of valid range')],
    [['2023-11-14T22:13:20,5Z'], 1700000000500000000],
    [['2023-11-14T2:13:20Z'], 1699928000000000000],
    [
      ['x'],
      fails('time.parse_rfc3339_ns: parsing time "x" as "2006-01-02T15:04:05Z07:00": cannot parse "x" as "2006"'),
    ],
    [[''], fails('time.parse_rfc3339_ns: parsing time "" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "2006"')],
    [
      ['2023-11-14T22:13:20+25:00'],
      fails('time.parse_rfc3339_ns: parsing time "2023-11-14T22:13:20+25:00": time zone offset hour out of range'),
    ],
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
    [
      ['January 2 2006 3:04:05 PM', 'march 5 2021 12:00:01 am'],
      fails(
        'time.parse_ns: parsing time "march 5 2021 12:00:01 am" as "January 2 2006 3:04:05 PM": cannot parse "am" as "PM"',
      ),
    ],
    [['2006-01-02 15:04:05.000', '2023-11-14 22:13:20.123'], 1700000000123000000],
    [
      ['2006-01-02 15:04:05.000', '2023-11-14 22:13:20.12'],
      fails(
        'time.parse_ns: parsing time "2023-11-14 22:13:20.12" as "2006-01-02 15:04:05.000": cannot parse ".12" as ".000"',
      ),
    ],
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
    [
      ['2006-01-02', '2023-1-14'],
      fails('time.parse_ns: parsing time "2023-1-14" as "2006-01-02": cannot parse "1-14" as "01"'),
    ],
    [['2006-1-2', '2023-1-4'], 1672790400000000000],
    [['2006-01-02', '2023-11-14 extra'], fails('time.parse_ns: parsing time "2023-11-14 extra": extra text: " extra"')],
    [['2006-01-02 Monday', '2023-11-14 Friday'], 1699920000000000000],
    [
      ['2006-01-02 Mon', '2023-11-14 xyz'],
      fails('time.parse_ns: parsing time "2023-11-14 xyz" as "2006-01-02 Mon": cannot parse "xyz" as "Mon"'),
    ],
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
    [
      [1700000000000000000, 1.5, 0, 0],
      fails('time.add_date: operand 2 must be integer number but got floating-point number'),
    ],
    [[1700000000000000000, '1', 0, 0], fails('time.add_date: operand 2 must be number but got string')],
    [[[1710021600000000000, 'America/New_York'], 0, 0, 1], 1710104400000000000],
    [[[1709964000000000000, 'America/New_York'], 0, 0, 1], 1710050400000000000],
    [[[1730548800000000000, 'America/New_York'], 0, 0, 1], 1730638800000000000],
    [[[1711846800000000000, 'Europe/London'], 0, 0, 1], 1711933200000000000],
    [[[1700000000000000000, 'Asia/Tokyo'], 0, 3, 0], 1707948800000000000],
  ],
  'time.diff': [
    [
      [1700000000000000000, 0],
      [53, 10, 13, 22, 13, 20],
    ],
    [
      [0, 1700000000000000000],
      [53, 10, 13, 22, 13, 20],
    ],
    [
      [1700000000000000000, 1700000000000000000],
      [0, 0, 0, 0, 0, 0],
    ],
    [
      [1706659200000000000, 1709164800000000000],
      [0, 0, 29, 0, 0, 0],
    ],
    [
      [1709164800000000000, 1740787200000000000],
      [1, 0, 1, 0, 0, 0],
    ],
    [
      [
        [1700000000000000000, 'Asia/Tokyo'],
        [1690000000000000000, 'UTC'],
      ],
      [0, 3, 23, 17, 46, 40],
    ],
    [
      [[1700000000000000000, 'America/New_York'], 1690000000000000000],
      [0, 3, 23, 16, 46, 40],
    ],
    [
      [1, 0],
      [0, 0, 0, 0, 0, 0],
    ],
    [
      [1700000000000000000, 'x'],
      fails('time.diff: operand 1 must be either number (ns) or [number (ns), string (tz)] but got string'),
    ],
  ],
}

describe('time built-ins, against OPA', () => checkAgainstOpa(CASES, ['time.']))
