// Maps a request path to a configured route by longest prefix. Only configured routes are reachable:
// Airlock is never an open proxy.
import type { RouteConfig } from '../config/schema.ts'

export interface RouteMatch {
  route: RouteConfig
  /** The upstream URL: the route's upstream origin and base path, the rest of the request path, the query. */
  upstreamUrl: URL
}

export class Router {
  readonly #routes: RouteConfig[]
  constructor(routes: RouteConfig[]) {
    this.#routes = [...routes].sort((a, b) => b.prefix.length - a.prefix.length)
  }

  match(url: URL): RouteMatch | undefined {
    const path = url.pathname
    for (const route of this.#routes) {
      if (path !== route.prefix && !path.startsWith(route.prefix + '/')) continue
      const upstream = new URL(route.upstream)
      const base = upstream.pathname.replace(/\/$/, '')
      upstream.pathname = base + (path.slice(route.prefix.length) || (base ? '' : '/'))
      upstream.search = url.search
      return { route, upstreamUrl: upstream }
    }
    return undefined
  }
}
