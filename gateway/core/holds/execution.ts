// Sending approved holds, and the hold's clock: expiry, approved holds nobody sent (after a restart), and crash
// recovery. Every transition is a compare-and-set in the store, so concurrent approvals, ticks and restarts cannot
// send a hold twice; execution re-verifies the approved bytes' digest and sends through the forward stage, exactly
// as an allowed request would go.
import { describeForLog, publicErrorText, secretValues } from '../credentials.ts'
import { sha256Hex } from '../digest.ts'
import { type AirlockError, isAirlockError } from '../errors.ts'
import { readUpTo } from '../pipeline/body.ts'
import { forward } from '../pipeline/forward.ts'
import { routeForHold } from '../pipeline/route.ts'
import type { HoldContext } from './context.ts'

export const MAX_STORED_RESPONSE = 5 * 1024 * 1024
const EMPTY = new Uint8Array(0)
const STOPPED = 'the gateway stopped while sending this request'

/** When the hold clock next has work, from what is approved and the earliest expiry and delivery retry. */
export function nextDue(
  now: number,
  approved: string[],
  expiry: number | null,
  delivery: number | null,
): number | null {
  if (approved.length > 0) return now
  const due = [expiry, delivery].filter((t): t is number => t !== null)
  return due.length ? Math.min(...due) : null
}

export class HoldExecution {
  readonly #ctx: HoldContext
  readonly #executing = new Set<Promise<void>>()

  constructor(ctx: HoldContext) {
    this.#ctx = ctx
  }

  /** Sends an approved hold upstream exactly once: only the caller that moves it approved → executing sends it. */
  execute(id: string): Promise<void> {
    // Never rejects: a store that cannot be reached to claim the hold leaves it approved, for the next tick.
    const run = this.#execute(id)
      .catch((err: unknown) =>
        this.#ctx.deps.logger.error(
          { event: 'hold.execute', hold_id: id, error: publicErrorText(err) },
          'could not start sending an approved hold',
        ),
      )
      .finally(() => this.#executing.delete(run))
    this.#executing.add(run)
    this.#ctx.background(run)
    return run
  }

  /** Resolves when every execution under way has finished (graceful shutdown waits for it). */
  async drain(): Promise<void> {
    while (this.#executing.size) await Promise.allSettled([...this.#executing])
  }

  async #execute(id: string): Promise<void> {
    const ctx = this.#ctx
    const { config, secrets, logger } = ctx.deps
    const { store } = ctx
    if (!(await store.transition(id, ['approved'], 'executing', ctx.now()))) return
    const hold = (await store.get(id))!
    await ctx.audit('hold.executing', 'system', id, {})
    // `error` goes to the agent, approvers, webhooks and the store: never a thrown message Airlock did not write
    // (publicErrorText); the log gets the original, scrubbed of known secret values.
    const fail = async (state: 'failed' | 'outcome_unknown', error: string, thrown?: unknown) => {
      await store.transition(id, ['executing'], state, ctx.now(), { error })
      await ctx.audit(state === 'failed' ? 'hold.failed' : 'hold.outcome_unknown', 'system', id, { error })
      const cause =
        thrown !== undefined && !isAirlockError(thrown)
          ? { cause: describeForLog(thrown, secretValues(config, secrets)) }
          : {}
      logger.error({ event: `hold.${state}`, hold_id: id, error, ...cause }, 'hold execution did not complete')
    }
    try {
      const digest = await sha256Hex(hold.body ?? EMPTY)
      const route = routeForHold(config, hold.route, hold.url)
      if (digest !== hold.body_sha256) await fail('failed', 'stored body does not match the approved sha256; not sent')
      else if (!route) await fail('failed', `route "${hold.route}" is no longer configured; not sent`)
      else {
        const headers = new Headers(hold.headers)
        if (route.idempotency_key) headers.set('idempotency-key', `airlock-hold-${hold.id}`)
        let res: Response
        try {
          res = await forward(ctx.deps, {
            route,
            method: hold.method,
            upstreamUrl: new URL(hold.url),
            headers,
            body: hold.body,
          })
        } catch (err) {
          // A refused connection never reached the upstream; a timeout may have: only a person can tell.
          const code = (err as AirlockError).code
          await fail(code === 'AIRLOCK_UPSTREAM_TIMEOUT' ? 'outcome_unknown' : 'failed', publicErrorText(err), err)
          return
        }
        const body = res.body ? await readUpTo(res.body, MAX_STORED_RESPONSE) : { bytes: EMPTY, truncated: false }
        const responseHeaders = [...res.headers].filter(
          ([n]) => !['connection', 'keep-alive', 'transfer-encoding'].includes(n),
        )
        await store.saveResponse(
          id,
          { status: res.status, headers: responseHeaders, body: body.bytes, truncated: body.truncated },
          ctx.now(),
        )
        await ctx.audit('hold.executed', 'system', id, {
          status: res.status,
          body_sha256: await sha256Hex(body.bytes),
          truncated: body.truncated,
        })
      }
    } catch (err) {
      // Also when the store failed mid-way (a shared database gone): the hold stays executing, and the recovery
      // (here or on another gateway) makes it outcome_unknown; it is never sent again.
      await fail('outcome_unknown', publicErrorText(err), err).catch(() => {})
    } finally {
      ctx.wake(id)
      const final = await Promise.resolve(store.get(id)).catch(() => undefined)
      if (final && final.state !== 'executing') await ctx.emit('hold.executed', final).catch(() => {})
    }
  }

  /** A pending hold past its time becomes expired (also checked when an approver acts on it); true if it did now. */
  async expire(id: string, now: number): Promise<boolean> {
    const ctx = this.#ctx
    if (!(await ctx.store.transition(id, ['pending'], 'expired', now, { decided_at: now }))) return false
    ctx.wake(id)
    await ctx.audit('hold.expired', 'system', id, {})
    await ctx.emit('hold.expired', (await ctx.store.get(id))!)
    return true
  }

  /** Expires due holds, executes approved ones nobody claimed (after a restart), sends due webhooks. */
  async tick(): Promise<void> {
    const ctx = this.#ctx
    const now = ctx.now()
    for (const id of await ctx.store.idsIn('pending', now)) await this.expire(id, now)
    if (ctx.deps.shared) await this.recover() // a gateway that died while sending: another one settles its holds
    await Promise.all((await ctx.store.idsIn('approved')).map((id) => this.execute(id)))
    await ctx.deliver()
  }

  /**
   * After a crash: a hold that was executing may or may not have reached the upstream. Never re-send it. With one
   * gateway (SQLite), at start-up every executing hold is such a one; with a shared store, only those whose gateway
   * is gone (PostgreSQL: its executor lock is free).
   */
  async recover(): Promise<void> {
    const ctx = this.#ctx
    const ids = ctx.deps.shared ? await ctx.deps.shared.orphanedExecutions() : await ctx.store.idsIn('executing')
    for (const id of ids) {
      if (await ctx.store.transition(id, ['executing'], 'outcome_unknown', ctx.now(), { error: STOPPED })) {
        ctx.wake(id)
        await ctx.audit('hold.outcome_unknown', 'system', id, { error: STOPPED })
        // An error line per hold, like a failed execution's: operators alert on error-level logs, not on the audit.
        ctx.deps.logger.error(
          { event: 'hold.outcome_unknown', hold_id: id, error: STOPPED, recovered: true },
          'hold found executing at start: outcome unknown, a person must resolve it',
        )
        await ctx.emit('hold.executed', (await ctx.store.get(id))!)
      }
    }
  }

  /**
   * When the hold clock next has work (a runtime without a timer, the Durable Object, arms its alarm for it): now
   * when an approved hold is waiting to be sent, else the earliest pending expiry or webhook retry; null for nothing.
   */
  async nextDueAt(): Promise<number | null> {
    const { store } = this.#ctx
    return nextDue(
      this.#ctx.now(),
      await store.idsIn('approved'),
      await store.nextExpiryAt(),
      await store.nextDeliveryAt(),
    )
  }
}
