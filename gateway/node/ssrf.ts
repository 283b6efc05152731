// The SSRF guard: destinations in loopback, private, link-local, CGNAT, metadata, multicast and reserved ranges are
// refused unless the route allows private destinations. It runs on the address the connection will actually use
// (the resolver's answer, inside undici's connect), so a DNS name that later resolves to 127.0.0.1 (rebinding)
// is caught too. IP-literal hosts never reach the resolver (net.connect skips lookup for them), so the connector
// itself refuses them: every connection the guarded pool opens is checked — an upstream, a webhook, anything a
// future caller sends through it — not only the paths that remembered to check first.
import type { LookupAddress, LookupOptions } from 'node:dns'
import { lookup as dnsLookup } from 'node:dns'
import { isIP } from 'node:net'
import { buildConnector } from 'undici'
import { AirlockError } from '../core/errors.ts'
import { isPrivateAddress } from '../core/private-address.ts'

// The ranges live in the core (shared with Workers, which can only judge IP literals).
export { isPrivateAddress }

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
    if (list.some((a) => isPrivateAddress(a.address)))
      return callback(forbidden(hostname) as unknown as NodeJS.ErrnoException, '')
    if (options.all) return callback(null, list)
    const first = list[0]!
    callback(null, first.address, first.family)
  })
}

/** An undici connector that refuses private IP-literal hosts and resolves names through guardedLookup. */
export function guardedConnector(options: buildConnector.BuildOptions): buildConnector.connector {
  const connect = buildConnector({ ...options, lookup: guardedLookup } as buildConnector.BuildOptions)
  return (opts, callback) => {
    const host = opts.hostname.replace(/^\[|\]$/g, '')
    if (isIP(host) && isPrivateAddress(host)) return callback(forbidden(host), null)
    return connect(opts, callback)
  }
}
