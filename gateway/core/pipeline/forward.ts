// The forward stage: what crosses the gateway in each direction, and the send itself. The agent's own credentials
// and Airlock's control headers stay behind, the route's real credential is injected at send time, and hop-by-hop
// headers are dropped (RFC 9110 §7.6.1: they describe one connection, not the message). The allow/review path and
// hold execution both send through `forward`, so an approved hold goes out exactly as an allowed request would.
import type { Config, RouteConfig } from '../config/schema.ts'
import { credentialInvalid, headerValueProblem } from '../credentials.ts'
import { AirlockError } from '../errors.ts'
import type { Metrics, Secrets, Upstream } from '../ports.ts'
import type { Evaluated } from './request.ts'

const HOP_BY_HOP = ['connection', 'proxy-connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade']

/** Headers the agent may send that never go upstream: its Airlock key, Airlock's own controls, its view of the proxy. */
const AGENT_ONLY = ['authorization', 'x-api-key', 'proxy-authorization', 'host', 'content-length', 'expect']
/** Where reverse-mode agents present their Airlock key; their own credentials in forward-proxy mode. */
const AGENT_AUTH = ['authorization', 'x-api-key']
const SPOOFABLE = ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-real-ip']

/**
 * The request's headers as a message, without what describes only this connection: exactly the set the upstream
 * will not get. The policy input is built from these, so a header named in `Connection:` (e.g. `Connection:
 * content-type`) is neither seen by the policy nor sent (issue 10 item 5).
 */
export function messageHeaders(incoming: Headers): Headers {
  const h = new Headers(incoming)
  dropHopByHop(h)
  return h
}

function dropHopByHop(h: Headers): void {
  const listed = h.get('connection')
  if (listed) for (const name of listed.split(',')) h.delete(name.trim())
  for (const name of HOP_BY_HOP) h.delete(name)
}

/** Prefer tokens Airlock consumes (RFC 7240); the rest of the header is the upstream's business. */
const AIRLOCK_PREFERENCES = /^(wait|respond-async)\b/i

export interface ForwardContext {
  route: RouteConfig
  /** The agent's address as the runtime sees it, for X-Forwarded-For / Forwarded. */
  clientAddress: string | undefined
  /** The scheme and host the agent used to reach Airlock. */
  requestUrl: URL
  /**
   * The agent authenticated to Airlock as a forward proxy (Proxy-Authorization): its Authorization and X-Api-Key are
   * then its own, for the upstream, not Airlock's key (a route's credential still replaces its header).
   */
  proxied?: boolean
}

/** The agent's headers as they may go upstream, without any credential (see injectCredential). */
export function upstreamHeaders(incoming: Headers, ctx: ForwardContext): Headers {
  const h = new Headers(incoming)
  dropHopByHop(h)
  for (const name of [...AGENT_ONLY, ...SPOOFABLE]) if (!(ctx.proxied && AGENT_AUTH.includes(name))) h.delete(name)
  for (const name of [...h.keys()]) if (name.startsWith('airlock-')) h.delete(name)
  const prefer = h.get('prefer')
  if (prefer) {
    const kept = prefer
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p && !AIRLOCK_PREFERENCES.test(p))
    if (kept.length) h.set('prefer', kept.join(', '))
    else h.delete('prefer')
  }

  const { route } = ctx
  if (route.forwarded === 'x-forwarded') {
    if (ctx.clientAddress) h.set('x-forwarded-for', ctx.clientAddress)
    h.set('x-forwarded-proto', ctx.requestUrl.protocol.slice(0, -1))
    h.set('x-forwarded-host', ctx.requestUrl.host)
  } else if (route.forwarded === 'forwarded') {
    const forIp = ctx.clientAddress?.includes(':') ? `"[${ctx.clientAddress}]"` : ctx.clientAddress
    h.set(
      'forwarded',
      `${forIp ? `for=${forIp};` : ''}proto=${ctx.requestUrl.protocol.slice(0, -1)};host="${ctx.requestUrl.host}"`,
    )
  }

  return h
}

/** Sets the route's real upstream credential; done at send time so a stored hold never holds a secret. */
export function injectCredential(h: Headers, route: RouteConfig, secrets: Secrets): Headers {
  if (route.credential) {
    const secret = secrets(route.credential.env)
    if (!secret) {
      throw new AirlockError(
        'AIRLOCK_CREDENTIAL_MISSING',
        `the upstream credential for route "${route.name}" is not configured on the gateway; ask its operator`,
      )
    }
    // Checked before use: Headers.set and btoa quote a bad value in the message they throw (credentials.ts).
    if (headerValueProblem(secret)) throw credentialInvalid(route)
    const { header, scheme } = route.credential
    h.set(header, scheme === 'bearer' ? `Bearer ${secret}` : scheme === 'basic' ? `Basic ${btoa(secret)}` : secret)
  }
  return h
}

/** Statuses whose response has no body whatever the headers say (RFC 9110 §6.4.1); a Response refuses one. */
export const NULL_BODY_STATUS: ReadonlySet<number> = new Set([101, 204, 205, 304])

/** The upstream response as the agent receives it: same status and bytes, minus hop-by-hop headers. */
export function downstreamResponse(upstream: Response, decisionId: string): Response {
  const h = new Headers(upstream.headers)
  dropHopByHop(h)
  h.set('airlock-decision-id', decisionId)
  const body = NULL_BODY_STATUS.has(upstream.status) ? null : upstream.body
  return new Response(body, { status: upstream.status, statusText: upstream.statusText, headers: h })
}

export interface ForwardDeps {
  config: Pick<Config, 'limits'>
  upstream: Upstream
  secrets: Secrets
  metrics: Metrics
}

/** Sends an evaluated request upstream with the route's credential; shared by the allow path and hold execution. */
export async function forward(
  deps: ForwardDeps,
  r: Pick<Evaluated, 'route' | 'method' | 'upstreamUrl' | 'headers' | 'body'>,
): Promise<Response> {
  // Sets the credential on the request's own headers: they were built for this send (upstreamHeaders, or a hold's
  // stored headers copied at execution), and nothing reads them afterwards.
  const headers = injectCredential(r.headers, r.route, deps.secrets)
  const t0 = performance.now()
  const res = await deps.upstream({
    url: r.upstreamUrl,
    method: r.method,
    headers,
    body: r.body,
    timeoutMs: r.route.timeout_ms ?? deps.config.limits.upstream_timeout_ms,
    allowPrivate: r.route.allow_private,
  })
  deps.metrics.upstream(r.route.name, res.status, (performance.now() - t0) / 1000)
  return res
}
