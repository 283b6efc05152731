// Reverse-proxy mode, the app every runtime serves: Airlock's own endpoints (health, readiness, the holds API), then
// every other request routed by port, Host or path prefix to a route and handed to the pipeline. The forward-proxy
// modes (HTTP_PROXY, CONNECT, TLS interception) are the Node adapter's (gateway/node/proxy/forward-proxy.ts).
import { Hono } from 'hono'
import { AirlockError } from './errors.ts'
import { createPipeline, type GatewayDeps, type Pipeline } from './gateway.ts'

/** The reverse-mode app: Airlock's own endpoints, then every other request routed by port, Host or path prefix. */
export async function createGateway(deps: GatewayDeps, pipeline?: Pipeline): Promise<Hono> {
  const p = pipeline ?? (await createPipeline(deps))
  const app = new Hono()

  app.get('/healthz', (c) => c.json({ status: 'ok' }))
  app.get('/readyz', (c) => {
    const policy = deps.policy.current()
    return policy
      ? c.json({ status: 'ready', policy_revision: policy.revision })
      : c.json({ status: 'not ready', reason: 'no policy loaded' }, 503)
  })
  deps.routes?.(app)
  if (deps.holds) deps.holds.mount(app)

  app.all('*', (c) => {
    const request = c.req.raw
    const url = new URL(request.url)
    const match = p.router.match(url, deps.localPort?.(request, c.env))
    if (!match) {
      return p.handle(
        request,
        new AirlockError(
          'AIRLOCK_ROUTE_NOT_FOUND',
          `no route for ${url.pathname}; Airlock only forwards to configured routes`,
        ),
      )
    }
    return p.handle(request, {
      mode: 'reverse',
      ...match,
      authenticate: (headers) => p.agents.authenticate(headers, match.route),
      requestUrl: url,
      clientAddress: deps.clientAddress?.(request, c.env),
    })
  })

  return app
}
