// Review after the fact: a `review` decision forwards at once, and a sample of those requests (the rule's
// sample_rate) is queued for a person to mark ok or flag. Every forwarded review is counted per rule, sampled or not,
// so the report can say how much was seen. Reading and marking are scoped to the approver's groups (scope.ts).
import type { ApproverConfig } from '../config/schema.ts'
import { AirlockError } from '../errors.ts'
import type { Evaluated } from '../pipeline/request.ts'
import type { HoldContext } from './context.ts'
import { assertMayDecide, mayRead, notFound, readScope, reviewGroups } from './scope.ts'
import type { Review } from './types.ts'

export class ReviewQueue {
  readonly #ctx: HoldContext

  constructor(ctx: HoldContext) {
    this.#ctx = ctx
  }

  /** Counts a forwarded `review` request and samples it into the queue at the rule's rate; true when sampled. */
  async sample(req: Evaluated, upstreamStatus: number): Promise<boolean> {
    const ctx = this.#ctx
    const d = req.decision
    await ctx.store.countForwarded(d.rule)
    if (ctx.random() >= d.sample_rate) return false
    const id = ctx.newId()
    const r = req.input.request
    const context = {
      reason: d.reason,
      risk: d.risk,
      intent: req.input.intent,
      approvers: d.approvers,
      request: {
        method: req.method,
        url: req.upstreamUrl.href,
        headers: r.headers,
        body: r.body,
        body_size: r.body_size,
      },
    }
    await ctx.store.addReview({
      id,
      decision_id: req.decisionId,
      created_at: ctx.now(),
      agent_id: req.agent.id,
      route: req.route.name,
      rule: d.rule,
      summary: d.summary,
      context,
      upstream_status: upstreamStatus,
    })
    await ctx.audit('review.sampled', `policy:${d.rule}`, null, { review_id: id, decision_id: req.decisionId })
    return true
  }

  /** The review items of the approver's groups (all of them for an auditor), oldest first. */
  async items(approver: ApproverConfig, state?: Review['state']): Promise<Review[]> {
    return this.#ctx.store.reviews(state, readScope(approver))
  }

  async item(id: string, approver: ApproverConfig): Promise<Review> {
    const review = await this.#ctx.store.getReview(id)
    if (!review || !mayRead(reviewGroups(review, this.#allGroups()), approver)) throw notFound('review item', id)
    return review
  }

  async mark(id: string, reviewer: ApproverConfig, verdict: 'ok' | 'flag', comment: string | null): Promise<Review> {
    const ctx = this.#ctx
    const review = await this.item(id, reviewer)
    assertMayDecide('review item', id, reviewGroups(review, this.#allGroups()), reviewer)
    if (verdict === 'flag' && !comment)
      throw new AirlockError('AIRLOCK_BAD_REQUEST', 'flagging needs a comment saying what is wrong')
    const state = verdict === 'ok' ? 'ok' : 'flagged'
    if (!(await ctx.store.markReview(id, state, reviewer.id, comment, ctx.now()))) {
      throw new AirlockError('AIRLOCK_CONFLICT', `review item ${id} was already marked`)
    }
    await ctx.audit(`review.${state}`, `approver:${reviewer.id}`, null, { review_id: id, comment })
    if (state === 'flagged') {
      const groups = [...reviewGroups(review, this.#allGroups())]
      await ctx.enqueue('review.flagged', null, groups, {
        type: 'review.flagged',
        review: { ...review, state, reviewer: reviewer.id, comment },
      })
    }
    return (await ctx.store.getReview(id))!
  }

  #allGroups(): string[] {
    return Object.keys(this.#ctx.config.approver_groups)
  }
}
