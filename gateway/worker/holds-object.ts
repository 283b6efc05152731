// The holds Durable Object: it composes the core HoldService (state machine, webhooks, execution) over the object's
// SQLite and adds only what the object's lifecycle needs; the store owns every SQL statement.
// One object holds every hold, so the store's guarantees stay global as on Node: one hold per identical request
// across an agent's retries, caps per approver group checked in the same transaction as the insert, and one audit
// hash chain. Nothing lives only in memory: waits, expiry and retries resume from SQLite after a reset.
//
// Time is driven by the object's single alarm, armed for the next thing due: the earliest pending expiry, the next
// webhook delivery, or now when an approved hold was left unsent by a reset. `alarm()` runs `service.tick()`.
import { DurableObject } from 'cloudflare:workers'
import { Hono } from 'hono'
import type { Config } from '../core/config/schema.ts'
import { AirlockError, describeThrown, errorResponse } from '../core/errors.ts'
import { agentWait } from '../core/holds/answers.ts'
import { createHoldGate } from '../core/holds/api.ts'
import { nextDue } from '../core/holds/execution.ts'
import { HoldService } from '../core/holds/service.ts'
import { HoldStore } from '../core/holds/store.ts'
import type { GrantInput } from '../core/pipeline/request.ts'
import { type Clock, type Logger, noMetrics, type Secrets, systemClock } from '../core/ports.ts'
import { createConsoleLogger } from './logger.ts'
import { createDurableSqlDriver } from './sql-driver.ts'
import { createWorkerUpstream } from './upstream.ts'
import { capture, fromWire, type WireEvaluated, type WireHeld, type WireResult } from './wire.ts'

export interface Submitted {
  holdId: string
  /** How long the agent asked to wait (0 for Prefer: respond-async). */
  waitMs: number
  respondAsync: boolean
}

/** The object's RPC surface, as the Worker sees it through a stub. */
export interface HoldsApi {
  pendingCounts(): Promise<Record<string, number>>
  submit(req: WireHeld): Promise<WireResult<Submitted>>
  settle(holdId: string, waitMs: number, respondAsync: boolean, decisionId?: string): Promise<Response>
  review(req: WireEvaluated, upstreamStatus: number): Promise<boolean>
  /** The agents that have a live grant (read with the pending counts, so agents without one cost no call). */
  grantAgents(): Promise<string[]>
  grantsFor(agentId: string, nowMs: number): Promise<GrantInput[]>
  useGrant(
    id: string,
    use: { agent_id: string; route: string; decision_id: string },
  ): Promise<{ uses: number; max_uses: number } | undefined>
}

export interface HoldsEnv {
  HOLDS: DurableObjectNamespace<HoldsApi>
}

/** Worker secrets (and vars) by name: the core's Secrets port. */
export function envSecrets(env: object): Secrets {
  return (name) => {
    const v = (env as Record<string, unknown>)[name]
    return typeof v === 'string' ? v : undefined
  }
}

export function defineHoldsObject(bundle: { config: Config; clock?: Clock }) {
  const { config } = bundle
  const clock = bundle.clock ?? systemClock

  return class HoldsObject extends DurableObject<HoldsEnv> implements HoldsApi {
    readonly #service: HoldService
    readonly #store: HoldStore
    readonly #logger: Logger
    #api: Hono | undefined
    /** The alarm time this instance last set (undefined: unknown or none), to skip rewriting an unchanged alarm. */
    #armedAt: number | null | undefined

    constructor(ctx: DurableObjectState, env: HoldsEnv) {
      super(ctx, env)
      const logger = (this.#logger = createConsoleLogger(config.log.level))
      const secrets = envSecrets(env)
      const upstream = createWorkerUpstream()
      const store = (this.#store = new HoldStore(createDurableSqlDriver(ctx.storage)))
      this.#service = new HoldService({
        config,
        store,
        upstream,
        secrets,
        logger,
        metrics: noMetrics,
        clock,
        webhookFetch: upstream.webhookFetch,
        // Executions and deliveries run in the background (an approval answers before the upstream does): waitUntil
        // keeps the object alive until they settle (compatibility date 2026-10-01 or later). After every delivery
        // pass the alarm is re-armed, so a failed webhook is retried when its backoff is due.
        background: (work) => ctx.waitUntil(work),
        afterDeliver: () => void this.#arm(),
      })
      void ctx.blockConcurrencyWhile(async () => {
        try {
          // A new instance means the previous one stopped (deploy, eviction, crash): a hold it was sending may or may
          // not have reached the upstream, so it becomes outcome_unknown for a person, never re-sent.
          await this.#service.recover()
          const app = new Hono()
          // Cloudflare sets CF-Connecting-IP on every request; the Worker passes it through unchanged.
          const clientAddress = (req: Request) => req.headers.get('cf-connecting-ip') ?? undefined
          ;(
            await createHoldGate(this.#service, config, secrets, logger, {
              clientAddress,
              background: (work) => ctx.waitUntil(work),
            })
          ).mount(app)
          this.#api = app
          await this.#arm()
        } catch (err) {
          // E.g. an approver token equal to an agent key: like the Node server refusing to start, nothing is served.
          logger.error({ event: 'holds_object_start', error: describeThrown(err) }, 'the holds object cannot start')
          throw err
        }
      })
    }

    async pendingCounts(): Promise<Record<string, number>> {
      return this.#service.pendingCounts()
    }

    // Grants: the object owns them like holds; a use is one conditional UPDATE in its SQLite (grant-store.ts).
    async grantAgents(): Promise<string[]> {
      return this.#service.grants.agents(clock.now())
    }

    async grantsFor(agentId: string, nowMs: number): Promise<GrantInput[]> {
      return this.#service.grants.forAgent(agentId, nowMs)
    }

    async useGrant(
      id: string,
      use: { agent_id: string; route: string; decision_id: string },
    ): Promise<{ uses: number; max_uses: number } | undefined> {
      const g = await this.#service.grants.use(id, use)
      return g ? { uses: g.uses, max_uses: g.max_uses } : undefined
    }

    /** Stores or joins the hold (idempotent: a retried call joins the hold the first one made). */
    async submit(wire: WireHeld): Promise<WireResult<Submitted>> {
      return capture(async () => {
        const req = fromWire(wire, config)
        const { hold } = await this.#service.submit(req)
        await this.#arm()
        // As HoldService.hold on Node: how long to wait comes from the agent's Prefer header (answers.ts).
        return { holdId: hold.id, ...agentWait(req.prefer, config.holds) }
      })
    }

    /** Waits up to waitMs for an outcome, then answers from the stored state (so a call after a reset resumes). */
    async settle(holdId: string, waitMs: number, respondAsync: boolean, decisionId?: string): Promise<Response> {
      if (waitMs > 0) await this.#service.waitForOutcome(holdId, waitMs)
      const hold = await this.#service.store.get(holdId)
      if (!hold) return errorResponse(new AirlockError('AIRLOCK_HOLD_NOT_FOUND', `no hold with id ${holdId}`))
      return this.#service.answer(hold, respondAsync, decisionId)
    }

    async review(wire: WireEvaluated, upstreamStatus: number): Promise<boolean> {
      return this.#service.review(fromWire(wire, config), upstreamStatus)
    }

    /** The approver API and agents' hold polling (/_airlock/*), forwarded here by the Worker. */
    async fetch(request: Request): Promise<Response> {
      const res = await this.#api!.fetch(request)
      await this.#arm() // an approval or denial may have changed what is due next
      return res
    }

    async alarm(): Promise<void> {
      this.#armedAt = undefined // the runtime clears an alarm once it has run
      try {
        await this.#service.tick()
      } catch (err) {
        this.#logger.error({ event: 'tick', error: describeThrown(err) }, 'holds tick failed')
      }
      await this.#arm()
    }

    /**
     * Sets the alarm for the next due time, computed and issued without an await in between so calls stay ordered:
     * read from the object's SQLite store synchronously (the service's nextDueAt awaits, for every store).
     */
    #arm(): Promise<void> {
      const store = this.#store
      const next = nextDue(clock.now(), store.idsIn('approved'), store.nextExpiryAt(), store.nextDeliveryAt())
      if (next === this.#armedAt) return Promise.resolve()
      this.#armedAt = next
      return next === null ? this.ctx.storage.deleteAlarm() : this.ctx.storage.setAlarm(next)
    }
  }
}
