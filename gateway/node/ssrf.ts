// The SSRF guard: destinations in loopback, private, link-local, CGNAT, metadata, multicast and reserved ranges are
// refused unless the route allows private destinations. It runs on the address the connection will actually use
// (the resolver's answer, inside undici's connect), so a DNS name that later resolves to 127.0.0.1 (rebinding)
// is caught too; IP-literal hosts never reach the resolver and are checked before dispatch.
import { BlockList, isIP } from 'node:net'
import type { LookupAddress, LookupOptions } from 'node:dns'
import { lookup as dnsLookup } from 'node:dns'
import { AirlockError } from '../core/errors.ts'

const blocked = new BlockList()
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // CGNAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata (169.254.169.254)
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) blocked.addSubnet(net, prefix, 'ipv4')
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96], // NAT64 can reach IPv4 private space
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7], // unique local, includes fd00::/8 (AWS metadata fd00:ec2::254)
  ['fe80::', 10], // link-local
  ['ff00::', 8],
] as const) blocked.addSubnet(net, prefix, 'ipv6')

/** True when the address is not a public unicast destination. IPv4-mapped IPv6 (::ffff:a.b.c.d) is judged as IPv4. */
export function isPrivateAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '')
  const family = isIP(bare)
  if (family === 4) return blocked.check(bare, 'ipv4')
  if (family === 6) {
    const mapped = /^::ffff:(?:0:)?(\d+\.\d+\.\d+\.\d+)$/i.exec(bare)
    if (mapped) return blocked.check(mapped[1]!, 'ipv4')
    const hexMapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(bare)
    if (hexMapped) {
      const hi = parseInt(hexMapped[1]!, 16)
      const lo = parseInt(hexMapped[2]!, 16)
      return blocked.check(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`, 'ipv4')
    }
    return blocked.check(bare, 'ipv6')
  }
  return true // not an address at all: refuse
}

export function forbidden(host: string): AirlockError {
  return new AirlockError(
    'AIRLOCK_DESTINATION_FORBIDDEN',
    `the destination ${host} is a private, loopback or link-local address; this route does not allow it`,
  )
}

/** A dns.lookup that fails when any resolved address is private, for undici's connect options. */
export function guardedLookup(
  hostname: string,
  options: LookupOptions,
  callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '')
    const list = addresses as LookupAddress[]
    if (list.some((a) => isPrivateAddress(a.address))) return callback(forbidden(hostname) as unknown as NodeJS.ErrnoException, '')
    if (options.all) return callback(null, list)
    const first = list[0]!
    callback(null, first.address, first.family)
  })
}
