// Maps a request to a configured route: in reverse mode by the listener port a route owns, then the Host header
// (a route's `hosts`), then the longest path prefix; in forward-proxy mode by the destination's origin. Only
// configured routes are reachable in reverse mode, and a route's credential only ever goes to its own upstream
// origin: Airlock is never an open proxy unless proxy mode is enabled and the policy allows the destination.
import type { Config, RouteConfig } from '../config/schema.ts'

export interface RouteMatch {
  route: RouteConfig
  /** The upstream URL: the route's upstream origin and base path, the rest of the request path, the query. */
  upstreamUrl: URL
}

/** input.route.name of a forward-proxy destination no route covers; no configured name can be empty. */
export const UNKNOWN_ROUTE = ''

export class Router {
  readonly #byPrefix: (RouteConfig & { prefix: string })[]
  readonly #byHost = new Map<string, RouteConfig>()
  readonly #byPort = new Map<number, RouteConfig>()
  readonly #byOrigin = new Map<string, RouteConfig[]>()

  constructor(routes: RouteConfig[]) {
    this.#byPrefix = routes
      .filter((r): r is RouteConfig & { prefix: string } => r.prefix !== undefined)
      .sort((a, b) => b.prefix.length - a.prefix.length)
    for (const r of routes) {
      for (const h of r.hosts ?? []) this.#byHost.set(h, r)
      if (r.port !== undefined) this.#byPort.set(r.port, r)
      const origin = new URL(r.upstream).origin
      this.#byOrigin.set(origin, [...(this.#byOrigin.get(origin) ?? []), r])
    }
    // Within one origin the longest upstream base path wins, so /v1 and /v2 routes of one API can differ.
    for (const list of this.#byOrigin.values())
      list.sort((a, b) => new URL(b.upstream).pathname.length - new URL(a.upstream).pathname.length)
  }

  /** Reverse mode. `localPort` is the listener the request arrived on, when the runtime knows it. */
  match(url: URL, localPort?: number): RouteMatch | undefined {
    const owned =
      (localPort !== undefined ? this.#byPort.get(localPort) : undefined) ??
      this.#byHost.get(url.hostname.toLowerCase())
    if (owned) return { route: owned, upstreamUrl: joinPath(owned, url.pathname, url.search) }
    const path = url.pathname
    for (const route of this.#byPrefix) {
      if (path !== route.prefix && !path.startsWith(route.prefix + '/')) continue
      return { route, upstreamUrl: joinPath(route, path.slice(route.prefix.length), url.search) }
    }
    return undefined
  }

  /** Forward-proxy mode: the route whose upstream origin is the destination's and whose base path prefixes its path. */
  forDestination(url: URL): RouteConfig | undefined {
    return this.#byOrigin.get(url.origin)?.find((r) => {
      const base = new URL(r.upstream).pathname.replace(/\/$/, '')
      return !base || url.pathname === base || url.pathname.startsWith(base + '/')
    })
  }

  /** CONNECT: some route of the origin (they agree on `tls`, the schema checks it), for a host-level decision. */
  forOrigin(origin: string): RouteConfig | undefined {
    return this.#byOrigin.get(origin)?.at(-1)
  }
}

function joinPath(route: RouteConfig, rest: string, search: string): URL {
  const upstream = new URL(route.upstream)
  const base = upstream.pathname.replace(/\/$/, '')
  upstream.pathname = base + (rest || (base ? '' : '/'))
  upstream.search = search
  return upstream
}

/**
 * The route a forward-proxy destination no route covers is evaluated (and a hold executed) under: named
 * UNKNOWN_ROUTE, no credential, the proxy's SSRF setting, the global limits. The policy decides; the example denies.
 */
export function unknownHostRoute(config: Config, destination: URL): RouteConfig {
  return {
    name: UNKNOWN_ROUTE,
    upstream: destination.origin,
    agent_key: ['header'],
    allow_private: config.proxy.allow_private,
    allow_encoded_slashes: false,
    forwarded: 'none',
    idempotency_key: false,
    protocol: 'http',
  }
}

/** The route a stored hold is sent with: its configured route, or the unknown-host route it was held under. */
export function routeForHold(config: Config, name: string, url: string): RouteConfig | undefined {
  const configured = config.routes.find((r) => r.name === name)
  if (configured) return configured
  return name === UNKNOWN_ROUTE && config.proxy.enabled ? unknownHostRoute(config, new URL(url)) : undefined
}
