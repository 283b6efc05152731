// Every failure Airlock reports has a stable code (users and dashboards match on the code, never on the message),
// one HTTP status, and a message written for the agent that made the request — often an LLM deciding what to do next.
// Messages never carry secrets: no keys, no credential values, no upstream addresses resolved from DNS.

export const errorStatus = {
  AIRLOCK_ROUTE_NOT_FOUND: 404,
  AIRLOCK_AGENT_KEY_MISSING: 401,
  AIRLOCK_AGENT_KEY_INVALID: 401,
  AIRLOCK_AGENT_NOT_ALLOWED: 403,
  AIRLOCK_PROXY_AUTH_REQUIRED: 407,
  AIRLOCK_PROXY_AUTH_INVALID: 407,
  AIRLOCK_PROXY_DISABLED: 403,
  AIRLOCK_PROXY_BAD_TARGET: 400,
  AIRLOCK_BODY_TOO_LARGE: 413,
  AIRLOCK_BODY_MALFORMED: 400,
  AIRLOCK_PATH_AMBIGUOUS: 400,
  /** The body stopped arriving: the agent hung up or was cut off as too slow (RFC 9110 §15.5.9). */
  AIRLOCK_BODY_INCOMPLETE: 408,
  /** The agent's request rate (token bucket) is used up; Retry-After says when a token is back. */
  AIRLOCK_RATE_LIMITED: 429,
  /** The agent already has its limit of requests in progress. */
  AIRLOCK_TOO_MANY_IN_FLIGHT: 429,
  /** The gateway-wide budget for buffered request bodies is full; the body was not read. */
  AIRLOCK_OVERLOADED: 503,
  AIRLOCK_DENIED: 403,
  AIRLOCK_POLICY_NOT_LOADED: 503,
  AIRLOCK_POLICY_UNDEFINED: 500,
  AIRLOCK_POLICY_MALFORMED: 500,
  AIRLOCK_POLICY_ERROR: 500,
  AIRLOCK_CREDENTIAL_MISSING: 503,
  AIRLOCK_CREDENTIAL_INVALID: 503,
  AIRLOCK_DESTINATION_FORBIDDEN: 403,
  AIRLOCK_UPSTREAM_CONNECT: 502,
  AIRLOCK_UPSTREAM_TIMEOUT: 504,
  AIRLOCK_HOLD_PENDING: 409,
  AIRLOCK_HOLD_DENIED: 403,
  AIRLOCK_HOLD_EXPIRED: 403,
  AIRLOCK_HOLD_FAILED: 502,
  AIRLOCK_HOLD_OUTCOME_UNKNOWN: 502,
  AIRLOCK_HOLD_CAPACITY: 503,
  AIRLOCK_HOLD_NOT_FOUND: 404,
  AIRLOCK_STORE_ERROR: 503,
  /** Not an HTTP answer: a webhook delivery failed (a metric label and a log event). */
  AIRLOCK_WEBHOOK_FAILED: 502,
  /** Not an HTTP answer: a forwarded `review` request could not be recorded for review (a metric label and a log event). */
  AIRLOCK_REVIEW_NOT_RECORDED: 500,
  AIRLOCK_UNAUTHORIZED: 401,
  AIRLOCK_FORBIDDEN: 403,
  AIRLOCK_BAD_REQUEST: 400,
  AIRLOCK_CONFLICT: 409,
  AIRLOCK_INTERNAL: 500,
  // Start-up and the `airlock` command: never HTTP answers (the status is nominal). The command prints the code with
  // the message and exits 2 for AIRLOCK_USAGE, 1 for the others.
  /** A command line Airlock does not understand: unknown command or flag, missing or extra argument. */
  AIRLOCK_USAGE: 400,
  AIRLOCK_CONFIG_UNREADABLE: 500,
  AIRLOCK_CONFIG_INVALID: 500,
  /** The config and the policy disagree, e.g. a hold names an approver group the config does not define. */
  AIRLOCK_CONFIG_MISMATCH: 500,
  /** Two secrets that must differ are equal (an approver token and an agent key). */
  AIRLOCK_SECRET_REUSED: 500,
  /** The OPA compiler cannot be found or built. */
  AIRLOCK_TOOLCHAIN: 500,
  AIRLOCK_POLICY_BUILD_FAILED: 500,
  /** The compiled policy folder is missing, half-written or unreadable. */
  AIRLOCK_POLICY_FILES: 500,
  /** A port cannot be listened on (in use, or not allowed). */
  AIRLOCK_LISTEN_FAILED: 500,
  /** TLS interception is configured but its CA is missing or unusable. */
  AIRLOCK_CA_UNUSABLE: 500,
  /** The data folder has no database (report and audit verify read it directly). */
  AIRLOCK_DATA_MISSING: 500,
  /** The command cannot reach the gateway's approver API. */
  AIRLOCK_GATEWAY_UNREACHABLE: 502,
} as const

export type ErrorCode = keyof typeof errorStatus

/**
 * Refusals: expected outcomes of a well-behaved gateway (a policy said no, a key was wrong, a hold is still pending),
 * answered thousands of times a second on the deny path. They carry no stack: capturing one cost ≈ 3 % of the deny
 * path, and nobody debugs a refusal from its stack. Failures (policy errors, upstream, store, internal) keep theirs.
 */
const REFUSALS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'AIRLOCK_ROUTE_NOT_FOUND',
  'AIRLOCK_AGENT_KEY_MISSING',
  'AIRLOCK_AGENT_KEY_INVALID',
  'AIRLOCK_AGENT_NOT_ALLOWED',
  'AIRLOCK_PROXY_AUTH_REQUIRED',
  'AIRLOCK_PROXY_AUTH_INVALID',
  'AIRLOCK_PROXY_DISABLED',
  'AIRLOCK_PROXY_BAD_TARGET',
  'AIRLOCK_BODY_TOO_LARGE',
  'AIRLOCK_BODY_MALFORMED',
  'AIRLOCK_DENIED',
  'AIRLOCK_DESTINATION_FORBIDDEN',
  'AIRLOCK_HOLD_PENDING',
  'AIRLOCK_HOLD_DENIED',
  'AIRLOCK_HOLD_EXPIRED',
  'AIRLOCK_HOLD_CAPACITY',
  'AIRLOCK_HOLD_NOT_FOUND',
  'AIRLOCK_UNAUTHORIZED',
  'AIRLOCK_FORBIDDEN',
  'AIRLOCK_BAD_REQUEST',
  'AIRLOCK_CONFLICT',
])

export class AirlockError extends Error {
  override readonly name = 'AirlockError'
  readonly code: ErrorCode
  readonly status: number
  /** Extra fields for the JSON error body; must never hold secrets. */
  readonly details: Record<string, unknown>

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    // V8 captures the stack in Error's constructor, up to Error.stackTraceLimit frames (0: none).
    const limit = Error.stackTraceLimit
    if (REFUSALS.has(code)) Error.stackTraceLimit = 0
    try {
      super(message, options)
    } finally {
      Error.stackTraceLimit = limit
    }
    this.code = code
    this.status = errorStatus[code]
    this.details = details
  }
}

export function isAirlockError(err: unknown): err is AirlockError {
  return err instanceof AirlockError
}

/** Normalises anything thrown (opa-wasm throws strings and plain objects) into a readable message. */
export function describeThrown(err: unknown): string {
  if (err instanceof Error) return err.message
  if (typeof err === 'string') return err
  if (err && typeof err === 'object' && 'message' in err) return String((err as { message: unknown }).message)
  try {
    return JSON.stringify(err)
  } catch {
    return String(err)
  }
}

/** The one place errors become HTTP responses. */
export function errorResponse(err: AirlockError, decisionId?: string, headers: HeadersInit = {}): Response {
  const body = {
    error: {
      code: err.code,
      message: err.message,
      ...err.details,
      ...(decisionId ? { decision_id: decisionId } : {}),
    },
  }
  const h = new Headers(headers)
  h.set('content-type', 'application/json; charset=utf-8')
  h.set('cache-control', 'no-store')
  if (decisionId) h.set('airlock-decision-id', decisionId)
  // The code in a header too: clients and the decision log can read it without parsing the body.
  h.set('airlock-error-code', err.code)
  // RFC 9110 §11.7.1: a 407 names the scheme the proxy accepts (Basic "agent:key", or Bearer).
  if (err.status === 407) h.set('proxy-authenticate', 'Basic realm="airlock"')
  // RFC 9110 §10.2.3 / RFC 6585 §4: a 429 or 503 says when to come back, in whole seconds.
  const retryAfter = err.details.retry_after_s
  if (typeof retryAfter === 'number' && !h.has('retry-after'))
    h.set('retry-after', String(Math.max(1, Math.ceil(retryAfter))))
  return new Response(JSON.stringify(body, null, 2) + '\n', { status: err.status, headers: h })
}

export function toAirlockError(err: unknown): AirlockError {
  if (isAirlockError(err)) return err
  return new AirlockError(
    'AIRLOCK_INTERNAL',
    'internal gateway error; the request was not forwarded',
    {},
    { cause: err },
  )
}
