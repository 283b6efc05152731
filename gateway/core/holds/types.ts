import type { Decision } from '../policy/decision.ts'

/**
 * pending → approved → executing → executed | failed
 * pending → denied | expired
 * executing → outcome_unknown (the process stopped mid-call: a person resolves it; it is never re-sent)
 */
export type HoldState =
  | 'pending'
  | 'approved'
  | 'executing'
  | 'executed'
  | 'failed'
  | 'denied'
  | 'expired'
  | 'outcome_unknown'

/** Every state, in the order of a hold's life (the API validates ?state= against it). */
export const HOLD_STATES: readonly HoldState[] = [
  'pending',
  'approved',
  'executing',
  'executed',
  'failed',
  'denied',
  'expired',
  'outcome_unknown',
]

/** States in which the outcome is not known yet: an agent waiting on such a hold keeps waiting (or polling). */
export const OPEN_STATES: readonly HoldState[] = ['pending', 'approved', 'executing']

/** A state the agent can act on: the hold is settled one way or another. */
export function isTerminal(state: HoldState): boolean {
  return !OPEN_STATES.includes(state)
}

export interface Approval {
  approver: string
  at: number
  comment: string | null
  /** sha256 of the context the approver was shown (GET /_airlock/api/holds/:id returns it). */
  context_sha256: string
  ms_from_notify: number
  ms_from_view: number | null
  /** Decided faster than holds.fast_decision_ms after first viewing: a possible rubber stamp. */
  fast: boolean
}

export interface Denial {
  approver: string | null
  at: number
  comment: string | null
  ms_from_view?: number | null
  fast?: boolean
}

export interface View {
  approver: string
  at: number
}

export interface StoredResponse {
  status: number
  headers: [string, string][]
  body: Uint8Array
  truncated: boolean
}

export interface Hold {
  id: string
  state: HoldState
  created_at: number
  updated_at: number
  expires_at: number
  decided_at: number | null
  dedupe_key: string
  agent: { id: string; owner: string }
  route: string
  method: string
  url: string
  /** The headers that go upstream, credential-free (the credential is injected at execution). */
  headers: [string, string][]
  body: Uint8Array | null
  body_sha256: string
  intent: string | null
  decision: Decision
  decision_id: string
  policy_revision: string
  groups: string[]
  approvals: Approval[]
  views: View[]
  denial: Denial | null
  response: StoredResponse | null
  error: string | null
}

/** A hold as submitted: what the store is given to create (state, decisions and outcome start empty). */
export type NewHold = Omit<
  Hold,
  'state' | 'updated_at' | 'decided_at' | 'approvals' | 'views' | 'denial' | 'response' | 'error'
>

export interface Review {
  id: string
  decision_id: string
  created_at: number
  agent_id: string
  route: string
  rule: string
  summary: string
  context: unknown
  upstream_status: number
  state: 'pending' | 'ok' | 'flagged'
  reviewer: string | null
  comment: string | null
  reviewed_at: number | null
}

export interface Delivery {
  id: number
  hold_id: string | null
  event: string
  grp: string
  hook: number
  payload: string
  state: 'pending' | 'delivered' | 'failed'
  attempts: number
  next_at: number
  last_status: number | null
  last_error: string | null
  created_at: number
  delivered_at: number | null
}
