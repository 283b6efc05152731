// The grants side of the hold service (grants.ts says what a grant is): made by the approval that completes a hold,
// read by the pipeline for the policy input, used once per allowed request (atomically, in the store), listed and
// revoked by approvers of the hold's groups. Every change is audited in the chain by the store, in its transaction.
import type { ApproverConfig } from '../config/schema.ts'
import { AirlockError } from '../errors.ts'
import { decodeBody } from '../pipeline/body.ts'
import { redactQuery } from '../redact.ts'
import type { HoldContext } from './context.ts'
import { type Grant, type GrantInput, type GrantRequest, grantBounds, grantInput } from './grants.ts'
import { assertMayDecide, mayDecide, mayRead, notFound, readScope } from './scope.ts'
import type { Hold } from './types.ts'

export class GrantDesk {
  readonly #ctx: HoldContext
  constructor(ctx: HoldContext) {
    this.#ctx = ctx
  }

  /**
   * Checks a grant request against the hold before the approval is stored (so a refused grant approves nothing):
   * the policy marked the hold grantable, it needs one approval (a grant must not stand in for a second approver),
   * and the minutes are within the approver's groups' max_grant_minutes.
   */
  check(hold: Hold, approver: ApproverConfig, req: GrantRequest): Grant['bounds'] {
    if (hold.decision.approvals_required > 1) {
      throw new AirlockError(
        'AIRLOCK_FORBIDDEN',
        `grant: hold ${hold.id} needs ${hold.decision.approvals_required} approvers; a grant would let later requests skip the second one, so it cannot be added`,
      )
    }
    const groups = hold.groups.filter((g) => approver.groups.includes(g))
    const limits = groups.map((g) => ({ g, max: this.#ctx.config.approver_groups[g]?.max_grant_minutes ?? 0 }))
    const best = limits.reduce((a, b) => (b.max > a.max ? b : a), { g: groups[0] ?? hold.groups[0] ?? '', max: 0 })
    const ct = hold.headers.find(([k]) => k.toLowerCase() === 'content-type')?.[1] ?? null
    return grantBounds(req, {
      grantable: hold.decision.grantable === true,
      risk: hold.decision.risk,
      maxMinutes: best.max,
      group: best.g,
      body: decodeBody(hold.body, ct).value,
      query: redactQuery(new URL(hold.url).searchParams),
    })
  }

  /** Stores the grant for an approved hold (after check()). */
  async create(hold: Hold, approver: ApproverConfig, req: GrantRequest, bounds: Grant['bounds']): Promise<Grant> {
    const now = this.#ctx.now()
    const g = await this.#ctx.store.createGrant(
      {
        id: `grant_${this.#ctx.newId()}`,
        hold_id: hold.id,
        rule: hold.decision.rule,
        agent_id: hold.agent.id,
        route: hold.route,
        groups: hold.groups,
        created_by: approver.id,
        created_at: now,
        expires_at: now + req.minutes * 60_000,
        max_uses: req.max_uses,
        bounds,
      },
      {
        type: 'grant.created',
        actor: `approver:${approver.id}`,
        record: {
          minutes: req.minutes,
          max_uses: req.max_uses,
          bounds,
          rule: hold.decision.rule,
          agent: hold.agent.id,
        },
      },
    )
    this.#ctx.deps.logger.info(
      {
        event: 'grant.created',
        grant_id: g.id,
        hold_id: hold.id,
        rule: g.rule,
        agent: g.agent_id,
        approver: approver.id,
      },
      'grant created',
    )
    return g
  }

  /** The agent's live grants as the policy sees them (input.gateway.grants); read from the store every time. */
  async forAgent(agentId: string, now: number): Promise<GrantInput[]> {
    return (await this.#ctx.store.liveGrants(agentId, now)).map(grantInput)
  }

  /** The agents with a live grant now (the Workers gate's once-a-second shortcut for agents without any). */
  async agents(now: number): Promise<string[]> {
    return this.#ctx.store.grantAgents(now)
  }

  /** Takes one use for an allowed request; undefined when refused (then the request is held after all). */
  async use(id: string, use: { agent_id: string; route: string; decision_id: string }): Promise<Grant | undefined> {
    const now = this.#ctx.now()
    return this.#ctx.store.useGrant(
      id,
      { agent_id: use.agent_id, route: use.route, now },
      {
        type: 'grant.used',
        actor: `agent:${use.agent_id}`,
        record: { decision_id: use.decision_id },
        at: now,
      },
    )
  }

  /** The grants of the approver's groups (all for an auditor), newest first, with whether each is live. */
  async list(approver: ApproverConfig): Promise<object[]> {
    const now = this.#ctx.now()
    return (await this.#ctx.store.grants(readScope(approver))).map((g) => ({
      ...status(g, now),
      may_revoke: mayDecide(g.groups, approver),
    }))
  }

  /** Revokes at once: the next request the grant would have allowed is held. */
  async revoke(id: string, approver: ApproverConfig, comment: string | null): Promise<object> {
    const g = await this.#ctx.store.getGrant(id)
    if (!g || !mayRead(g.groups, approver)) throw notFound('grant', id)
    assertMayDecide('grant', id, g.groups, approver)
    const now = this.#ctx.now()
    const done = await this.#ctx.store.revokeGrant(id, approver.id, now, {
      type: 'grant.revoked',
      actor: `approver:${approver.id}`,
      record: { grant_id: id, comment },
    })
    if (!done) throw new AirlockError('AIRLOCK_CONFLICT', `grant ${id} was already revoked`)
    this.#ctx.deps.logger.info({ event: 'grant.revoked', grant_id: id, approver: approver.id }, 'grant revoked')
    return status((await this.#ctx.store.getGrant(id))!, now)
  }
}

export function status(g: Grant, now: number): object {
  const state =
    g.revoked_at !== null ? 'revoked' : g.uses >= g.max_uses ? 'used_up' : g.expires_at <= now ? 'expired' : 'live'
  return {
    id: g.id,
    state,
    hold_id: g.hold_id,
    rule: g.rule,
    agent: g.agent_id,
    route: g.route,
    groups: g.groups,
    created_by: g.created_by,
    created_at: new Date(g.created_at).toISOString(),
    expires_at: new Date(g.expires_at).toISOString(),
    uses: g.uses,
    max_uses: g.max_uses,
    bounds: g.bounds,
    revoked_at: g.revoked_at === null ? null : new Date(g.revoked_at).toISOString(),
    revoked_by: g.revoked_by,
  }
}
