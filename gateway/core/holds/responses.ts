// What an agent receives for a hold, by state. Never a 2xx before the upstream has executed: an agent that sees
// 2xx must be able to trust that the action happened. Every body says in words what happened and what to do next.
import { AirlockError, errorResponse } from '../errors.ts'
import { NULL_BODY_STATUS } from '../pipeline/forward.ts'
import type { Hold } from './types.ts'

/** The state anyone allowed to poll may see: no approver comments beyond a denial's. */
export function holdStatus(hold: Hold): object {
  return {
    id: hold.id,
    state: hold.state,
    summary: hold.decision.summary,
    reason: hold.decision.reason,
    rule: hold.decision.rule,
    created_at: new Date(hold.created_at).toISOString(),
    expires_at: new Date(hold.expires_at).toISOString(),
    approvals: hold.approvals.length,
    approvals_required: hold.decision.approvals_required,
    response_status: hold.response?.status ?? null,
  }
}

export const pollPath = (hold: Hold) => `/_airlock/holds/${hold.id}`

/** 202 for Prefer: respond-async: where to poll. */
export function acceptedResponse(hold: Hold, retryAfterS: number, decisionId = hold.decision_id): Response {
  return Response.json(
    {
      hold: holdStatus(hold),
      message: 'A person has been asked to approve this request. Poll the Location URL for the outcome.',
    },
    {
      status: 202,
      headers: {
        location: pollPath(hold),
        'airlock-hold-id': hold.id,
        'airlock-decision-id': decisionId,
        'retry-after': String(retryAfterS),
        'cache-control': 'no-store',
      },
    },
  )
}

/**
 * The answer for a hold in its current state. `decisionId` is the decision of the request being answered (a retry has
 * its own); the decision that created the hold is in the body as `hold_decision_id`.
 */
export function holdResponse(hold: Hold, retryAfterS: number, decisionId = hold.decision_id): Response {
  const details = { hold_id: hold.id, hold_decision_id: hold.decision_id, rule: hold.decision.rule }
  const headers = { 'airlock-hold-id': hold.id }
  const refuse = (
    code: ConstructorParameters<typeof AirlockError>[0],
    message: string,
    extra: object = {},
    h: Record<string, string> = {},
  ) => errorResponse(new AirlockError(code, message, { ...details, ...extra }), decisionId, { ...headers, ...h })

  switch (hold.state) {
    case 'executed': {
      const r = hold.response
      if (!r)
        return refuse(
          'AIRLOCK_CONFLICT',
          'A person recorded that this request was executed upstream, but its response was not captured. Do not retry it.',
        )
      const h = new Headers(r.headers)
      h.set('airlock-hold-id', hold.id)
      h.set('airlock-decision-id', decisionId)
      // Stored responses are capped; say so rather than hand over a silently cut body.
      if (r.truncated) h.set('airlock-response-truncated', 'true')
      if (r.truncated) h.delete('content-length')
      return new Response(NULL_BODY_STATUS.has(r.status) ? null : (r.body as Uint8Array<ArrayBuffer>), {
        status: r.status,
        headers: h,
      })
    }
    case 'denied': {
      const who = hold.denial?.approver ?? 'an approver'
      const why = hold.denial?.comment
        ? `: "${hold.denial.comment}"`
        : `. The policy's reason for asking: ${hold.decision.reason}`
      return refuse(
        'AIRLOCK_HOLD_DENIED',
        `A person (${who}) reviewed this request and denied it${why}. Do not retry it unchanged.`,
      )
    }
    case 'expired':
      return refuse(
        'AIRLOCK_HOLD_EXPIRED',
        `No person decided on this request before it expired, so it was not executed. The policy's reason for asking: ${hold.decision.reason}`,
      )
    case 'failed':
      return refuse(
        'AIRLOCK_HOLD_FAILED',
        `The request was approved but sending it upstream failed (${hold.error ?? 'unknown error'}); it was not executed.`,
      )
    case 'outcome_unknown':
      return refuse(
        'AIRLOCK_HOLD_OUTCOME_UNKNOWN',
        'The request was approved and sending started, but Airlock cannot tell whether the upstream executed it. A person must resolve it; do not retry.',
      )
    default:
      return refuse(
        'AIRLOCK_HOLD_PENDING',
        `This request needs human approval: ${hold.decision.reason}. A person has been asked (${hold.groups.join(', ')}). It has NOT been executed yet. Retry the identical request (same method, URL and body) after ${retryAfterS} seconds to get the result; a changed request would need a new approval.`,
        {
          state: hold.state,
          summary: hold.decision.summary,
          expires_at: new Date(hold.expires_at).toISOString(),
          poll: pollPath(hold),
        },
        { 'retry-after': String(retryAfterS), location: pollPath(hold) },
      )
  }
}
