// The hold state machine, runtime-agnostic: Node runs it in process over node:sqlite, Workers run it inside the
// Durable Object over its SQLite. Every transition is a compare-and-set in the store, so concurrent approvals,
// agent retries and restarts cannot execute a hold twice; execution re-verifies the approved bytes' digest.
import type { Config, ApproverConfig } from '../config/schema.ts'
import { sha256Hex } from '../digest.ts'
import { describeForLog, publicErrorText, secretValues } from '../credentials.ts'
import { AirlockError, isAirlockError } from '../errors.ts'
import { acceptedResponse, holdResponse, holdStatus } from './responses.ts'
import type { Clock, Logger, Metrics, Secrets, Upstream, WebhookFetch } from '../ports.ts'
import { forward } from '../pipeline/forward.ts'
import type { Evaluated, HeldRequest } from '../pipeline/request.ts'
import { contextHash, present, type Presentation } from './presentation.ts'
import type { HoldStore } from './store.ts'
import { isTerminal, type Approval, type Hold, type HoldState, type Review } from './types.ts'
import { verifyChain, type AuditRecord, type AuditVerification } from './audit.ts'
import { buildReport, type Report } from './report.ts'
import { assertMayDecide, mayDecide, mayRead, notFound, readScope, reviewGroups } from './scope.ts'
import type { EventPayload } from './webhooks.ts'
import { Notifier } from './notifier.ts'
import type { SlackApiFactory } from '../slack/api.ts'
import { parsePrefer } from './prefer.ts'
import { readUpTo } from '../pipeline/body.ts'
import { routeForHold } from '../pipeline/route.ts'

export interface HoldServiceDeps {
  config: Config
  store: HoldStore
  upstream: Upstream
  secrets: Secrets
  logger: Logger
  metrics: Metrics
  clock: Clock
  /** Sends a webhook; allowPrivate mirrors the webhook's config (the SSRF guard applies otherwise). */
  webhookFetch: WebhookFetch
  /** Builds the Slack Web API client (Node: @slack/web-api; default: the core's fetch client). */
  slackApi?: SlackApiFactory | undefined
  random?: () => number
  newId?: () => string
}

export const MAX_STORED_RESPONSE = 5 * 1024 * 1024
const EMPTY = new Uint8Array(0)

export class HoldService {
  readonly deps: HoldServiceDeps
  readonly #waiters = new Map<string, Set<() => void>>()
  readonly #random: () => number
  readonly #newId: () => string
  readonly #notifier: Notifier
  readonly #executing = new Set<Promise<void>>()

  constructor(deps: HoldServiceDeps) {
    this.deps = deps
    this.#random = deps.random ?? Math.random
    this.#newId = deps.newId ?? (() => crypto.randomUUID())
    this.#notifier = new Notifier(deps, this.#newId)
  }

  get store(): HoldStore {
    return this.deps.store
  }

  // The agent's side ---------------------------------------------------------------------------------------------

  pendingCounts(): Record<string, number> {
    return this.store.pendingCounts()
  }

  /** Stores or joins the hold and returns its id and whether this call created it. Fails closed on any problem. */
  async submit(req: HeldRequest): Promise<{ hold: Hold; created: boolean }> {
    const { config } = this.deps
    const d = req.decision
    if (d.approvers.length === 0) {
      throw new AirlockError('AIRLOCK_POLICY_MALFORMED', `rule "${d.rule}" holds the request but names no approver group; it was refused`)
    }
    const unknown = d.approvers.filter((g) => !(g in config.approver_groups))
    if (unknown.length) {
      throw new AirlockError('AIRLOCK_POLICY_MALFORMED', `rule "${d.rule}" names approver group(s) ${unknown.join(', ')} that are not configured; the request was refused`)
    }
    const now = this.deps.clock.now()
    const dedupeKey = await sha256Hex([req.agent.id, req.method, req.upstreamUrl.href, req.bodySha256].join('\n'))
    const caps = Object.fromEntries(Object.entries(config.approver_groups).map(([g, c]) => [g, c.max_pending]))
    const result = this.store.createOrJoin(
      {
        id: this.#newId(),
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
      (hold) => this.audit('hold.created', `policy:${d.rule}`, hold.id, { context_sha256: contextHash(this.present(hold)), decision: d, agent: hold.agent }),
    )
    if (result.created) {
      this.emit('hold.created', result.hold)
      this.deps.logger.info({ event: 'hold.created', hold_id: result.hold.id, rule: d.rule, groups: d.approvers }, 'hold created')
    }
    return result
  }

  async hold(req: HeldRequest, signal: AbortSignal): Promise<{ holdId: string; response: Response }> {
    const { hold } = await this.submit(req)
    const prefer = parsePrefer(req.prefer)
    const { holds } = this.deps.config
    if (!prefer.respondAsync) {
      const waitS = Math.min(prefer.wait ?? holds.wait_s, holds.max_wait_s)
      await this.waitForOutcome(hold.id, waitS * 1000, signal)
    }
    const current = this.store.get(hold.id)!
    if (prefer.respondAsync && !isTerminal(current.state)) return { holdId: hold.id, response: this.accepted(current, req.decisionId) }
    return { holdId: hold.id, response: this.responseFor(current, req.decisionId) }
  }

  /** Resolves when the hold reaches a state the agent can act on, or after timeoutMs, or when the agent leaves. */
  waitForOutcome(id: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        const h = this.store.get(id)
        if (!h || isTerminal(h.state)) done()
      }
      const done = () => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', done)
        this.#waiters.get(id)?.delete(check)
        resolve()
      }
      const timer = setTimeout(done, timeoutMs)
      signal?.addEventListener('abort', done)
      let set = this.#waiters.get(id)
      if (!set) this.#waiters.set(id, (set = new Set()))
      set.add(check)
      check()
    })
  }

  #wake(id: string): void {
    for (const check of this.#waiters.get(id) ?? []) check()
    if (this.#waiters.get(id)?.size === 0) this.#waiters.delete(id)
  }

  /** 202 for Prefer: respond-async: where to poll. */
  accepted(hold: Hold, decisionId?: string): Response {
    return acceptedResponse(hold, this.deps.config.holds.retry_after_s, decisionId)
  }

  /** What an agent gets for a hold in its current state (responses.ts). */
  responseFor(hold: Hold, decisionId?: string): Response {
    return holdResponse(hold, this.deps.config.holds.retry_after_s, decisionId)
  }

  status(hold: Hold): object {
    return holdStatus(hold)
  }

  present(hold: Hold): Presentation {
    return present(hold, this.deps.config.holds.preview_bytes)
  }

  // The approver's side ------------------------------------------------------------------------------------------

  // Every approver-side read and action takes the approver and is scoped to its groups (scope.ts); the HTTP API
  // and the console call these, never the store directly.

  /** A hold the approver may read; another group's hold is "not found" (scope.ts). */
  #find(id: string, approver: ApproverConfig): Hold {
    const hold = this.store.get(id)
    if (!hold || !mayRead(hold.groups, approver)) throw notFound('hold', id)
    return hold
  }

  /** A hold the approver may decide: readable (else 404) and in one of its groups (else 403, an auditor). */
  #findToDecide(id: string, approver: ApproverConfig): Hold {
    const hold = this.#find(id, approver)
    assertMayDecide('hold', id, hold.groups, approver)
    return hold
  }

  /**
   * Full context for an approver; records the first view of one who may decide (the start of "time to decide"). An
   * auditor's read of another group's hold starts no decision and is not recorded as a view.
   */
  view(id: string, approver: ApproverConfig): { hold: Presentation; context_sha256: string; state: HoldState; approvals: Approval[]; denial: Hold['denial']; deliveries: object[] } {
    const hold = this.#find(id, approver)
    const presentation = this.present(hold)
    const hash = contextHash(presentation)
    if (mayDecide(hold.groups, approver) && !hold.views.some((v) => v.approver === approver.id)) {
      const at = this.deps.clock.now()
      this.store.addView(id, { approver: approver.id, at })
      this.audit('hold.viewed', `approver:${approver.id}`, id, { context_sha256: hash })
    }
    const deliveries = this.store.deliveries(id).map((d) => ({ event: d.event, group: d.grp, state: d.state, attempts: d.attempts, last_status: d.last_status, last_error: d.last_error }))
    return { hold: presentation, context_sha256: hash, state: hold.state, approvals: hold.approvals, denial: hold.denial, deliveries }
  }

  /** The holds of the approver's groups (every hold for an auditor), optionally by state and one group. */
  list(approver: ApproverConfig, filter: { state?: HoldState; group?: string } = {}): object[] {
    return this.store
      .list({ ...filter, groups: readScope(approver) })
      .map((h) => ({ ...this.status(h), agent: h.agent, groups: h.groups, risk: h.decision.risk, may_decide: mayDecide(h.groups, approver) }))
  }

  #checkExpiry(hold: Hold, now: number): void {
    if (hold.state === 'pending' && now >= hold.expires_at) {
      this.#expire(hold.id, now)
      throw new AirlockError('AIRLOCK_CONFLICT', `hold ${hold.id} has expired`)
    }
  }

  #timing(hold: Hold, approverId: string, now: number) {
    const view = hold.views.find((v) => v.approver === approverId)
    const notified = this.store.notifiedAt(hold.id) ?? hold.created_at
    const msFromView = view ? now - view.at : null
    return { ms_from_notify: now - notified, ms_from_view: msFromView, fast: msFromView === null || msFromView < this.deps.config.holds.fast_decision_ms }
  }

  async approve(id: string, approver: ApproverConfig, body: { comment?: string | null; context_sha256?: string | null }): Promise<Hold> {
    const hold = this.#findToDecide(id, approver)
    const now = this.deps.clock.now()
    this.#checkExpiry(hold, now)
    if (hold.state !== 'pending') throw new AirlockError('AIRLOCK_CONFLICT', `hold ${id} is ${hold.state}; only pending holds can be approved`)
    if (approver.id === hold.agent.owner || (approver.email && approver.email.toLowerCase() === hold.agent.owner.toLowerCase())) {
      throw new AirlockError('AIRLOCK_FORBIDDEN', `approver "${approver.id}" owns the agent "${hold.agent.id}" and cannot approve its requests`)
    }
    const comment = body.comment?.trim() || null
    if (hold.decision.require_comment && !comment) {
      throw new AirlockError('AIRLOCK_BAD_REQUEST', 'this hold requires a written comment to approve: say why it is right to send it')
    }
    const hash = contextHash(this.present(hold))
    if (body.context_sha256 && body.context_sha256 !== hash) {
      throw new AirlockError('AIRLOCK_CONFLICT', 'the context you reviewed does not match this hold (context_sha256 differs); view it again before deciding')
    }
    if (hold.approvals.some((a) => a.approver === approver.id)) {
      throw new AirlockError('AIRLOCK_CONFLICT', `approver "${approver.id}" has already approved hold ${id}; it needs ${hold.decision.approvals_required} distinct approvers`)
    }
    const approval: Approval = { approver: approver.id, at: now, comment, context_sha256: hash, ...this.#timing(hold, approver.id, now) }
    const complete = hold.approvals.length + 1 >= hold.decision.approvals_required
    if (!this.store.addApproval(id, approval, complete)) {
      throw new AirlockError('AIRLOCK_CONFLICT', `hold ${id} changed while approving; view it again`)
    }
    this.audit(complete ? 'hold.approved' : 'hold.approval_recorded', `approver:${approver.id}`, id, approval)
    const updated = this.store.get(id)!
    if (complete) {
      this.emit('hold.decided', updated)
      this.#wake(id)
      void this.execute(id)
    }
    return updated
  }

  async deny(id: string, approver: ApproverConfig, body: { comment?: string | null; context_sha256?: string | null }): Promise<Hold> {
    const hold = this.#findToDecide(id, approver)
    const now = this.deps.clock.now()
    this.#checkExpiry(hold, now)
    const comment = body.comment?.trim() || null
    const { ms_from_view, fast } = this.#timing(hold, approver.id, now)
    const denial = { approver: approver.id, at: now, comment, ms_from_view, fast }
    if (!this.store.transition(id, ['pending'], 'denied', now, { decided_at: now, denial })) {
      throw new AirlockError('AIRLOCK_CONFLICT', `hold ${id} is ${this.store.get(id)?.state}; only pending holds can be denied`)
    }
    this.audit('hold.denied', `approver:${approver.id}`, id, { ...denial, context_sha256: contextHash(this.present(hold)) })
    const updated = this.store.get(id)!
    this.emit('hold.decided', updated)
    this.#wake(id)
    return updated
  }

  /** A person settles an outcome_unknown hold after checking the upstream. */
  resolve(id: string, approver: ApproverConfig, outcome: 'executed' | 'failed', comment: string | null): Hold {
    const hold = this.#findToDecide(id, approver)
    const now = this.deps.clock.now()
    if (!this.store.transition(id, ['outcome_unknown'], outcome, now, { error: outcome === 'failed' ? `resolved by ${approver.id}` : undefined })) {
      throw new AirlockError('AIRLOCK_CONFLICT', `hold ${id} is ${hold.state}; only outcome_unknown holds can be resolved`)
    }
    this.audit('hold.resolved', `approver:${approver.id}`, id, { outcome, comment })
    this.#wake(id)
    return this.store.get(id)!
  }

  // Execution ----------------------------------------------------------------------------------------------------

  /** Sends an approved hold upstream exactly once: only the caller that moves it approved → executing sends it. */
  execute(id: string): Promise<void> {
    const run = this.#execute(id).finally(() => this.#executing.delete(run))
    this.#executing.add(run)
    return run
  }

  /** Resolves when every execution under way has finished (graceful shutdown waits for it). */
  async drain(): Promise<void> {
    while (this.#executing.size) await Promise.allSettled([...this.#executing])
  }

  async #execute(id: string): Promise<void> {
    const { config, clock } = this.deps
    if (!this.store.transition(id, ['approved'], 'executing', clock.now())) return
    const hold = this.store.get(id)!
    this.audit('hold.executing', 'system', id, {})
    // `error` goes to the agent, approvers, webhooks and the store: never a thrown message Airlock did not write
    // (publicErrorText); the log gets the original, scrubbed of known secret values.
    const fail = (state: 'failed' | 'outcome_unknown', error: string, thrown?: unknown) => {
      this.store.transition(id, ['executing'], state, clock.now(), { error })
      this.audit(state === 'failed' ? 'hold.failed' : 'hold.outcome_unknown', 'system', id, { error })
      const cause = thrown !== undefined && !isAirlockError(thrown) ? { cause: describeForLog(thrown, secretValues(config, this.deps.secrets)) } : {}
      this.deps.logger.error({ event: `hold.${state}`, hold_id: id, error, ...cause }, 'hold execution did not complete')
    }
    try {
      const digest = await sha256Hex(hold.body ?? EMPTY)
      const route = routeForHold(config, hold.route, hold.url)
      if (digest !== hold.body_sha256) fail('failed', 'stored body does not match the approved sha256; not sent')
      else if (!route) fail('failed', `route "${hold.route}" is no longer configured; not sent`)
      else {
        const headers = new Headers(hold.headers)
        if (route.idempotency_key) headers.set('idempotency-key', `airlock-hold-${hold.id}`)
        let res: Response
        try {
          res = await forward(this.deps, { route, method: hold.method, upstreamUrl: new URL(hold.url), headers, body: hold.body })
        } catch (err) {
          // A refused connection never reached the upstream; a timeout may have: only a person can tell.
          const code = (err as AirlockError).code
          fail(code === 'AIRLOCK_UPSTREAM_TIMEOUT' ? 'outcome_unknown' : 'failed', publicErrorText(err), err)
          return
        }
        const body = res.body ? await readUpTo(res.body, MAX_STORED_RESPONSE) : { bytes: EMPTY, truncated: false }
        const responseHeaders = [...res.headers].filter(([n]) => !['connection', 'keep-alive', 'transfer-encoding'].includes(n))
        this.store.saveResponse(id, { status: res.status, headers: responseHeaders, body: body.bytes, truncated: body.truncated }, clock.now())
        this.audit('hold.executed', 'system', id, { status: res.status, body_sha256: await sha256Hex(body.bytes), truncated: body.truncated })
      }
    } catch (err) {
      fail('outcome_unknown', publicErrorText(err), err)
    } finally {
      const final = this.store.get(id)!
      if (final.state !== 'executing') this.emit('hold.executed', final)
      this.#wake(id)
    }
  }

  // Time ---------------------------------------------------------------------------------------------------------

  #expire(id: string, now: number): void {
    if (this.store.transition(id, ['pending'], 'expired', now, { decided_at: now })) {
      this.audit('hold.expired', 'system', id, {})
      this.emit('hold.expired', this.store.get(id)!)
      this.#wake(id)
    }
  }

  /** Expires due holds, executes approved ones nobody claimed (after a restart), sends due webhooks. */
  async tick(): Promise<void> {
    const now = this.deps.clock.now()
    for (const id of this.store.idsIn('pending', now)) this.#expire(id, now)
    await Promise.all(this.store.idsIn('approved').map((id) => this.execute(id)))
    await this.deliver()
  }

  /** After a crash: a hold that was executing may or may not have reached the upstream. Never re-send it. */
  recover(): void {
    for (const id of this.store.idsIn('executing')) {
      if (this.store.transition(id, ['executing'], 'outcome_unknown', this.deps.clock.now(), { error: 'the gateway stopped while sending this request' })) {
        this.audit('hold.outcome_unknown', 'system', id, { error: 'the gateway stopped while sending this request' })
        this.emit('hold.executed', this.store.get(id)!)
      }
    }
  }

  // Review after the fact ----------------------------------------------------------------------------------------

  review(req: Evaluated, upstreamStatus: number): boolean {
    const d = req.decision
    this.store.countForwarded(d.rule)
    if (this.#random() >= d.sample_rate) return false
    const id = this.#newId()
    const context = {
      reason: d.reason,
      risk: d.risk,
      intent: req.input.intent,
      approvers: d.approvers,
      request: { method: req.method, url: req.upstreamUrl.href, headers: req.input.request.headers, body: req.input.request.body, body_size: req.input.request.body_size },
    }
    this.store.addReview({ id, decision_id: req.decisionId, created_at: this.deps.clock.now(), agent_id: req.agent.id, route: req.route.name, rule: d.rule, summary: d.summary, context, upstream_status: upstreamStatus })
    this.audit('review.sampled', `policy:${d.rule}`, null, { review_id: id, decision_id: req.decisionId })
    return true
  }

  /** The review items of the approver's groups (all of them for an auditor), oldest first. */
  reviewItems(approver: ApproverConfig, state?: Review['state']): Review[] {
    return this.store.reviews(state, readScope(approver))
  }

  reviewItem(id: string, approver: ApproverConfig): Review {
    const review = this.store.getReview(id)
    if (!review || !mayRead(reviewGroups(review, this.#allGroups()), approver)) throw notFound('review item', id)
    return review
  }

  #allGroups(): string[] {
    return Object.keys(this.deps.config.approver_groups)
  }

  markReview(id: string, reviewer: ApproverConfig, verdict: 'ok' | 'flag', comment: string | null): Review {
    const review = this.reviewItem(id, reviewer)
    assertMayDecide('review item', id, reviewGroups(review, this.#allGroups()), reviewer)
    if (verdict === 'flag' && !comment) throw new AirlockError('AIRLOCK_BAD_REQUEST', 'flagging needs a comment saying what is wrong')
    const state = verdict === 'ok' ? 'ok' : 'flagged'
    if (!this.store.markReview(id, state, reviewer.id, comment, this.deps.clock.now())) {
      throw new AirlockError('AIRLOCK_CONFLICT', `review item ${id} was already marked`)
    }
    this.audit(`review.${state}`, `approver:${reviewer.id}`, null, { review_id: id, comment })
    if (state === 'flagged') {
      const groups = [...reviewGroups(review, this.#allGroups())]
      this.#enqueue('review.flagged', null, groups, { type: 'review.flagged', review: { ...review, state, reviewer: reviewer.id, comment } })
    }
    return this.store.getReview(id)!
  }

  // Accountability -----------------------------------------------------------------------------------------------

  /** The audit records about the approver's groups' holds and review items (all records for an auditor). */
  auditRecords(approver: ApproverConfig): AuditRecord[] {
    return this.store.auditRecords(readScope(approver))
  }

  /**
   * Verifies the whole hash chain. Open to every approver: it needs every record, but what it returns (a count, the
   * head hash, the sequence numbers of broken links) carries no record's content.
   */
  verifyAudit(): AuditVerification {
    return verifyChain(this.store.auditRecords())
  }

  /** How approvals are made (report.ts), over the approver's groups (everything for an auditor). */
  report(approver: ApproverConfig): Report {
    return buildReport(this.store, this.deps.config.holds.relax_threshold, readScope(approver))
  }

  // Events and audit ---------------------------------------------------------------------------------------------

  audit(type: string, actor: string, holdId: string | null, record: unknown): void {
    this.store.appendAudit(type, actor, holdId, record, this.deps.clock.now())
  }

  emit(type: string, hold: Hold): void {
    const base = this.deps.config.server.public_url?.replace(/\/$/, '') ?? ''
    const api = `${base}/_airlock/api/holds/${hold.id}`
    this.#enqueue(type, hold.id, hold.groups, {
      type,
      hold: {
        ...this.present(hold),
        state: hold.state,
        approvals: hold.approvals,
        denial: hold.denial,
        response_status: hold.response?.status ?? null,
        error: hold.error,
      },
      // `console` is the page a person opens; `view` is the JSON API (for tools).
      links: { view: api, approve: `${api}/approve`, deny: `${api}/deny`, ...(this.deps.config.console.enabled ? { console: `${base}/_airlock/console/holds/${hold.id}` } : {}) },
    })
  }

  #enqueue(type: string, holdId: string | null, groups: string[], event: Omit<EventPayload, 'id' | 'created'>): void {
    if (this.#notifier.enqueue(type, holdId, groups, event)) void this.deliver()
  }

  /** Sends due webhook deliveries (notifier.ts); the Workers adapter overrides it to keep the object alive. */
  deliver(): Promise<void> {
    return this.#notifier.deliver()
  }
}
