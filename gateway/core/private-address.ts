// Which IP addresses are not public unicast destinations, as a pure function (no node:net), for runtimes that cannot
// resolve names or use BlockList: on Workers the SSRF guard can only judge IP-literal hosts. The ranges are the ones
// gateway/node/ssrf.ts blocks; ::/96 (deprecated IPv4-compatible addresses) is refused as well.

type Range = readonly [network: bigint, prefix: number]

const V4: readonly Range[] = (
  [
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
  ] as const
).map(([net, prefix]) => [parseIPv4(net)!, prefix] as const)

const V6: readonly Range[] = (
  [
    ['::', 96], // unspecified, loopback (::1) and IPv4-compatible addresses
    ['64:ff9b::', 96], // NAT64 can reach IPv4 private space
    ['100::', 64],
    ['2001:db8::', 32],
    ['fc00::', 7], // unique local, includes fd00::/8 (AWS metadata fd00:ec2::254)
    ['fe80::', 10], // link-local
    ['ff00::', 8],
  ] as const
).map(([net, prefix]) => [parseIPv6(net)!, prefix] as const)

const inRange = (addr: bigint, bits: number, [net, prefix]: Range) => addr >> BigInt(bits - prefix) === net >> BigInt(bits - prefix)

/** a.b.c.d with decimal octets (what the URL parser normalises every IPv4 host to) as a 32-bit number. */
export function parseIPv4(s: string): bigint | null {
  const parts = s.split('.')
  if (parts.length !== 4) return null
  let n = 0n
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return null
    n = (n << 8n) | BigInt(p)
  }
  return n
}

/** An IPv6 address (with :: and an optional dotted IPv4 tail) as a 128-bit number. */
export function parseIPv6(s: string): bigint | null {
  let text = s
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  let v4Groups: string[] = []
  if (tail) {
    const v4 = parseIPv4(tail[1]!)
    if (v4 === null) return null
    v4Groups = [(v4 >> 16n).toString(16), (v4 & 0xffffn).toString(16)]
    text = text.slice(0, -tail[1]!.length) + '0:0'
  }
  const halves = text.split('::')
  if (halves.length > 2) return null
  const group = (h: string) => (h === '' ? [] : h.split(':'))
  const head = group(halves[0]!)
  const rest = halves.length === 2 ? group(halves[1]!) : []
  const missing = 8 - head.length - rest.length
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest]
  if (v4Groups.length) groups.splice(6, 2, ...v4Groups)
  let n = 0n
  for (const g of groups) {
    if (!/^[0-9a-f]{1,4}$/i.test(g)) return null
    n = (n << 16n) | BigInt(parseInt(g, 16))
  }
  return n
}

/** True when the host (as in URL.hostname, brackets allowed) is an IP address rather than a name. */
export function isIpLiteral(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '')
  return parseIPv4(bare) !== null || (bare.includes(':') && parseIPv6(bare) !== null)
}

/** True when the address is not a public unicast destination; IPv4-mapped IPv6 is judged as IPv4. Non-addresses: true. */
export function isPrivateAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '')
  const v4 = parseIPv4(bare)
  if (v4 !== null) return V4.some((r) => inRange(v4, 32, r))
  const v6 = bare.includes(':') ? parseIPv6(bare) : null
  if (v6 === null) return true
  // ::ffff:a.b.c.d (mapped) and ::ffff:0:a.b.c.d (SIIT) carry an IPv4 address in the low 32 bits.
  const high = v6 >> 32n
  if (high === 0xffffn || high === 0xffff0000n) return V4.some((r) => inRange(v6 & 0xffffffffn, 32, r))
  return V6.some((r) => inRange(v6, 128, r))
}
