// The hold service: what the gateway, the approver API, the console, Slack and the CLI call. It composes the parts
// of the holds subsystem, each in its own module: the shared context (context.ts: store, audit trail, events,
// waiting agents), execution and the hold clock (execution.ts), the approver's reads and decisions (approver-desk.ts),
// review sampling (reviews.ts), grants (grant-desk.ts) and the answers agents get (answers.ts). What stays here is
// the agent's submission; the approver's side is scoped to the approver's groups (scope.ts) in approver-desk.ts.
// Runtime-agnostic: Node runs it in process over node:sqlite, the Workers Durable Object composes it over its SQLite.
import type { ApproverConfig } from '../config/schema.ts'
import { publicErrorText } from '../credentials.ts'
import { sha256Hex } from '../digest.ts'
import { AirlockError } from '../errors.ts'
import type { Evaluated, HeldRequest } from '../pipeline/request.ts'
import { agentWait, answerAgent } from './answers.ts'
import { ApproverDesk } from './approver-desk.ts'
import { type AuditRecord, type AuditVerification, verifyChain } from './audit.ts'
import { HoldContext, type HoldServiceDeps } from './context.ts'
import { HoldExecution } from './execution.ts'
import { GrantDesk } from './grant-desk.ts'
import type { Grant, GrantRequest } from './grants.ts'
import { contextHash, type Presentation } from './presentation.ts'
import { buildReport, type Report } from './report.ts'
import { acceptedResponse, holdResponse, holdStatus } from './responses.ts'
import { ReviewQueue } from './reviews.ts'
import { readScope } from './scope.ts'
import type { HoldStorePort } from './store-port.ts'
import type { Hold, HoldState, Review } from './types.ts'

export type { HoldServiceDeps } from './context.ts'
export { MAX_STORED_RESPONSE } from './execution.ts'

export class HoldService {
  readonly #ctx: HoldContext
  readonly #execution: HoldExecution
  readonly #reviews: ReviewQueue
  readonly #approvers: ApproverDesk
  /** Time-boxed approval grants (grant-desk.ts): made when approving, used by the pipeline, revoked by approvers. */
  readonly grants: GrantDesk

  constructor(deps: HoldServiceDeps) {
    this.#ctx = new HoldContext(deps)
    this.#execution = new HoldExecution(this.#ctx)
    this.#reviews = new ReviewQueue(this.#ctx)
    this.grants = new GrantDesk(this.#ctx)
    this.#approvers = new ApproverDesk(this.#ctx, this.#execution, this.grants)
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
    return this.#approvers.get(id, approver)
  }

  /** Full context for an approver; records the first view of one who may decide (approver-desk.ts). */
  view(id: string, approver: ApproverConfig): ReturnType<ApproverDesk['view']> {
    return this.#approvers.view(id, approver)
  }

  /** The holds of the approver's groups (every hold for an auditor), optionally by state and one group. */
  list(approver: ApproverConfig, filter: { state?: HoldState; group?: string } = {}): Promise<object[]> {
    return this.#approvers.list(approver, filter)
  }

  /** Approves; with `grant`, also allows the same rule for this agent and route for a while (grant-desk.ts). */
  approve(
    id: string,
    approver: ApproverConfig,
    body: { comment?: string | null; context_sha256?: string | null; grant?: GrantRequest | undefined },
  ): Promise<Hold & { grant?: Grant }> {
    return this.#approvers.approve(id, approver, body)
  }

  deny(
    id: string,
    approver: ApproverConfig,
    body: { comment?: string | null; context_sha256?: string | null },
  ): Promise<Hold> {
    return this.#approvers.deny(id, approver, body)
  }

  /** A person settles an outcome_unknown hold after checking the upstream. */
  resolve(id: string, approver: ApproverConfig, outcome: 'executed' | 'failed', comment: string | null): Promise<Hold> {
    return this.#approvers.resolve(id, approver, outcome, comment)
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
