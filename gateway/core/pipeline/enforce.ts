// The enforce stage: what the decision means for this request. deny → refused with the policy's reason; hold →
// the hold gate (stored, approvers notified, the agent waits or polls); allow and review → sent upstream and the
// response passed back, a review also offered to the sampler. Returns the response and the log fields it produced;
// a refusal is thrown as an AirlockError for the pipeline to answer and log.
import { AirlockError } from '../errors.ts'
import type { HoldGate, Logger, Metrics } from '../ports.ts'
import type { DecisionLogLine } from './decision-log.ts'
import { downstreamResponse } from './forward.ts'
import type { Evaluated } from './request.ts'

export type EnforceLog = Pick<DecisionLogLine, 'hold_id' | 'error_code' | 'upstream_status' | 'sampled'>

export interface Enforced {
  response: Response
  log: EnforceLog
}

export interface EnforceContext {
  /** Holds and review sampling; without it `hold` decisions are refused. */
  holds: HoldGate | undefined
  /** Sends the request upstream (the forward stage, or a tunnel's own send). */
  send: (e: Evaluated) => Promise<Response>
  /** The mode replaced sending with its own (a CONNECT tunnel): Airlock cannot see or replay it, so cannot hold it. */
  opaque: boolean
  /** The agent's Prefer header (wait=N, respond-async), for a hold. */
  prefer: string | null
  /** Aborts when the agent goes away: a held request stops waiting. */
  signal: AbortSignal
  logger: Logger
  metrics: Metrics
  /** An unexpected error as the log may show it (known secret values replaced: credentials.ts). */
  describe: (err: unknown) => string
}

export async function enforce(e: Evaluated, ctx: EnforceContext): Promise<Enforced> {
  const { decision } = e
  switch (decision.action) {
    case 'deny':
      throw new AirlockError('AIRLOCK_DENIED', decision.reason, { rule: decision.rule, action: 'deny' })
    case 'hold': {
      if (!ctx.holds)
        throw new AirlockError(
          'AIRLOCK_DENIED',
          `${decision.reason} (this request needs human approval, and approvals are not enabled on this gateway)`,
          { rule: decision.rule, action: 'hold' },
        )
      if (ctx.opaque)
        throw new AirlockError(
          'AIRLOCK_DENIED',
          `${decision.reason} (this needs human approval, but Airlock cannot see or replay what goes through a tunnel; ask the operator to intercept TLS for ${e.upstreamUrl.hostname})`,
          { rule: decision.rule, action: 'hold' },
        )
      const outcome = await ctx.holds.hold({ ...e, prefer: ctx.prefer }, ctx.signal)
      const code = outcome.response.headers.get('airlock-error-code')
      return { response: outcome.response, log: { hold_id: outcome.holdId, ...(code ? { error_code: code } : {}) } }
    }
    case 'allow':
    case 'review': {
      const upstreamResponse = await ctx.send(e)
      const log: EnforceLog = { upstream_status: upstreamResponse.status }
      if (decision.action === 'review' && ctx.holds)
        log.sampled = await sampleForReview(e, upstreamResponse.status, ctx)
      return { response: downstreamResponse(upstreamResponse, e.decisionId), log }
    }
  }
}

/**
 * Offers a forwarded `review` request to the sampler. The upstream has already answered: a failure to record it must
 * not turn that answer into an error (the agent would be told it was not forwarded, and a retry would repeat the side
 * effect), so it is logged and counted, and the agent gets the upstream's answer. Not retried: recording counts the
 * request before it samples it, so a second attempt after a partial failure would count it twice.
 */
async function sampleForReview(e: Evaluated, upstreamStatus: number, ctx: EnforceContext): Promise<boolean> {
  try {
    return await ctx.holds!.review(e, upstreamStatus)
  } catch (err) {
    ctx.metrics.error('AIRLOCK_REVIEW_NOT_RECORDED')
    ctx.logger.error(
      { event: 'review_not_recorded', decision_id: e.decisionId, rule: e.decision.rule, error: ctx.describe(err) },
      'a forwarded review request could not be recorded for review; the agent got the upstream answer',
    )
    return false
  }
}
