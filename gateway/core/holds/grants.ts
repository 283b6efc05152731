// Time-boxed approval grants (docs/approvals.md "Grants"): an approver who approves a hold may also allow the same
// rule for the same agent on the same route for the next N minutes, at most M times, optionally only while named
// fields stay within bounds taken from the approved request. The policy sees live grants (input.gateway.grants) and
// the folding library turns a matching hold into an allow; the gateway then consumes one use in the database, in one
// conditional statement, before forwarding — so expiry, revocation and the use limit hold under concurrency on every
// store, and nothing about a grant is cached in process memory.
import { AirlockError } from '../errors.ts'
import type { GrantInput } from '../pipeline/request.ts'

export type { GrantInput }

/**
 * One field constraint, fixed when the grant is made from the approved request's parsed body or query:
 * `equals` — the field must have exactly the approved value; `max` — a number no higher than the approved one.
 */
export interface GrantBound {
  in: 'body' | 'query'
  field: string
  op: 'equals' | 'max'
  value: unknown
}

export interface Grant {
  id: string
  hold_id: string
  rule: string
  agent_id: string
  route: string
  /** The hold's approver groups: who may see and revoke the grant. */
  groups: string[]
  created_by: string
  created_at: number
  expires_at: number
  max_uses: number
  uses: number
  bounds: GrantBound[]
  revoked_at: number | null
  revoked_by: string | null
}

export type NewGrant = Omit<Grant, 'uses' | 'revoked_at' | 'revoked_by'>

/** What an approver asks for when approving (POST /holds/:id/approve `grant`). */
export interface GrantRequest {
  minutes: number
  max_uses: number
  /** Field names of the approved request that must stay the same / may not exceed the approved number. */
  bounds?: { same?: string[] | undefined; max?: string[] | undefined } | undefined
}

export function grantInput(g: Grant): GrantInput {
  return {
    id: g.id,
    hold_id: g.hold_id,
    rule: g.rule,
    agent_id: g.agent_id,
    route: g.route,
    created_by: g.created_by,
    expires_at: new Date(g.expires_at).toISOString(),
    expires_at_ns: g.expires_at * 1e6,
    uses: g.uses,
    max_uses: g.max_uses,
    bounds: g.bounds,
  }
}

/** The grant id a decision was allowed by, or undefined (the folding library names it `grant:<id>`). */
export function grantOf(decision: { action: string; rule: string; grant?: string | undefined }): string | undefined {
  if (decision.action !== 'allow' || !decision.grant || decision.rule !== `grant:${decision.grant}`) return undefined
  return decision.grant
}

const MAX_USES_LIMIT = 1000
const FIELD = /^[A-Za-z0-9_.-]{1,64}$/

/**
 * Validates an approver's grant request against the hold's decision and the group's maximum, and fixes the bounds
 * from the approved request's parsed body and query. Throws AIRLOCK_BAD_REQUEST / AIRLOCK_FORBIDDEN naming the problem.
 */
export function grantBounds(
  req: GrantRequest,
  opts: {
    grantable: boolean
    risk: string
    maxMinutes: number
    group: string
    body: unknown
    query: Record<string, unknown>
  },
): GrantBound[] {
  const bad = (msg: string) => new AirlockError('AIRLOCK_BAD_REQUEST', `grant: ${msg}`)
  if (!opts.grantable || opts.risk === 'critical') {
    throw new AirlockError(
      'AIRLOCK_FORBIDDEN',
      opts.risk === 'critical'
        ? 'grant: this hold is critical risk; a critical rule is never grantable — approve it alone'
        : 'grant: the policy did not mark this hold grantable (grantable: true on its hold rule); approve it alone',
    )
  }
  if (!Number.isInteger(req.minutes) || req.minutes < 1) throw bad('minutes must be a whole number of minutes >= 1')
  if (opts.maxMinutes < 1)
    throw new AirlockError(
      'AIRLOCK_FORBIDDEN',
      `grant: approver group "${opts.group}" may not grant (its max_grant_minutes is 0)`,
    )
  if (req.minutes > opts.maxMinutes) {
    throw new AirlockError(
      'AIRLOCK_FORBIDDEN',
      `grant: ${req.minutes} minutes is more than approver group "${opts.group}" may grant (max_grant_minutes ${opts.maxMinutes})`,
    )
  }
  if (!Number.isInteger(req.max_uses) || req.max_uses < 1 || req.max_uses > MAX_USES_LIMIT)
    throw bad(`max_uses must be a whole number from 1 to ${MAX_USES_LIMIT}`)
  const bounds: GrantBound[] = []
  const approvedValue = (field: string): { in: 'body' | 'query'; value: unknown } => {
    if (!FIELD.test(field)) throw bad(`bound field "${field}" must be a top-level field name (letters, digits, _ . -)`)
    const body = opts.body
    if (body && typeof body === 'object' && !Array.isArray(body) && Object.hasOwn(body, field))
      return { in: 'body', value: (body as Record<string, unknown>)[field] }
    if (Object.hasOwn(opts.query, field)) return { in: 'query', value: opts.query[field] }
    throw bad(`the approved request has no top-level body field or query parameter "${field}" to bound`)
  }
  for (const field of req.bounds?.same ?? []) bounds.push({ ...approvedValue(field), field, op: 'equals' })
  for (const field of req.bounds?.max ?? []) {
    const v = approvedValue(field)
    if (v.in !== 'body' || typeof v.value !== 'number')
      throw bad(`"${field}" is not a number in the approved request's body, so it cannot bound a maximum`)
    bounds.push({ ...v, field, op: 'max' })
  }
  return bounds
}
