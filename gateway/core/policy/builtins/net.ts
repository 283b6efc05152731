// net.cidr_is_valid: Go's net.ParseCIDR (netip rules: no leading zeros in IPv4, no zones, one "::").

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?!$)|$)){4}$/

function isIPv6(s: string): boolean {
  // A trailing dotted quad stands for the last two groups.
  const quad = /(?<=:)[^:]*\.[^:]*$/.exec(s)
  if (quad) {
    if (!IPV4.test(quad[0])) return false
    s = `${s.slice(0, quad.index)}0:0`
  }
  const halves = s.split('::')
  if (halves.length > 2) return false
  const groups = halves.flatMap((h) => (h === '' ? [] : h.split(':')))
  if (!groups.every((g) => /^[\da-fA-F]{1,4}$/.test(g))) return false
  return halves.length === 2 ? groups.length <= 7 : groups.length === 8
}

export function cidrIsValid(v: unknown): boolean {
  if (typeof v !== 'string') return false
  const slash = v.indexOf('/')
  if (slash < 0) return false
  const [addr, mask] = [v.slice(0, slash), v.slice(slash + 1)]
  // netip.ParseAddr decides by the first "." or ":".
  const v4 = /^[^:]*\./.test(addr)
  if (!(v4 ? IPV4.test(addr) : isIPv6(addr))) return false
  return /^\d+$/.test(mask) && Number(mask) <= (v4 ? 32 : 128)
}
