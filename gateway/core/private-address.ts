// Which IP addresses are not public unicast destinations, as a pure function (no node:net), shared by the Node SSRF
// guard (gateway/node/ssrf.ts, on resolved addresses and IP literals) and Workers (which can only judge IP literals).
//
// The rule (fail closed): an address in any range of the IANA IPv4 and IPv6 Special-Purpose Address Registries
// (RFC 6890 and its updates), in IPv4 multicast, or — for IPv6 — outside global unicast 2000::/3 is refused, with one
// refinement: formats that carry an IPv4 address the packet is actually delivered to (IPv4-mapped, SIIT, the NAT64
// well-known prefix, 6to4, Teredo) are judged by that embedded IPv4 address, so 2002:a9fe:a9fe:: (6to4 for
// 169.254.169.254) is refused like the metadata address itself. test/unit/private-address.test.ts lists every range.

type Range = readonly [network: bigint, prefix: number]

const v4 = (list: readonly (readonly [string, number])[]): Range[] =>
  list.map(([net, prefix]) => [parseIPv4(net)!, prefix] as const)
const v6 = (list: readonly (readonly [string, number])[]): Range[] =>
  list.map(([net, prefix]) => [parseIPv6(net)!, prefix] as const)

/** IANA IPv4 Special-Purpose Address Registry, plus multicast; sub-ranges are covered by their parents. */
const V4: readonly Range[] = v4([
  ['0.0.0.0', 8], // "this network" (RFC 791), includes 0.0.0.0/32 "this host"
  ['10.0.0.0', 8], // private (RFC 1918)
  ['100.64.0.0', 10], // shared address space, CGNAT (RFC 6598)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local (RFC 3927), cloud metadata 169.254.169.254
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments (DS-Lite, PCP/TURN anycast, NAT64 discovery …)
  ['192.0.2.0', 24], // TEST-NET-1
  ['192.31.196.0', 24], // AS112-v4 (RFC 7535)
  ['192.52.193.0', 24], // AMT (RFC 7450)
  ['192.88.99.0', 24], // deprecated 6to4 relay anycast (RFC 7526)
  ['192.168.0.0', 16], // private
  ['192.175.48.0', 24], // AS112 direct delegation (RFC 7534)
  ['198.18.0.0', 15], // benchmarking (RFC 2544)
  ['198.51.100.0', 24], // TEST-NET-2
  ['203.0.113.0', 24], // TEST-NET-3
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved (RFC 1112), includes limited broadcast 255.255.255.255
])

/** Special-purpose ranges inside global unicast 2000::/3 (everything outside it is refused wholesale). */
const V6_IN_GLOBAL: readonly Range[] = v6([
  ['2001::', 23], // IETF protocol assignments: benchmarking, AMT, AS112, ORCHID, anycast … (Teredo judged first)
  ['2001:db8::', 32], // documentation
  ['2620:4f:8000::', 48], // AS112 direct delegation
  ['3fff::', 20], // documentation (RFC 9637)
])

const GLOBAL_UNICAST: Range = v6([['2000::', 3]])[0]!
const NAT64_WKP: Range = v6([['64:ff9b::', 96]])[0]! // RFC 6052: the low 32 bits are the IPv4 destination
const SIX_TO_FOUR: Range = v6([['2002::', 16]])[0]! // RFC 3056: bits 16..47 are the relay's IPv4 address
const TEREDO: Range = v6([['2001::', 32]])[0]! // RFC 4380: server IPv4 in bits 32..63, client's inverted in the low 32

const inRange = (addr: bigint, bits: number, [net, prefix]: Range) =>
  addr >> BigInt(bits - prefix) === net >> BigInt(bits - prefix)

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

/** An IPv6 address (with :: and an optional dotted IPv4 tail; a %zone is refused) as a 128-bit number. */
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

const privateV4 = (n: bigint) => V4.some((r) => inRange(n, 32, r))

/** The IPv4 addresses an IPv6 address delivers to (empty when it carries none). */
export function embeddedIPv4(addr: bigint): bigint[] {
  const low = addr & 0xffffffffn
  const high = addr >> 32n
  // ::ffff:a.b.c.d (mapped) and ::ffff:0:a.b.c.d (SIIT, RFC 2765) carry an IPv4 address in the low 32 bits.
  if (high === 0xffffn || high === 0xffff0000n) return [low]
  if (inRange(addr, 128, NAT64_WKP)) return [low]
  if (inRange(addr, 128, SIX_TO_FOUR)) return [(addr >> 80n) & 0xffffffffn]
  if (inRange(addr, 128, TEREDO)) return [(addr >> 64n) & 0xffffffffn, low ^ 0xffffffffn]
  return []
}

/** True when the address is not a public unicast destination (see the header). Non-addresses: true. */
export function isPrivateAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '')
  const four = parseIPv4(bare)
  if (four !== null) return privateV4(four)
  const six = bare.includes(':') ? parseIPv6(bare) : null
  if (six === null) return true
  const embedded = embeddedIPv4(six)
  if (embedded.length) return embedded.some(privateV4)
  if (!inRange(six, 128, GLOBAL_UNICAST)) return true
  return V6_IN_GLOBAL.some((r) => inRange(six, 128, r))
}
