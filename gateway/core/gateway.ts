// The gateway: one pipeline for every request — route → authenticate → read body → build input → evaluate →
// enforce → log. Routing belongs to the mode (reverse here; forward proxy, CONNECT and TLS interception in the Node
// adapter), which hands the pipeline a Target; everything after that is shared, so holds, review sampling, the SSRF
// guard, decision logs and metrics behave the same in every mode. Runtime-agnostic: everything it touches outside
// itself is injected (see ports.ts).
import { Hono } from 'hono'
import type { Config } from './config/schema.ts'
import { describeForLog, secretValues } from './credentials.ts'
import { sha256Hex } from './digest.ts'
import { AirlockError, describeThrown, errorResponse, toAirlockError } from './errors.ts'
import type { Clock, Logger, Metrics, Secrets, Upstream } from './ports.ts'
import { AgentDirectory, type Agent } from './pipeline/agents.ts'
import { readBody } from './pipeline/body.ts'
import { DECISION_PATH, type DecisionLogLine } from './pipeline/decision-log.ts'
import { downstreamResponse, injectCredential, upstreamHeaders } from './pipeline/forward.ts'
import { buildInput, type PolicyInput } from './pipeline/input.ts'
import { Router } from './pipeline/route.ts'
import { toDecision, type Decision } from './policy/decision.ts'
import type { PolicyEvaluator } from './policy/evaluator.ts'
import type { HoldGate, HeldRequest } from './holds/gate.ts'
import type { RouteConfig } from './config/schema.ts'

export interface PolicySource {
  /** The policy serving now; undefined until one has loaded (then /readyz fails and requests are refused). */
  current(): PolicyEvaluator | undefined
}

export interface GatewayDeps {
  config: Config
  policy: PolicySource
  upstream: Upstream
  secrets: Secrets
  logger: Logger
  metrics: Metrics
  clock: Clock
  /** Holds, review sampling and the approver API; without it `hold` decisions are refused. */
  holds?: HoldGate | undefined
  /** The agent's address, from the runtime adapter. */
  clientAddress?: (req: Request, env: unknown) => string | undefined
  /** The local port the request arrived on, for routes that own a listener port (Node). */
  localPort?: (req: Request, env: unknown) => number | undefined
  newId?: () => string
  /** Adapter-specific routes mounted before the proxy catch-all (e.g. /metrics on Node). */
  routes?: (app: Hono) => void
}

/** The parts of one request every stage after policy evaluation needs. */
export interface Evaluated {
  decisionId: string
  route: RouteConfig
  agent: Agent
  method: string
  upstreamUrl: URL
  headers: Headers
  body: Uint8Array | null
  bodySha256: string
  input: PolicyInput
  decision: Decision
  revision: string
}

/** sha256 of no bytes: most requests (GETs) have no body, and hashing nothing is not free. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

/** What the pipeline reads from an inbound request: a Web Request, or the adapter's view of a CONNECT (which a Request cannot carry). */
export type InboundRequest = Pick<Request, 'method' | 'url' | 'headers' | 'body' | 'signal'>

/** How the request reached Airlock: a route (reverse), HTTP_PROXY (forward), a decrypted tunnel (intercept), a CONNECT (tunnel). */
export type Mode = 'reverse' | 'forward' | 'intercept' | 'tunnel'

/** The request's destination, chosen by the mode's adapter before the pipeline runs. */
export interface Target {
  mode: Mode
  route: RouteConfig
  upstreamUrl: URL
  /** Who sent it: the Airlock key where the route allows it (reverse), Proxy-Authorization (forward), or the agent that opened the tunnel. */
  authenticate(headers: Headers): Promise<Agent>
  /** The scheme and host the agent used to reach Airlock (X-Forwarded-*). */
  requestUrl: URL
  clientAddress: string | undefined
  /** The agent's Authorization and X-Api-Key are its own (it authenticated with Proxy-Authorization). */
  proxied?: boolean
  /** Replaces sending upstream on allow/review: a CONNECT opens its tunnel here. Such a request cannot be held. */
  send?: (e: Evaluated) => Promise<Response>
}

/** The one per-request pipeline every mode runs: authenticate → read body → build input → evaluate → enforce → log. */
export interface Pipeline {
  readonly router: Router
  readonly agents: AgentDirectory
  /** A target the adapter could not choose is an AirlockError: refused and logged the same way. */
  handle(request: InboundRequest, target: Target | AirlockError): Promise<Response>
}

export async function createPipeline(deps: GatewayDeps): Promise<Pipeline> {
  const { config, logger, metrics, clock } = deps
  const router = new Router(config.routes)
  const agents = await AgentDirectory.create(config.agents, deps.secrets, (msg) => logger.warn({ event: 'config' }, msg))
  const newId = deps.newId ?? (() => crypto.randomUUID())
  // Known secret values, scrubbed from thrown messages before they are logged (credentials.ts).
  const secretList = secretValues(config, deps.secrets)

  async function handle(request: InboundRequest, target: Target | AirlockError): Promise<Response> {
    const started = clock.now()
    const decisionId = newId()
    const line: DecisionLogLine = {
      decision_id: decisionId,
      timestamp: new Date(started).toISOString(),
      path: DECISION_PATH,
      method: request.method,
      url_path: request.method === 'CONNECT' ? '' : new URL(request.url).pathname,
      status: 0,
      total_ms: 0,
    }
    let response: Response
    try {
      if (target instanceof AirlockError) throw target
      const { route, upstreamUrl } = target
      line.mode = target.mode
      line.route = route.name
      line.host = upstreamUrl.hostname
      const agent = await target.authenticate(request.headers)
      line.agent = agent.id

      const body = await readBody(request, route.max_body_bytes ?? config.limits.max_body_bytes)
      const bodySha256 = body?.byteLength ? await sha256Hex(body) : EMPTY_SHA256
      const policy = deps.policy.current()
      if (!policy) throw new AirlockError('AIRLOCK_POLICY_NOT_LOADED', 'no policy is loaded yet; the request was refused')
      line.revision = policy.revision

      const input = buildInput({
        method: request.method,
        upstreamUrl,
        headers: request.headers,
        body,
        bodySha256,
        agent,
        route,
        nowMs: started,
        pendingHolds: deps.holds ? await deps.holds.pendingCounts() : {},
      })
      if (config.log.decision_input) line.input = input

      const t0 = performance.now()
      let raw: unknown
      try {
        raw = policy.evaluate(input)
      } catch (err) {
        throw new AirlockError('AIRLOCK_POLICY_ERROR', `policy evaluation failed: ${describeThrown(err)}; the request was refused`)
      } finally {
        const ns = Math.round((performance.now() - t0) * 1e6)
        line.eval_us = Math.round(ns / 1000)
        line.metrics = { timer_rego_query_eval_ns: ns }
      }
      const decision = toDecision(raw, { timeout_s: config.holds.timeout_s, sample_rate: config.review.sample_rate }, `${request.method} ${upstreamUrl.hostname}${input.request.path}`)
      line.result = decision
      line.action = decision.action
      line.reason = decision.reason
      line.rule = decision.rule
      line.risk = decision.risk
      metrics.decision(decision.action, decision.rule, (line.eval_us ?? 0) / 1e6)

      const headers = upstreamHeaders(request.headers, {
        route,
        clientAddress: target.clientAddress,
        requestUrl: target.requestUrl,
        proxied: target.proxied ?? false,
      })
      const evaluated: Evaluated = { decisionId, route, agent, method: request.method, upstreamUrl, headers, body, bodySha256, input, decision, revision: policy.revision }

      switch (decision.action) {
        case 'deny':
          throw new AirlockError('AIRLOCK_DENIED', decision.reason, { rule: decision.rule, action: 'deny' })
        case 'hold': {
          if (!deps.holds) throw new AirlockError('AIRLOCK_DENIED', `${decision.reason} (this request needs human approval, and approvals are not enabled on this gateway)`, { rule: decision.rule, action: 'hold' })
          if (target.send) throw new AirlockError('AIRLOCK_DENIED', `${decision.reason} (this needs human approval, but Airlock cannot see or replay what goes through a tunnel; ask the operator to intercept TLS for ${upstreamUrl.hostname})`, { rule: decision.rule, action: 'hold' })
          const held: HeldRequest = { ...evaluated, prefer: request.headers.get('prefer') }
          const outcome = await deps.holds.hold(held, request.signal)
          line.hold_id = outcome.holdId
          response = outcome.response
          const code = response.headers.get('airlock-error-code')
          if (code) {
            line.error_code = code
            metrics.error(code)
          }
          break
        }
        case 'allow':
        case 'review': {
          const upstreamResponse = await (target.send ?? ((e: Evaluated) => forward(deps, e)))(evaluated)
          line.upstream_status = upstreamResponse.status
          if (decision.action === 'review' && deps.holds) {
            line.sampled = await deps.holds.review(evaluated, upstreamResponse.status)
          }
          response = downstreamResponse(upstreamResponse, decisionId)
          break
        }
      }
    } catch (err) {
      const e = toAirlockError(err)
      if (e.code === 'AIRLOCK_INTERNAL') logger.error({ decision_id: decisionId, err: describeForLog(e.cause, secretList) }, 'internal error')
      metrics.error(e.code)
      line.error_code = e.code
      if (!line.reason) line.reason = e.message
      response = errorResponse(e, decisionId)
    }
    line.status = response.status
    line.total_ms = clock.now() - started
    logger.info(line, 'decision')
    return response
  }

  return { router, agents, handle }
}

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
      return p.handle(request, new AirlockError('AIRLOCK_ROUTE_NOT_FOUND', `no route for ${url.pathname}; Airlock only forwards to configured routes`))
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

/** Sends an evaluated request upstream with the route's credential; shared by the allow path and hold execution. */
export async function forward(deps: Pick<GatewayDeps, 'upstream' | 'secrets' | 'metrics' | 'config'>, r: Pick<Evaluated, 'route' | 'method' | 'upstreamUrl' | 'headers' | 'body'>): Promise<Response> {
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
