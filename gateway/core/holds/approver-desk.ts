// The approver's side of the hold service: reading holds and deciding them. Every read and action takes the approver
// and is scoped to its groups (scope.ts): another group's hold is "not found", an auditor may read but not decide.
// Every decision is a compare-and-set in the store, so two approvers (or two gateways) cannot both win a move.
import type { ApproverConfig } from '../config/schema.ts'
import { AirlockError } from '../errors.ts'
import type { HoldContext } from './context.ts'
import type { HoldExecution } from './execution.ts'
import type { GrantDesk } from './grant-desk.ts'
import type { Grant, GrantRequest } from './grants.ts'
import { contextHash, type Presentation } from './presentation.ts'
import { holdStatus } from './responses.ts'
import { assertMayDecide, mayDecide, mayRead, notFound, readScope } from './scope.ts'
import type { Approval, Hold, HoldState } from './types.ts'

export class ApproverDesk {
  readonly #ctx: HoldContext
  readonly #execution: HoldExecution
  readonly #grants: GrantDesk

  constructor(ctx: HoldContext, execution: HoldExecution, grants: GrantDesk) {
    this.#ctx = ctx
    this.#execution = execution
    this.#grants = grants
  }

  /** The stored hold, for an approver who may read it; another group's hold is "not found" (scope.ts). */
  get(id: string, approver: ApproverConfig): Promise<Hold> {
    return this.#find(id, approver)
  }

  /** A hold the approver may read; another group's hold is "not found" (scope.ts). */
  async #find(id: string, approver: ApproverConfig): Promise<Hold> {
    const hold = await this.#ctx.store.get(id)
    if (!hold || !mayRead(hold.groups, approver)) throw notFound('hold', id)
    return hold
  }

  /** A hold the approver may decide: readable (else 404) and in one of its groups (else 403, an auditor). */
  async #findToDecide(id: string, approver: ApproverConfig): Promise<Hold> {
    const hold = await this.#find(id, approver)
    assertMayDecide('hold', id, hold.groups, approver)
    return hold
  }

  /**
   * Full context for an approver; records the first view of one who may decide (the start of "time to decide"). An
   * auditor's read of another group's hold starts no decision and is not recorded as a view.
   */
  async view(
    id: string,
    approver: ApproverConfig,
  ): Promise<{
    hold: Presentation
    context_sha256: string
    state: HoldState
    approvals: Approval[]
    denial: Hold['denial']
    deliveries: object[]
  }> {
    const hold = await this.#find(id, approver)
    const presentation = this.#ctx.present(hold)
    const hash = contextHash(presentation)
    if (mayDecide(hold.groups, approver) && !hold.views.some((v) => v.approver === approver.id)) {
      const at = this.#ctx.now()
      await this.#ctx.store.addView(id, { approver: approver.id, at })
      await this.#ctx.audit('hold.viewed', `approver:${approver.id}`, id, { context_sha256: hash })
    }
    const deliveries = (await this.#ctx.store.deliveries(id)).map((d) => ({
      event: d.event,
      group: d.grp,
      state: d.state,
      attempts: d.attempts,
      last_status: d.last_status,
      last_error: d.last_error,
    }))
    return {
      hold: presentation,
      context_sha256: hash,
      state: hold.state,
      approvals: hold.approvals,
      denial: hold.denial,
      deliveries,
    }
  }

  /** The holds of the approver's groups (every hold for an auditor), optionally by state and one group. */
  async list(approver: ApproverConfig, filter: { state?: HoldState; group?: string } = {}): Promise<object[]> {
    return (await this.#ctx.store.list({ ...filter, groups: readScope(approver) })).map((h) => ({
      ...holdStatus(h),
      agent: h.agent,
      groups: h.groups,
      risk: h.decision.risk,
      may_decide: mayDecide(h.groups, approver),
    }))
  }

  async #checkExpiry(hold: Hold, now: number): Promise<void> {
    if (hold.state === 'pending' && now >= hold.expires_at) {
      await this.#execution.expire(hold.id, now)
      throw new AirlockError('AIRLOCK_CONFLICT', `hold ${hold.id} has expired`)
    }
  }

  async #timing(hold: Hold, approverId: string, now: number) {
    const view = hold.views.find((v) => v.approver === approverId)
    const notified = (await this.#ctx.store.notifiedAt(hold.id)) ?? hold.created_at
    const msFromView = view ? now - view.at : null
    return {
      ms_from_notify: now - notified,
      ms_from_view: msFromView,
      fast: msFromView === null || msFromView < this.#ctx.config.holds.fast_decision_ms,
    }
  }

  /** Approves; with `grant`, also allows the same rule for this agent and route for a while (grant-desk.ts). */
  async approve(
    id: string,
    approver: ApproverConfig,
    body: { comment?: string | null; context_sha256?: string | null; grant?: GrantRequest | undefined },
  ): Promise<Hold & { grant?: Grant }> {
    const hold = await this.#findToDecide(id, approver)
    const now = this.#ctx.now()
    await this.#checkExpiry(hold, now)
    if (hold.state !== 'pending')
      throw new AirlockError('AIRLOCK_CONFLICT', `hold ${id} is ${hold.state}; only pending holds can be approved`)
    if (
      approver.id === hold.agent.owner ||
      (approver.email && approver.email.toLowerCase() === hold.agent.owner.toLowerCase())
    ) {
      throw new AirlockError(
        'AIRLOCK_FORBIDDEN',
        `approver "${approver.id}" owns the agent "${hold.agent.id}" and cannot approve its requests`,
      )
    }
    const comment = body.comment?.trim() || null
    if (hold.decision.require_comment && !comment) {
      throw new AirlockError(
        'AIRLOCK_BAD_REQUEST',
        'this hold requires a written comment to approve: say why it is right to send it',
      )
    }
    const hash = contextHash(this.#ctx.present(hold))
    if (body.context_sha256 && body.context_sha256 !== hash) {
      throw new AirlockError(
        'AIRLOCK_CONFLICT',
        'the context you reviewed does not match this hold (context_sha256 differs); view it again before deciding',
      )
    }
    if (hold.approvals.some((a) => a.approver === approver.id)) {
      throw new AirlockError(
        'AIRLOCK_CONFLICT',
        `approver "${approver.id}" has already approved hold ${id}; it needs ${hold.decision.approvals_required} distinct approvers`,
      )
    }
    // Checked before the approval is stored, so a refused grant approves nothing.
    const bounds = body.grant ? this.#grants.check(hold, approver, body.grant) : undefined
    const approval: Approval = {
      approver: approver.id,
      at: now,
      comment,
      context_sha256: hash,
      ...(await this.#timing(hold, approver.id, now)),
    }
    const complete = hold.approvals.length + 1 >= hold.decision.approvals_required
    if (!(await this.#ctx.store.addApproval(id, approval, complete))) {
      throw new AirlockError('AIRLOCK_CONFLICT', `hold ${id} changed while approving; view it again`)
    }
    await this.#ctx.audit(
      complete ? 'hold.approved' : 'hold.approval_recorded',
      `approver:${approver.id}`,
      id,
      approval,
    )
    const updated: Hold & { grant?: Grant } = (await this.#ctx.store.get(id))!
    if (body.grant && bounds) updated.grant = await this.#grants.create(hold, approver, body.grant, bounds)
    if (complete) {
      await this.#ctx.emit('hold.decided', updated)
      this.#ctx.wake(id)
      void this.#execution.execute(id)
    }
    return updated
  }

  async deny(
    id: string,
    approver: ApproverConfig,
    body: { comment?: string | null; context_sha256?: string | null },
  ): Promise<Hold> {
    const hold = await this.#findToDecide(id, approver)
    const now = this.#ctx.now()
    await this.#checkExpiry(hold, now)
    const comment = body.comment?.trim() || null
    const { ms_from_view, fast } = await this.#timing(hold, approver.id, now)
    const denial = { approver: approver.id, at: now, comment, ms_from_view, fast }
    if (!(await this.#ctx.store.transition(id, ['pending'], 'denied', now, { decided_at: now, denial }))) {
      throw new AirlockError(
        'AIRLOCK_CONFLICT',
        `hold ${id} is ${(await this.#ctx.store.get(id))?.state}; only pending holds can be denied`,
      )
    }
    this.#ctx.wake(id)
    await this.#ctx.audit('hold.denied', `approver:${approver.id}`, id, {
      ...denial,
      context_sha256: contextHash(this.#ctx.present(hold)),
    })
    const updated = (await this.#ctx.store.get(id))!
    await this.#ctx.emit('hold.decided', updated)
    return updated
  }

  /** A person settles an outcome_unknown hold after checking the upstream. */
  async resolve(
    id: string,
    approver: ApproverConfig,
    outcome: 'executed' | 'failed',
    comment: string | null,
  ): Promise<Hold> {
    const hold = await this.#findToDecide(id, approver)
    const now = this.#ctx.now()
    if (
      !(await this.#ctx.store.transition(id, ['outcome_unknown'], outcome, now, {
        error: outcome === 'failed' ? `resolved by ${approver.id}` : undefined,
      }))
    ) {
      throw new AirlockError(
        'AIRLOCK_CONFLICT',
        `hold ${id} is ${hold.state}; only outcome_unknown holds can be resolved`,
      )
    }
    this.#ctx.wake(id)
    await this.#ctx.audit('hold.resolved', `approver:${approver.id}`, id, { outcome, comment })
    return (await this.#ctx.store.get(id))!
  }
}
