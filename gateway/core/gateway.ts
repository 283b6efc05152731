// The gateway: one pipeline for every request — authenticate → read body → decide (input → evaluate → validate) →
// enforce → log. Routing belongs to the mode (reverse-proxy.ts; forward proxy, CONNECT and TLS interception in the
// Node adapter), which hands the pipeline a Target; everything after that is shared, so holds, review sampling, the
// SSRF guard, decision logs and metrics behave the same in every mode. Each stage returns the decision-log fields it
// produces; `handle` alone composes them into the one line per request. Runtime-agnostic: everything it touches
// outside itself is injected (ports.ts).
import type { Hono } from 'hono'
import type { Config } from './config/schema.ts'
import { describeForLog, secretValues } from './credentials.ts'
import { sha256Hex } from './digest.ts'
import { AirlockError, errorResponse, toAirlockError } from './errors.ts'
import { AgentLimiter } from './limits/agent-limiter.ts'
import { BodyBudget, type BodyLease } from './limits/body-budget.ts'
import { MemoryRateCounter } from './limits/rate.ts'
import { handleMcpPost, httpMcpInput } from './mcp/stage.ts'
import { AgentDirectory } from './pipeline/agents.ts'
import { readBody } from './pipeline/body.ts'
import { decide } from './pipeline/decide.ts'
import { DECISION_PATH, type DecisionLogLine } from './pipeline/decision-log.ts'
import { enforce } from './pipeline/enforce.ts'
import { forward, upstreamHeaders } from './pipeline/forward.ts'
import { grantIdOf, takeGrantUse } from './pipeline/grant.ts'
import type { Evaluated, InboundRequest, PolicyInput, Target } from './pipeline/request.ts'
import { Router } from './pipeline/route.ts'
import type { ShadowRunner } from './policy/shadow.ts'
import type { Clock, HoldGate, Logger, Metrics, PolicySource, RateCounter, Secrets, Upstream } from './ports.ts'

export interface GatewayDeps {
  config: Config
  policy: PolicySource
  upstream: Upstream
  secrets: Secrets
  logger: Logger
  metrics: Metrics
  clock: Clock
  /** policy.shadow: evaluated on the input after the enforced outcome, recorded in the line, never enforced. */
  shadow?: ShadowRunner | undefined
  /** Holds, review sampling and the approver API; without it `hold` decisions are refused. */
  holds?: HoldGate | undefined
  /** The agent's address, from the runtime adapter. */
  clientAddress?: (req: Request, env: unknown) => string | undefined
  /** The local port the request arrived on, for routes that own a listener port (Node). */
  localPort?: (req: Request, env: unknown) => number | undefined
  newId?: () => string
  /** Adapter-specific routes mounted before the proxy catch-all (e.g. /metrics on Node). */
  routes?: (app: Hono) => void
  /** Where per-agent rate buckets live (default: this process's memory; a Durable Object per agent on Workers). */
  rates?: RateCounter | undefined
}

/** sha256 of no bytes: most requests (GETs) have no body, and hashing nothing is not free. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

/** The one per-request pipeline every mode runs: authenticate → read body → decide → enforce → log. */
export interface Pipeline {
  readonly router: Router
  readonly agents: AgentDirectory
  /** A target the adapter could not choose is an AirlockError: refused and logged the same way. */
  handle(request: InboundRequest, target: Target | AirlockError): Promise<Response>
}

type LogFields = Partial<DecisionLogLine>

export async function createPipeline(deps: GatewayDeps): Promise<Pipeline> {
  const { config, logger, metrics, clock } = deps
  const router = new Router(config.routes)
  const agents = await AgentDirectory.create(config.agents, deps.secrets, (msg) =>
    logger.warn({ event: 'config' }, msg),
  )
  const newId = deps.newId ?? (() => crypto.randomUUID())
  // Known secret values, scrubbed from thrown messages before they are logged (credentials.ts).
  const secretList = secretValues(config, deps.secrets)
  const defaults = { timeout_s: config.holds.timeout_s, sample_rate: config.review.sample_rate }
  const send = (e: Evaluated) => forward(deps, e)
  // Resource bounds (limits/): per-agent admission right after authentication, and one budget for buffered bodies.
  const limiter = new AgentLimiter(config, deps.rates ?? new MemoryRateCounter(), () => clock.now())
  const bodies = new BodyBudget(config.limits.max_buffered_body_bytes)

  /** What run() holds while a request is handled, given back by handle() whatever the outcome. */
  interface Held {
    agent?: string
    lease?: BodyLease
    /** The decided input, for the shadow policy after the outcome. */
    input?: PolicyInput
  }

  /** Runs the stages; `fields` collects what each returns, so a failure still logs what was known by then. */
  async function run(
    request: InboundRequest,
    target: Target,
    decisionId: string,
    started: number,
    fields: LogFields,
    held: Held,
  ): Promise<Response> {
    const { route, upstreamUrl } = target
    Object.assign(fields, { mode: target.mode, route: route.name, host: upstreamUrl.hostname })
    const agent = await target.authenticate(request.headers)
    fields.agent = agent.id

    // Before the body is read: a refused request costs no buffering. Synchronous unless the rate counter is shared.
    const admitted = limiter.admit(agent.id)
    const usage = admitted instanceof Promise ? await admitted : admitted
    held.agent = agent.id

    held.lease = bodies.lease()
    const body = await readBody(request, route.max_body_bytes ?? config.limits.max_body_bytes, held.lease)
    const bodySha256 = body?.byteLength ? await sha256Hex(body) : EMPTY_SHA256
    const policy = deps.policy.current()
    if (!policy) throw new AirlockError('AIRLOCK_POLICY_NOT_LOADED', 'no policy is loaded yet; the request was refused')
    fields.revision = policy.revision

    const pendingHolds = deps.holds ? await deps.holds.pendingCounts() : {}
    const mcp = route.protocol === 'mcp' ? httpMcpInput(request.headers) : undefined
    // Grants apply to plain HTTP routes: an MCP message is decided and enforced on its own (mcp/stage.ts), which takes
    // no grant's use, so its policy sees none.
    const grants = deps.holds && !mcp ? await deps.holds.grantsFor(agent.id, started) : []
    const parts = {
      method: request.method,
      upstreamUrl,
      headers: request.headers,
      body,
      bodySha256,
      agent,
      route,
      nowMs: started,
      pendingHolds,
      grants,
      usage,
      mcp,
    }
    if (mcp && request.method === 'POST' && !target.send) {
      // An MCP route: each JSON-RPC message of the POST is decided and enforced on its own (mcp/stage.ts).
      const stage = { policy, defaults, logInput: config.log.decision_input, holds: deps.holds, metrics, send }
      const handled = await handleMcpPost(stage, { decisionId, request, target, parts, revision: policy.revision })
      Object.assign(fields, handled.log)
      if (handled.log.error_code) metrics.error(handled.log.error_code)
      return handled.response
    }
    let decided = decide(policy, { parts }, { defaults, logInput: config.log.decision_input })
    Object.assign(fields, decided.log)
    if (!decided.ok) throw decided.error
    const grantId = grantIdOf(decided.decision)
    if (grantId !== undefined) {
      // A grant allowed it: take one use before forwarding, or decide again without grants (held, fail closed).
      const use = await takeGrantUse(deps.holds, grantId, {
        agent_id: agent.id,
        route: route.name,
        decision_id: decisionId,
      })
      fields.grant = use.log
      if (!use.taken) {
        decided = decide(policy, { parts: { ...parts, grants: [] } }, { defaults, logInput: config.log.decision_input })
        Object.assign(fields, decided.log)
        if (!decided.ok) throw decided.error
        if (grantIdOf(decided.decision) !== undefined)
          throw new AirlockError(
            'AIRLOCK_POLICY_MALFORMED',
            'the policy allowed by a grant it was not shown; the request was refused',
          )
      }
    }
    const { decision, input } = decided
    held.input = input
    metrics.decision(decision.action, decision.rule, (decided.log.eval_us ?? 0) / 1e6)

    const headers = upstreamHeaders(request.headers, {
      route,
      clientAddress: target.clientAddress,
      requestUrl: target.requestUrl,
      proxied: target.proxied ?? false,
    })
    const evaluated: Evaluated = {
      decisionId,
      route,
      agent,
      method: request.method,
      upstreamUrl,
      headers,
      body,
      bodySha256,
      input,
      decision,
      revision: policy.revision,
    }
    const enforced = await enforce(evaluated, {
      holds: deps.holds,
      send: target.send ?? send,
      opaque: target.send !== undefined,
      prefer: request.headers.get('prefer'),
      signal: request.signal,
      logger,
      metrics,
      describe: (err) => describeForLog(err, secretList),
    })
    Object.assign(fields, enforced.log)
    if (enforced.log.error_code) metrics.error(enforced.log.error_code)
    return enforced.response
  }

  async function handle(request: InboundRequest, target: Target | AirlockError): Promise<Response> {
    const started = clock.now()
    const decisionId = newId()
    const fields: LogFields = {}
    const held: Held = {}
    let response: Response
    try {
      if (target instanceof AirlockError) throw target
      response = await run(request, target, decisionId, started, fields, held)
    } catch (err) {
      const e = toAirlockError(err)
      if (e.code === 'AIRLOCK_INTERNAL')
        logger.error({ decision_id: decisionId, err: describeForLog(e.cause, secretList) }, 'internal error')
      metrics.error(e.code)
      fields.error_code = e.code
      fields.reason ??= e.message
      response = errorResponse(e, decisionId)
    } finally {
      // Done with its in-flight slot and its body buffer (the response body may still stream; it is not buffered).
      if (held.agent !== undefined) limiter.release(held.agent)
      held.lease?.release()
    }
    const line: DecisionLogLine = {
      decision_id: decisionId,
      timestamp: new Date(started).toISOString(),
      path: DECISION_PATH,
      method: request.method,
      url_path: request.method === 'CONNECT' ? '' : new URL(request.url).pathname,
      ...fields,
      status: response.status,
      total_ms: clock.now() - started,
    }
    // After the enforced outcome, so the shadow policy never delays or changes it; its cost is its own field.
    if (deps.shadow && held.input) line.shadow = deps.shadow.run(held.input, line.action ?? 'error')
    if (logger.decision) logger.decision(line)
    else logger.info(line, 'decision')
    return response
  }

  return { router, agents, handle }
}
