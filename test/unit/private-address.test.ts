// Regression for issue 10 item 4 (SSRF ranges missing): every range of the IANA IPv4 and IPv6 Special-Purpose
// Address Registries (RFC 6890 and updates) is refused, at both ends of the range; IPv6 formats that carry an IPv4
// address (mapped, SIIT, NAT64, 6to4, Teredo) are judged by the embedded address.
import { describe, expect, it } from 'vitest'
import { isPrivateAddress } from '../../gateway/core/private-address.ts'

// [registry entry, first address, last address]
const IPV4_SPECIAL: [string, string, string][] = [
  ['0.0.0.0/8 this network', '0.0.0.0', '0.255.255.255'],
  ['10.0.0.0/8 private', '10.0.0.0', '10.255.255.255'],
  ['100.64.0.0/10 shared address space', '100.64.0.0', '100.127.255.255'],
  ['127.0.0.0/8 loopback', '127.0.0.0', '127.255.255.255'],
  ['169.254.0.0/16 link-local', '169.254.0.0', '169.254.255.255'],
  ['172.16.0.0/12 private', '172.16.0.0', '172.31.255.255'],
  ['192.0.0.0/24 IETF protocol assignments', '192.0.0.0', '192.0.0.255'],
  ['192.0.0.0/29 DS-Lite', '192.0.0.0', '192.0.0.7'],
  ['192.0.0.8/32 IPv4 dummy address', '192.0.0.8', '192.0.0.8'],
  ['192.0.0.9/32 PCP anycast', '192.0.0.9', '192.0.0.9'],
  ['192.0.0.10/32 TURN anycast', '192.0.0.10', '192.0.0.10'],
  ['192.0.0.170/32 NAT64/DNS64 discovery', '192.0.0.170', '192.0.0.171'],
  ['192.0.2.0/24 TEST-NET-1', '192.0.2.0', '192.0.2.255'],
  ['192.31.196.0/24 AS112-v4', '192.31.196.0', '192.31.196.255'],
  ['192.52.193.0/24 AMT', '192.52.193.0', '192.52.193.255'],
  ['192.88.99.0/24 deprecated 6to4 relay anycast', '192.88.99.0', '192.88.99.255'],
  ['192.168.0.0/16 private', '192.168.0.0', '192.168.255.255'],
  ['192.175.48.0/24 AS112 direct delegation', '192.175.48.0', '192.175.48.255'],
  ['198.18.0.0/15 benchmarking', '198.18.0.0', '198.19.255.255'],
  ['198.51.100.0/24 TEST-NET-2', '198.51.100.0', '198.51.100.255'],
  ['203.0.113.0/24 TEST-NET-3', '203.0.113.0', '203.0.113.255'],
  ['224.0.0.0/4 multicast', '224.0.0.0', '239.255.255.255'],
  ['240.0.0.0/4 reserved', '240.0.0.0', '255.255.255.254'],
  ['255.255.255.255/32 limited broadcast', '255.255.255.255', '255.255.255.255'],
]

const IPV6_SPECIAL: [string, string, string][] = [
  ['::/128 unspecified', '::', '::'],
  ['::1/128 loopback', '::1', '::1'],
  ['::/96 IPv4-compatible (deprecated)', '::2', '::ffff:ffff'],
  ['64:ff9b:1::/48 local-use IPv4/IPv6 translation', '64:ff9b:1::', '64:ff9b:1:ffff:ffff:ffff:ffff:ffff'],
  ['100::/64 discard-only', '100::', '100::ffff:ffff:ffff:ffff'],
  ['100:0:0:1::/64 dummy IPv6 prefix', '100:0:0:1::', '100:0:0:1:ffff:ffff:ffff:ffff'],
  ['2001::/23 IETF protocol assignments', '2001:100::', '2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff'],
  ['2001:1::1/128 PCP anycast', '2001:1::1', '2001:1::1'],
  ['2001:1::2/128 TURN anycast', '2001:1::2', '2001:1::2'],
  ['2001:1::3/128 DNS-SD SRP anycast', '2001:1::3', '2001:1::3'],
  ['2001:2::/48 benchmarking', '2001:2::', '2001:2:0:ffff:ffff:ffff:ffff:ffff'],
  ['2001:3::/32 AMT', '2001:3::', '2001:3:ffff:ffff:ffff:ffff:ffff:ffff'],
  ['2001:4:112::/48 AS112-v6', '2001:4:112::', '2001:4:112:ffff:ffff:ffff:ffff:ffff'],
  ['2001:10::/28 deprecated ORCHID', '2001:10::', '2001:1f:ffff:ffff:ffff:ffff:ffff:ffff'],
  ['2001:20::/28 ORCHIDv2', '2001:20::', '2001:2f:ffff:ffff:ffff:ffff:ffff:ffff'],
  ['2001:30::/28 drone remote ID', '2001:30::', '2001:3f:ffff:ffff:ffff:ffff:ffff:ffff'],
  ['2001:db8::/32 documentation', '2001:db8::', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff'],
  ['2620:4f:8000::/48 AS112 direct delegation', '2620:4f:8000::', '2620:4f:8000:ffff:ffff:ffff:ffff:ffff'],
  ['3fff::/20 documentation', '3fff::', '3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff'],
  ['5f00::/16 SRv6 SIDs', '5f00::', '5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
  ['fc00::/7 unique local', 'fc00::', 'fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
  ['fe80::/10 link-local', 'fe80::', 'febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
  ['fec0::/10 site-local (deprecated)', 'fec0::', 'feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
  ['ff00::/8 multicast', 'ff00::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
  ['outside 2000::/3 (reserved by IETF)', '4000::1', '8000::1'],
]

describe('IANA IPv4 special-purpose ranges are refused', () => {
  it.each(IPV4_SPECIAL)('%s (%s … %s)', (_name, first, last) => {
    expect(isPrivateAddress(first)).toBe(true)
    expect(isPrivateAddress(last)).toBe(true)
  })
})

describe('IANA IPv6 special-purpose ranges are refused', () => {
  it.each(IPV6_SPECIAL)('%s (%s … %s)', (_name, first, last) => {
    expect(isPrivateAddress(first)).toBe(true)
    expect(isPrivateAddress(last)).toBe(true)
  })
})

describe('embedded IPv4 is judged by the address it delivers to', () => {
  it.each([
    // [format, address, expected, why]
    ['mapped', '::ffff:169.254.169.254', true],
    ['mapped', '::ffff:8.8.8.8', false],
    ['SIIT', '::ffff:0:10.0.0.1', true],
    ['SIIT', '::ffff:0:8.8.8.8', false],
    ['NAT64 64:ff9b::/96', '64:ff9b::169.254.169.254', true],
    ['NAT64 64:ff9b::/96', '64:ff9b::7f00:1', true],
    ['NAT64 64:ff9b::/96', '64:ff9b::8.8.8.8', false],
    ['6to4 2002::/16', '2002:a9fe:a9fe::', true], // 169.254.169.254
    ['6to4 2002::/16', '2002:7f00:1::1', true], // 127.0.0.1
    ['6to4 2002::/16', '2002:c0a8:101:1::1', true], // 192.168.1.1
    ['6to4 2002::/16', '2002:808:808::1', false], // 8.8.8.8
    // Teredo: server 65.54.227.120 (4136:e378), client 10.0.0.1 obfuscated (f5ff:fffe)
    ['Teredo 2001::/32, private client', '2001:0:4136:e378:8000:63bf:f5ff:fffe', true],
    // server 127.0.0.1 (7f00:1), public client 8.8.8.8 (f7f7:f7f7)
    ['Teredo 2001::/32, private server', '2001:0:7f00:1:8000:63bf:f7f7:f7f7', true],
    // server 65.54.227.120, client 8.8.8.8
    ['Teredo 2001::/32, both public', '2001:0:4136:e378:8000:63bf:f7f7:f7f7', false],
  ])('%s %s → %s', (_format, address, expected) => {
    expect(isPrivateAddress(address)).toBe(expected)
  })
})

describe('public unicast destinations pass', () => {
  it.each([
    '1.1.1.1',
    '8.8.8.8',
    '9.255.255.255',
    '11.0.0.0',
    '100.63.255.255',
    '100.128.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '192.0.1.0',
    '192.88.98.255',
    '192.169.0.0',
    '198.17.255.255',
    '198.20.0.0',
    '223.255.255.255',
    '2606:4700::1111',
    '2001:200::1',
    '2001:4860:4860::8888',
    '2a00:1450:4001::1',
    '3ffe:ffff::1',
  ])('%s', (address) => {
    expect(isPrivateAddress(address)).toBe(false)
  })
})

describe('what is not an address is refused', () => {
  it.each(['not-an-ip', '', '1.2.3', '1.2.3.256', 'fe80::1%eth0', '1::2::3', '[::1]'])('%j', (address) => {
    expect(isPrivateAddress(address)).toBe(true)
  })
})
