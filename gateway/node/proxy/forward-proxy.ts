// Forward-proxy mode (HTTP_PROXY / HTTPS_PROXY pointing at Airlock), Node only. Three ways in, one pipeline:
//   absolute-form request  GET http://host/path   → mode "forward": evaluated and sent like a routed request
//   CONNECT host:port, tunnel                     → mode "tunnel": one host-level decision, then bytes untouched
//   CONNECT host:port, intercept                  → mode "intercept": every request inside evaluated and sent
// A destination is matched to the route whose upstream origin it is (that route's credential and policy name); any
// other destination is the unknown-host route (input.route.name ""), which the policy must allow explicitly.
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Hono } from 'hono'
import type { Config, RouteConfig } from '../../core/config/schema.ts'
import { AirlockError } from '../../core/errors.ts'
import type { Pipeline } from '../../core/gateway.ts'
import { AGENT_KEY_HEADER } from '../../core/pipeline/agents.ts'
import type { InboundRequest, Target } from '../../core/pipeline/request.ts'
import { unknownHostRoute } from '../../core/pipeline/route.ts'
import type { Logger, Metrics } from '../../core/ports.ts'
import { authenticateProxy, checkRouteAgent, proxyKey } from './auth.ts'
import { type InterceptedConnection, Interceptor } from './intercept.ts'
import type { LeafCache } from './leaf-cache.ts'
import { type Destination, openTunnel, originAs, parseAuthority, splice, writeRaw } from './tunnel.ts'

export interface ForwardProxyDeps {
  config: Config
  pipeline: Pipeline
  /** Airlock's own app, for hold status polling through the proxy. */
  app: Hono
  logger: Logger
  metrics: Metrics
  /** Present when some destination is intercepted (the CA is loaded). */
  leaves: LeafCache | undefined
}

export interface ForwardProxy {
  /** An absolute-form request (the Node server sends these here instead of to the reverse-mode app). */
  fetch(request: Request, env: { incoming: IncomingMessage }): Promise<Response>
  /** The http server's 'connect' event. */
  connect(req: IncomingMessage, socket: Duplex, head: Buffer): void
  close(): void
}

const HOLD_STATUS = /^\/_airlock\/holds\/[^/]+$/

function hasUserinfo(target: string): boolean {
  try {
    const u = new URL(target)
    return u.username !== '' || u.password !== ''
  } catch {
    return /^[a-z]+:\/\/[^/?#]*@/i.test(target)
  }
}

function userinfoRefused(): AirlockError {
  return new AirlockError(
    'AIRLOCK_PROXY_BAD_TARGET',
    "the URL carries user:password@ credentials, which Airlock refuses (they would be logged and sent in the clear); send them in a header (Authorization) or configure the route's credential instead",
  )
}

/** The parts of a request the refusal reads, with the URL's userinfo removed (the decision line logs its path). */
function withoutUserinfo(request: Request): InboundRequest {
  const url = new URL(request.url)
  url.username = ''
  url.password = ''
  return { method: request.method, url: url.href, headers: request.headers, body: null, signal: request.signal }
}

export function createForwardProxy(deps: ForwardProxyDeps): ForwardProxy {
  const { config, pipeline, logger } = deps
  /** Every socket that arrived with CONNECT: it left the http server, so Airlock closes it itself on shutdown. */
  const sockets = new Set<Duplex>()
  const disabled = () =>
    new AirlockError(
      'AIRLOCK_PROXY_DISABLED',
      'Airlock is not a forward proxy here (proxy.enabled is off): send requests to a route instead, e.g. http://airlock:8080/<prefix>/…',
    )
  const routeFor = (url: URL): RouteConfig => pipeline.router.forDestination(url) ?? unknownHostRoute(config, url)
  const proxyAgent = (route: RouteConfig) => async (headers: Headers) =>
    checkRouteAgent(route, (await authenticateProxy(pipeline.agents, headers)).agent)

  /** /_airlock/holds/ID on any host is Airlock's hold status, as in reverse mode (a 202's Location is relative). */
  const holdStatus = (path: string, key: string) =>
    deps.app.fetch(new Request(`http://airlock${path}`, { headers: { [AGENT_KEY_HEADER]: key } }))

  async function fetch(request: Request, env: { incoming: IncomingMessage }): Promise<Response> {
    if (!config.proxy.enabled) return pipeline.handle(request, disabled())
    // Userinfo (http://user:pass@host/) is refused before anything reads the request: it would put a password in
    // the decision line, and a Request cannot even be built from such a URL (a POST failed with a 500 quoting it).
    if (hasUserinfo(env.incoming.url ?? request.url))
      return pipeline.handle(withoutUserinfo(request), userinfoRefused())
    const url = new URL(request.url)
    url.hash = ''
    if (request.method === 'GET' && HOLD_STATUS.test(url.pathname)) {
      const key = proxyKey(request.headers)
      if (key) return holdStatus(url.pathname, key)
    }
    const route = routeFor(url)
    return pipeline.handle(request, {
      mode: 'forward',
      route,
      upstreamUrl: url,
      authenticate: proxyAgent(route),
      requestUrl: url,
      clientAddress: env.incoming.socket.remoteAddress,
      proxied: true,
    })
  }

  const leaves = deps.leaves
  const interceptor = leaves
    ? new Interceptor(
        leaves,
        logger,
        (request, conn, origin, rawUrl) => {
          const url = new URL(origin)
          if (!rawUrl.startsWith('/')) {
            return pipeline.handle(
              request,
              new AirlockError(
                'AIRLOCK_PROXY_BAD_TARGET',
                'inside a CONNECT tunnel requests must use a path (origin-form), e.g. GET /v1/items',
              ),
            )
          }
          const q = rawUrl.indexOf('?')
          url.pathname = q < 0 ? rawUrl : rawUrl.slice(0, q)
          url.search = q < 0 ? '' : rawUrl.slice(q)
          if (request.method === 'GET' && HOLD_STATUS.test(url.pathname)) return holdStatus(url.pathname, conn.key)
          const route = routeFor(url)
          return pipeline.handle(request, {
            mode: 'intercept',
            route,
            upstreamUrl: url,
            authenticate: async () => checkRouteAgent(route, conn.agent),
            requestUrl: url,
            clientAddress: conn.clientAddress,
            proxied: true,
          })
        },
        { headerMs: config.limits.header_timeout_ms, bodyMs: config.limits.body_timeout_ms },
      )
    : undefined

  async function connect(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    socket.on('error', () => socket.destroy())
    const headers = new Headers()
    for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(name, value)
    const controller = new AbortController()
    socket.once('close', () => controller.abort())
    const inbound: InboundRequest = {
      method: 'CONNECT',
      url: `https://${req.url ?? ''}`,
      headers,
      body: null,
      signal: controller.signal,
    }
    const refuse = async (err: unknown) =>
      writeRaw(
        socket,
        await pipeline.handle(
          inbound,
          err instanceof AirlockError
            ? err
            : new AirlockError('AIRLOCK_INTERNAL', 'internal gateway error', {}, { cause: err }),
        ),
      )
    const clientAddress = req.socket.remoteAddress

    if (!config.proxy.enabled) return refuse(disabled())
    let dest: Destination
    try {
      dest = parseAuthority(req.url)
    } catch (err) {
      return refuse(err)
    }
    const route = pipeline.router.forOrigin(dest.origin) ?? pipeline.router.forOrigin(originAs(dest, 'http'))
    const intercept = (route?.tls ?? (config.proxy.intercept ? 'intercept' : 'tunnel')) === 'intercept'

    if (intercept && interceptor) {
      // The CONNECT only authenticates; each request inside gets its own decision.
      let conn: InterceptedConnection
      try {
        const { agent, key } = await authenticateProxy(pipeline.agents, headers)
        await interceptor.prepare(dest.host)
        conn = { dest, agent, key, clientAddress }
      } catch (err) {
        return refuse(err)
      }
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      return interceptor.take(socket, head, conn)
    }

    const tunnelRoute = route ?? unknownHostRoute(config, new URL(dest.origin))
    let upstream: Socket | undefined
    const target: Target = {
      mode: 'tunnel',
      route: tunnelRoute,
      upstreamUrl: new URL(dest.origin),
      authenticate: proxyAgent(tunnelRoute),
      requestUrl: new URL(dest.origin),
      clientAddress,
      proxied: true,
      async send() {
        const t0 = performance.now()
        upstream = await openTunnel(dest, tunnelRoute.allow_private, config.limits.connect_timeout_ms)
        deps.metrics.upstream(tunnelRoute.name, 200, (performance.now() - t0) / 1000)
        return new Response(null, { status: 200 })
      },
    }
    const res = await pipeline.handle(inbound, target)
    if (res.status !== 200 || !upstream || socket.destroyed) {
      upstream?.destroy()
      return writeRaw(socket, res)
    }
    socket.write(
      `HTTP/1.1 200 Connection Established\r\nairlock-decision-id: ${res.headers.get('airlock-decision-id')}\r\n\r\n`,
    )
    if (head.length) upstream.write(head)
    splice(socket, upstream)
  }

  return {
    fetch,
    connect(req, socket, head) {
      connect(req, socket, head).catch((err) => {
        logger.error({ event: 'connect', err: String(err) }, 'CONNECT handling failed')
        socket.destroy()
      })
    },
    close() {
      interceptor?.close()
      for (const s of sockets) s.destroy()
    },
  }
}
