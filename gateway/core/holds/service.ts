// The hold service: what the gateway, the approver API, the console, Slack and the CLI call. It composes the parts
// of the holds subsystem, each in its own module: the shared context (context.ts: store, audit trail, events,
// waiting agents), execution and the hold clock (execution.ts), review sampling (reviews.ts) and the answers agents
// get (answers.ts). What stays here is the agent's submission and the approver's side: every approver read and
// action is scoped to the approver's groups (scope.ts), and every transition is a compare-and-set in the store.
// Runtime-agnostic: Node runs it in process over node:sqlite, the Workers Durable Object composes it over its SQLite.
import type { ApproverConfig } from '../config/schema.ts'
import { publicErrorText } from '../credentials.ts'
import { sha256Hex } from '../digest.ts'
import { AirlockError } from '../errors.ts'
import type { Evaluated, HeldRequest } from '../pipeline/request.ts'
import { agentWait, answerAgent } from './answers.ts'
import { type AuditRecord, type AuditVerification, verifyChain } from './audit.ts'
import { HoldContext, type HoldServiceDeps } from './context.ts'
import { HoldExecution } from './execution.ts'
import { GrantDesk } from './grant-desk.ts'
import type { Grant, GrantRequest } from './grants.ts'
import { contextHash, type Presentation } from './presentation.ts'
import { buildReport, type Report } from './report.ts'
import { acceptedResponse, holdResponse, holdStatus } from './responses.ts'
import { ReviewQueue } from './reviews.ts'
import { assertMayDecide, mayDecide, mayRead, notFound, readScope } from './scope.ts'
import type { HoldStorePort } from './store-port.ts'
import type { Approval, Hold, HoldState, Review } from './types.ts'

export type { HoldServiceDeps } from './context.ts'
export { MAX_STORED_RESPONSE } from './execution.ts'

export class HoldService {
  readonly #ctx: HoldContext
  readonly #execution: HoldExecution
  readonly #reviews: ReviewQueue
  /** Time-boxed approval grants (grant-desk.ts): made when approving, used by the pipeline, revoked by approvers. */
  readonly grants: GrantDesk

  constructor(deps: HoldServiceDeps) {
    this.#ctx = new HoldContext(deps)
    this.#execution = new HoldExecution(this.#ctx)
    this.#reviews = new ReviewQueue(this.#ctx)
    this.grants = new GrantDesk(this.#ctx)
  }

  get deps(): HoldServiceDeps {
    return this.#ctx.deps
  }

  get store(): HoldStorePort {
    return this.#ctx.store
  }

  // The agent's side ---------------------------------------------------------------------------------------------

  /**
   * Pending holds per group (policy input). A shared store that cannot be read gives none, so allowed traffic
   * keeps flowing while the database is away; a hold is refused then (submit fails closed with 503).
   */
  async pendingCounts(): Promise<Record<string, number>> {
    try {
      return await this.store.pendingCounts()
    } catch (err) {
      if (!this.#ctx.deps.shared) throw err
      this.#ctx.deps.logger.warn(
        { event: 'store_unavailable', error: publicErrorText(err) },
        'pending counts unavailable',
      )
      return {}
    }
  }

  /** Stores or joins the hold and returns its id and whether this call created it. Fails closed on any problem. */
  async submit(req: HeldRequest): Promise<{ hold: Hold; created: boolean }> {
    const ctx = this.#ctx
    const { config } = ctx
    const d = req.decision
    if (d.approvers.length === 0) {
      throw new AirlockError(
        'AIRLOCK_POLICY_MALFORMED',
        `rule "${d.rule}" holds the request but names no approver group; it was refused`,
      )
    }
    const unknown = d.approvers.filter((g) => !(g in config.approver_groups))
    if (unknown.length) {
      throw new AirlockError(
        'AIRLOCK_POLICY_MALFORMED',
        `rule "${d.rule}" names approver group(s) ${unknown.join(', ')} that are not configured; the request was refused`,
      )
    }
    const now = ctx.now()
    const dedupeKey = await sha256Hex(
      [req.agent.id, req.method, req.upstreamUrl.href, req.dedupeSha256 ?? req.bodySha256].join('\n'),
    )
    const caps = Object.fromEntries(Object.entries(config.approver_groups).map(([g, c]) => [g, c.max_pending]))
    const result = await this.store.createOrJoin(
      {
        id: ctx.newId(),
        created_at: now,
        expires_at: now + d.timeout_s * 1000,
        dedupe_key: dedupeKey,
        agent: { id: req.agent.id, owner: req.agent.owner },
        route: req.route.name,
        method: req.method,
        url: req.upstreamUrl.href,
        headers: [...req.headers],
        body: req.body,
        body_sha256: req.bodySha256,
        intent: req.input.intent,
        decision: d,
        decision_id: req.decisionId,
        policy_revision: req.revision,
        groups: d.approvers,
      },
      caps,
      now - config.holds.dedupe_window_s * 1000,
      (hold) =>
        ctx.pendingAudit('hold.created', `policy:${d.rule}`, {
          context_sha256: contextHash(ctx.present(hold)),
          decision: d,
          agent: hold.agent,
        }),
    )
    if (result.created) {
      await ctx.emit('hold.created', result.hold)
      ctx.deps.logger.info(
        { event: 'hold.created', hold_id: result.hold.id, rule: d.rule, groups: d.approvers },
        'hold created',
      )
    }
    return result
  }

  /** The hold gate's work on Node: submit, wait as the agent asked (Prefer), answer from the state reached. */
  async hold(req: HeldRequest, signal: AbortSignal): Promise<{ holdId: string; response: Response }> {
    const { hold } = await this.submit(req)
    const wait = agentWait(req.prefer, this.#ctx.config.holds)
    if (wait.waitMs > 0) await this.waitForOutcome(hold.id, wait.waitMs, signal)
    return {
      holdId: hold.id,
      response: this.answer((await this.store.get(hold.id))!, wait.respondAsync, req.decisionId),
    }
  }

  /** Resolves when the hold reaches a state the agent can act on, or after timeoutMs, or when the agent leaves. */
  waitForOutcome(id: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return this.#ctx.waitForOutcome(id, timeoutMs, signal)
  }

  /** What an agent is answered for this hold now (answers.ts): the one answer every runtime and route gives. */
  answer(hold: Hold, respondAsync: boolean, decisionId?: string): Response {
    return answerAgent(hold, { respondAsync, retryAfterS: this.#ctx.config.holds.retry_after_s, decisionId })
  }

  /** 202 for Prefer: respond-async: where to poll. */
  accepted(hold: Hold, decisionId?: string): Response {
    return acceptedResponse(hold, this.#ctx.config.holds.retry_after_s, decisionId)
  }

  /** What an agent gets for a hold in its current state (responses.ts). */
  responseFor(hold: Hold, decisionId?: string): Response {
    return holdResponse(hold, this.#ctx.config.holds.retry_after_s, decisionId)
  }

  status(hold: Hold): object {
    return holdStatus(hold)
  }

  present(hold: Hold): Presentation {
    return this.#ctx.present(hold)
  }

  // The approver's side ------------------------------------------------------------------------------------------

  // Every approver-side read and action takes the approver and is scoped to its groups (scope.ts); the HTTP API
  // and the console call these, never the store directly.

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
    const presentation = this.present(hold)
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
      ...this.status(h),
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
    const hash = contextHash(this.present(hold))
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
    const bounds = body.grant ? this.grants.check(hold, approver, body.grant) : undefined
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
    if (body.grant && bounds) updated.grant = await this.grants.create(hold, approver, body.grant, bounds)
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
      context_sha256: contextHash(this.present(hold)),
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

  // Execution and the hold clock (execution.ts) ---------------------------------------------------------------

  /** Sends an approved hold upstream exactly once. */
  execute(id: string): Promise<void> {
    return this.#execution.execute(id)
  }

  /** Resolves when every execution under way has finished (graceful shutdown waits for it). */
  drain(): Promise<void> {
    return this.#execution.drain()
  }

  /** Expires due holds, executes approved ones nobody claimed (after a restart), sends due webhooks. */
  tick(): Promise<void> {
    return this.#execution.tick()
  }

  /** After a crash: holds found executing become outcome_unknown for a person, never re-sent. */
  recover(): Promise<void> {
    return this.#execution.recover()
  }

  /** When the hold clock next has work (the Durable Object's alarm), or null. */
  nextDueAt(): Promise<number | null> {
    return this.#execution.nextDueAt()
  }

  // Review after the fact (reviews.ts) ---------------------------------------------------------------------------

  review(req: Evaluated, upstreamStatus: number): Promise<boolean> {
    return this.#reviews.sample(req, upstreamStatus)
  }

  /** The review items of the approver's groups (all of them for an auditor), oldest first. */
  reviewItems(approver: ApproverConfig, state?: Review['state']): Promise<Review[]> {
    return this.#reviews.items(approver, state)
  }

  reviewItem(id: string, approver: ApproverConfig): Promise<Review> {
    return this.#reviews.item(id, approver)
  }

  markReview(id: string, reviewer: ApproverConfig, verdict: 'ok' | 'flag', comment: string | null): Promise<Review> {
    return this.#reviews.mark(id, reviewer, verdict, comment)
  }

  // Accountability -----------------------------------------------------------------------------------------------

  /** The audit records about the approver's groups' holds and review items (all records for an auditor). */
  async auditRecords(approver: ApproverConfig): Promise<AuditRecord[]> {
    return this.#ctx.store.auditRecords(readScope(approver))
  }

  /**
   * Verifies the whole hash chain. Open to every approver: it needs every record, but what it returns (a count, the
   * head hash, the sequence numbers of broken links) carries no record's content.
   */
  async verifyAudit(): Promise<AuditVerification> {
    return verifyChain(await this.#ctx.store.auditRecords())
  }

  /** How approvals are made (report.ts), over the approver's groups (everything for an auditor). */
  report(approver: ApproverConfig): Promise<Report> {
    return buildReport(this.#ctx.store, this.#ctx.config.holds.relax_threshold, readScope(approver))
  }

  // Events and audit (context.ts) --------------------------------------------------------------------------------

  audit(type: string, actor: string, holdId: string | null, record: unknown): Promise<void> {
    return this.#ctx.audit(type, actor, holdId, record)
  }

  emit(type: string, hold: Hold): Promise<void> {
    return this.#ctx.emit(type, hold)
  }

  /** Another gateway changed this hold (a shared store's notification): agents waiting here look again. */
  wake(id: string): void {
    this.#ctx.wake(id)
  }

  /** Sends due webhook deliveries (notifier.ts). */
  deliver(): Promise<void> {
    return this.#ctx.deliver()
  }
}
