// Host built-ins against OPA itself: net.cidr_is_valid.
// Expected values and errors are what OPA answers for the same arguments (how they were taken: ./table.ts).
import { describe } from 'vitest'
import { type Cases, checkAgainstOpa } from './table.ts'

const CASES: Cases = {
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
}

describe('net built-ins, against OPA', () => checkAgainstOpa(CASES, ['net.']))
