// The Worker's HoldGate: every call goes to the one holds Durable Object. Allow and deny traffic only reads the
// pending counts (policy input), cached here for a second so the object sees at most one such call per isolate per
// second; the caps themselves are enforced inside the object, atomically with the insert.
//
// The sync wait survives a reset of the object (deploy, eviction): the Worker keeps the agent's connection and calls
// `settle` again with the time left, and the new instance answers from SQLite.
import type { Hono } from 'hono'
import { AirlockError, describeThrown, errorResponse } from '../core/errors.ts'
import type { Clock, HoldGate, Logger } from '../core/ports.ts'
import type { HoldsApi } from './holds-object.ts'
import { toWire, unwrap } from './wire.ts'

/** The name of the one holds object (see docs/deploy-workers.md for why there is one). */
export const HOLDS_OBJECT = 'holds'
/** How stale input.gateway.pending_holds may be on Workers. */
export const PENDING_TTL_MS = 1000
const MAX_RETRIES = 8

export interface DurableHoldGateDeps {
  namespace: DurableObjectNamespace<HoldsApi>
  logger: Logger
  clock: Clock
  sleep?: (ms: number) => Promise<void>
}

/**
 * A transient failure of the object, safe to repeat for an idempotent method: reset (a deploy, an eviction, an
 * abort: workerd sets durableObjectReset) or a transient infrastructure error (retryable). Never when overloaded:
 * retrying would add load to an object that cannot keep up.
 */
export function isRetryable(err: unknown): boolean {
  const e = err as DurableObjectError | undefined
  return (e?.durableObjectReset === true || e?.retryable === true) && e.overloaded !== true
}

export function createDurableHoldGate(deps: DurableHoldGateDeps): HoldGate {
  const { namespace, logger, clock } = deps
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)))
  // A fresh stub per call: after an error a stub may be broken for good.
  const holds = () => namespace.get(namespace.idFromName(HOLDS_OBJECT))
  const storeError = (err: unknown) =>
    new AirlockError(
      'AIRLOCK_STORE_ERROR',
      'the holds store could not be reached; the request was not forwarded. Retry it later.',
      {},
      { cause: err },
    )

  /** Calls an idempotent method, again after transient failures. */
  async function idempotent<T>(what: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn()
      } catch (err) {
        if (!isRetryable(err) || attempt > MAX_RETRIES) {
          const { retryable, overloaded, durableObjectReset, remote } = (err ?? {}) as DurableObjectError
          logger.error(
            {
              event: 'holds_object',
              call: what,
              attempt,
              error: describeThrown(err),
              retryable,
              overloaded,
              reset: durableObjectReset,
              remote,
            },
            'holds object call failed',
          )
          throw storeError(err)
        }
        const e = err as DurableObjectError
        logger.warn(
          {
            event: 'holds_object_retry',
            call: what,
            attempt,
            reset: e.durableObjectReset === true,
            error: describeThrown(err),
          },
          'holds object call failed; calling again',
        )
        await sleep(Math.min(50 * 2 ** attempt, 2000))
      }
    }
  }

  let pending: { counts: Record<string, number>; at: number } | undefined
  // Which agents have a live grant, refreshed with the pending counts: an agent without one costs no call. Only this
  // "has none" shortcut is cached (a grant made in the last second may be missed: the request is held, as without
  // it); the grants themselves are read fresh, and the use is taken in the object, so a revoke or an expiry is
  // never outlived.
  let grantAgents: { agents: Set<string>; at: number } | undefined

  return {
    async pendingCounts() {
      const now = clock.now()
      if (!pending || now - pending.at >= PENDING_TTL_MS) {
        pending = { counts: await idempotent('pendingCounts', () => holds().pendingCounts()), at: now }
      }
      return { ...pending.counts }
    },

    async grantsFor(agentId, nowMs) {
      const now = clock.now()
      if (!grantAgents || now - grantAgents.at >= PENDING_TTL_MS) {
        grantAgents = { agents: new Set(await idempotent('grantAgents', () => holds().grantAgents())), at: now }
      }
      if (!grantAgents.agents.has(agentId)) return []
      return idempotent('grantsFor', () => holds().grantsFor(agentId, nowMs))
    },

    async useGrant(id, use) {
      // Not retried: a use taken before a reset would be taken twice. A failure refuses the use (the request is held).
      try {
        return await holds().useGrant(id, use)
      } catch (err) {
        logger.error(
          { event: 'holds_object', call: 'useGrant', grant_id: id, error: describeThrown(err) },
          'grant use failed; the request is held',
        )
        return undefined
      }
    },

    async hold(req, signal) {
      const wire = toWire(req)
      const submitted = unwrap(await idempotent('submit', () => holds().submit(wire)))
      pending = undefined
      const deadline = clock.now() + submitted.waitMs
      // Each call waits for the time left; after a reset the next call starts from the stored state.
      const response = await idempotent('settle', () =>
        holds().settle(
          submitted.holdId,
          signal.aborted ? 0 : Math.max(0, deadline - clock.now()),
          submitted.respondAsync,
          req.decisionId,
        ),
      )
      return { holdId: submitted.holdId, response }
    },

    async review(req, upstreamStatus) {
      // The request has already been forwarded: a failure here must not turn its response into an error (the agent
      // would retry a request that went through). Not retried either: a second call would count it twice.
      try {
        return await holds().review(toWire(req), upstreamStatus)
      } catch (err) {
        logger.error(
          { event: 'holds_object', call: 'review', decision_id: req.decisionId, error: describeThrown(err) },
          'review sampling failed; the request was forwarded',
        )
        return false
      }
    },

    mount(app: Hono) {
      app.all('/_airlock/*', async (c) => {
        // An approval may have made a grant: this isolate reads the agents with grants again on the next request.
        if (c.req.method !== 'GET') grantAgents = undefined
        try {
          return await holds().fetch(c.req.raw)
        } catch (err) {
          logger.error({ event: 'holds_object', call: 'fetch', error: describeThrown(err) }, 'holds object call failed')
          return errorResponse(storeError(err))
        }
      })
    },
  }
}
