// The interfaces the core declares and the runtime adapters implement (hono's GetConnInfo pattern):
// tests inject their own, so nothing in the core is monkey-patched.

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

export const systemClock: Clock = { now: () => Date.now() }

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} }

export const noMetrics: Metrics = { decision() {}, upstream() {}, error() {} }
