// One canonical log line per request (Smokescreen's lesson), with OPA decision-log field names where they apply
// (decision_id, path, input, result, timestamp, metrics.timer_rego_query_eval_ns) so existing OPA log tooling reads it.
// The input is already redacted when it is built; nothing here may add a secret.
import type { Decision } from '../policy/decision.ts'
import type { PolicyInput } from './request.ts'

export const DECISION_PATH = 'airlock/decision'

/** What the line carries under `shadow` (policy.shadow, gateway/core/policy/shadow.ts). */
export interface ShadowOutcome {
  action: string
  rule: string
  revision: string
  /** Time spent evaluating the shadow policy, µs (its cost to this request). */
  eval_us: number
  /** Set when the shadow policy failed: its action is then "error". */
  error?: string
}

export interface DecisionLogLine {
  decision_id: string
  timestamp: string
  path: string
  revision?: string | undefined
  /** How the request reached Airlock: reverse, forward, intercept or tunnel. */
  mode?: string | undefined
  agent?: string | undefined
  route?: string | undefined
  method: string
  host?: string | undefined
  url_path: string
  action?: string | undefined
  reason?: string | undefined
  rule?: string | undefined
  risk?: string | undefined
  hold_id?: string | undefined
  sampled?: boolean | undefined
  status: number
  upstream_status?: number | undefined
  error_code?: string | undefined
  eval_us?: number | undefined
  total_ms: number
  input?: PolicyInput | undefined
  result?: Decision | undefined
  metrics?: { timer_rego_query_eval_ns: number } | undefined
  /** policy.shadow's decision for the same input (never enforced): action, rule, revision, eval_us, error. */
  shadow?: ShadowOutcome | undefined
  /** A grant that allowed the request: its id and the use taken (use of max_uses), or refused when it was not. */
  grant?: { id: string; use?: number; max_uses?: number; refused?: boolean } | undefined
  /** MCP routes: each JSON-RPC message's method, tool, action, rule (and hold id, hidden tools), by batch index. */
  mcp?: object[] | undefined
}
