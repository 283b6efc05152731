// Every interface the core declares and the runtime adapters implement (hono's GetConnInfo pattern), in one module:
// tests inject their own, so nothing in the core is monkey-patched. This module imports only types, and only from
// modules that import no port back (request.ts, config, policy/decision.ts), so it can never close an import loop.
import type { Hono } from 'hono'
import type { Evaluated, GrantInput, HeldRequest } from './pipeline/request.ts'

/** Reads a secret by name: process.env on Node, Worker secrets on Workers. */
export type Secrets = (name: string) => string | undefined

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number
}

/** pino-compatible subset. */
export interface Logger {
  debug(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
  /**
   * The one decision line per request, where an adapter writes it faster than `info(line, 'decision')` with the
   * same output (the Node logger does; without it the pipeline calls info).
   */
  decision?(line: object): void
}

export interface Metrics {
  decision(action: string, rule: string, evalSeconds: number): void
  upstream(route: string, status: number, seconds: number): void
  error(code: string): void
}

export interface UpstreamRequest {
  url: URL
  method: string
  headers: Headers
  body: Uint8Array | null
  timeoutMs: number
  /** The route allows loopback/private destinations (SSRF guard off). */
  allowPrivate: boolean
}

/**
 * Sends one request upstream and resolves with the response head as soon as it arrives (the body streams).
 * Must not decode content-encodings: bytes pass through untouched. Throws AirlockError with
 * AIRLOCK_UPSTREAM_CONNECT, AIRLOCK_UPSTREAM_TIMEOUT or AIRLOCK_DESTINATION_FORBIDDEN.
 */
export type Upstream = (req: UpstreamRequest) => Promise<Response>

/** Sends a webhook; allowPrivate mirrors the webhook's config (the SSRF guard applies otherwise). */
export type WebhookFetch = (url: string, init: RequestInit, allowPrivate: boolean) => Promise<Response>

/** What the pipeline needs from a policy (policy/evaluator.ts loads the opa-wasm one); tests may inject their own. */
export interface PolicyEvaluator {
  /** Identifies the compiled policy and data (sha256), logged with every decision. */
  readonly revision: string
  /** Evaluates the decision entrypoint and returns its raw result set. Synchronous, never re-entered. */
  evaluate(input: unknown): unknown
}

export interface PolicySource {
  /** The policy serving now; undefined until one has loaded (then /readyz fails and requests are refused). */
  current(): PolicyEvaluator | undefined
}

export type SqlValue = string | number | null | Uint8Array

/** The hold store's database (holds/store.ts): node:sqlite on Node, the Durable Object's SQLite on Workers. */
export interface SqlDriver {
  /** Runs one statement and returns its rows as plain objects (blobs as Uint8Array). */
  all<T = Record<string, SqlValue>>(sql: string, ...params: SqlValue[]): T[]
  /** Runs one statement; returns the number of rows it changed. */
  run(sql: string, ...params: SqlValue[]): number
  /** Runs fn atomically: all of its statements or none. fn is synchronous, so nothing interleaves. */
  transaction<T>(fn: () => T): T
}

export interface HoldOutcome {
  holdId: string
  response: Response
}

/**
 * What the request pipeline needs from the holds subsystem. On Node the HoldService implements it in process
 * (holds/api.ts); on Workers a thin client forwards each call to the Durable Object that owns the state.
 */
export interface HoldGate {
  /** Pending holds per approver group, shown to policies as input.gateway.pending_holds. */
  pendingCounts(): Promise<Record<string, number>>
  /** The agent's live grants, shown to policies as input.gateway.grants (read from the store on every request). */
  grantsFor(agentId: string, nowMs: number): Promise<GrantInput[]>
  /**
   * Takes one use of a grant that allowed a request, atomically in the store (and audits it); the uses so far, or
   * undefined when refused (revoked, expired or used up since the policy saw it): the request is then held.
   */
  useGrant(
    id: string,
    use: { agent_id: string; route: string; decision_id: string },
  ): Promise<{ uses: number; max_uses: number } | undefined>
  /** Stores (or joins, for an identical retry) a hold, notifies approvers, waits as the agent asked. */
  hold(req: HeldRequest, signal: AbortSignal): Promise<HoldOutcome>
  /** Samples a forwarded `review` request into the after-the-fact review queue; true when sampled. */
  review(req: Evaluated, upstreamStatus: number): Promise<boolean>
  /** Adds the approver and hold-status API to the gateway's app. */
  mount(app: Hono): void
}

/** A token bucket's settings (limits/rate.ts). */
export interface RateLimit {
  /** Sustained rate: tokens added per minute. */
  per_minute: number
  /** Bucket size: how many requests may come at once after a quiet spell. */
  burst: number
}

export interface RateVerdict {
  allowed: boolean
  /** Whole tokens left after this request (input.agent.usage.rate.remaining). */
  remaining: number
  /** When refused: how long until one token is back (ms). */
  retry_after_ms: number
}

/**
 * Where the per-agent token buckets live; it must be shared by every process serving an agent. In memory for one Node
 * process (limits/rate.ts), one Durable Object per agent on Workers (worker/limiter-object.ts); a PostgreSQL-backed
 * one (a row per agent, the same arithmetic in one UPDATE … RETURNING) is the way to several Node replicas. A shared
 * counter answers asynchronously; the in-memory one synchronously, so the hot path pays no promise.
 */
export interface RateCounter {
  take(key: string, rate: RateLimit, nowMs: number): RateVerdict | Promise<RateVerdict>
}

export const systemClock: Clock = { now: () => Date.now() }

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} }

export const noMetrics: Metrics = { decision() {}, upstream() {}, error() {} }
