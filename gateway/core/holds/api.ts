// The holds HTTP API, mounted into the gateway's app, and the in-process HoldGate over a HoldService.
//   /_airlock/holds/:id                 the agent polls its own hold (agent key)
//   /_airlock/api/...                   approvers and reviewers (approver token as Bearer); agent keys never work here.
//                                       Every listing and action is scoped to the approver's groups by HoldService
//                                       (scope.ts): these handlers only authenticate, parse and serialise.
import type { Context, Hono } from 'hono'
import type { ApproverConfig, Config } from '../config/schema.ts'
import { mountConsole } from '../console/mount.ts'
import { scrubSecrets, secretValues } from '../credentials.ts'
import { AirlockError, errorResponse, toAirlockError } from '../errors.ts'
import { KeyRing } from '../keys.ts'
import { AGENT_KEY_HEADER, presentedKey } from '../pipeline/agents.ts'
import type { HoldGate, Logger, Secrets } from '../ports.ts'
import { mountSlackInteractions } from '../slack/interactions.ts'
import { status as grantStatus } from './grant-desk.ts'
import type { Grant, GrantRequest } from './grants.ts'
import type { HoldService } from './service.ts'
import { type HoldState, type Review, HOLD_STATES as STATES } from './types.ts'

type ReviewState = Review['state']
const REVIEW_STATES: ReviewState[] = ['pending', 'ok', 'flagged']

export interface HoldGateOptions {
  /** The client's address as the runtime sees it (console sign-in rate limiting). */
  clientAddress?: ((req: Request, env: unknown) => string | undefined) | undefined
  /** Keeps work going after a response (Workers: the holds object's waitUntil). */
  background?: ((work: Promise<unknown>) => void) | undefined
}

export async function createHoldGate(
  service: HoldService,
  config: Config,
  secrets: Secrets,
  logger: Logger,
  opts: HoldGateOptions = {},
): Promise<HoldGate> {
  const secretList = secretValues(config, secrets)
  const warn = (what: string) => (_: unknown, env: string) =>
    logger.warn({ event: 'config' }, `${what}: environment variable ${env} is not set`)
  const approvers = await KeyRing.create(
    config.approvers,
    (a) => ({ env: a.token_env, sha256: a.token_sha256 }),
    secrets,
    warn('approver token'),
  )
  // The pipeline already warned about agents whose key is unset.
  const agents = await KeyRing.create(
    config.agents,
    (a) => ({ env: a.key_env, sha256: a.key_sha256 }),
    secrets,
    () => {},
  )
  const agentDigests = agents.digests()
  for (const d of approvers.digests()) {
    if (agentDigests.has(d))
      throw new AirlockError(
        'AIRLOCK_SECRET_REUSED',
        'an approver token equals an agent key: agents must never be able to approve; use different secrets',
      )
  }

  const approverOf = async (c: Context): Promise<ApproverConfig> => {
    const token = presentedKey(c.req.raw.headers, ['bearer'])
    if (!token)
      throw new AirlockError('AIRLOCK_UNAUTHORIZED', 'send your approver token as Authorization: Bearer <token>')
    const approver = await approvers.find(token)
    if (!approver) throw new AirlockError('AIRLOCK_UNAUTHORIZED', 'the approver token is not valid')
    return approver
  }
  const jsonBody = async (c: Context): Promise<Record<string, unknown>> => {
    const text = await c.req.text()
    if (!text) return {}
    try {
      const v = JSON.parse(text)
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>
    } catch {
      // fall through
    }
    throw new AirlockError('AIRLOCK_BAD_REQUEST', 'the request body must be a JSON object, e.g. {"comment": "…"}')
  }
  const str = (v: unknown) => (typeof v === 'string' ? v : null)
  const handle = (fn: (c: Context) => Promise<Response> | Response) => async (c: Context) => {
    try {
      return await fn(c)
    } catch (err) {
      const e = toAirlockError(err)
      // The stack helps the operator; it is scrubbed of known secret values like every thrown message logged.
      if (e.code === 'AIRLOCK_INTERNAL')
        logger.error({ err: scrubSecrets(String((e.cause as Error)?.stack ?? e.cause), secretList) }, 'holds API error')
      return errorResponse(e)
    }
  }

  return {
    async pendingCounts() {
      return service.pendingCounts()
    },
    async grantsFor(agentId, nowMs) {
      try {
        return await service.grants.forAgent(agentId, nowMs)
      } catch (err) {
        // A shared store away (PostgreSQL restarting): no grants, which can only make the policy stricter (a request a
        // grant would have allowed is held, and the hold is refused with 503 until the store is back).
        if (!service.deps.shared) throw err
        logger.warn(
          { event: 'store_unavailable', error: toAirlockError(err).message },
          'grants unavailable; deciding without them',
        )
        return []
      }
    },
    useGrant: (id, use) => service.grants.use(id, use),
    hold: (req, signal) => service.hold(req, signal),
    async review(req, status) {
      return service.review(req, status)
    },
    mount(app: Hono) {
      mountSlackInteractions(app, { service, config, secrets, logger, background: opts.background })
      if (config.console.enabled)
        mountConsole(app, { service, config, secrets, logger, approvers, agents, clientAddress: opts.clientAddress })
      app.get(
        '/_airlock/holds/:id',
        handle(async (c) => {
          const key = presentedKey(c.req.raw.headers, ['header', 'bearer'])
          const agent = key ? await agents.find(key) : undefined
          if (!agent)
            throw new AirlockError(
              'AIRLOCK_AGENT_KEY_INVALID',
              `send the agent key of the hold's agent in ${AGENT_KEY_HEADER}`,
            )
          const hold = await service.store.get(c.req.param('id')!)
          if (!hold || hold.agent.id !== agent.id)
            throw new AirlockError('AIRLOCK_HOLD_NOT_FOUND', 'no such hold for this agent')
          // A poll never waits: an open hold is answered 202 with where to poll again.
          return service.answer(hold, true)
        }),
      )
      app.get(
        '/_airlock/api/holds',
        handle(async (c) => {
          const approver = await approverOf(c)
          const state = c.req.query('state')
          if (state && !STATES.includes(state as HoldState))
            throw new AirlockError('AIRLOCK_BAD_REQUEST', `state must be one of ${STATES.join(', ')}`)
          const group = c.req.query('group')
          return c.json({
            holds: await service.list(approver, {
              ...(state ? { state: state as HoldState } : {}),
              ...(group ? { group } : {}),
            }),
          })
        }),
      )
      app.get(
        '/_airlock/api/holds/:id',
        handle(async (c) => c.json(await service.view(c.req.param('id')!, await approverOf(c)))),
      )
      for (const verb of ['approve', 'deny'] as const) {
        app.post(
          `/_airlock/api/holds/:id/${verb}`,
          handle(async (c) => {
            const approver = await approverOf(c)
            const body = await jsonBody(c)
            const grant = verb === 'approve' ? grantRequest(body.grant) : undefined
            const hold = await service[verb](c.req.param('id')!, approver, {
              comment: str(body.comment),
              context_sha256: str(body.context_sha256),
              grant,
            })
            const made = (hold as { grant?: Grant }).grant
            const granted = made ? { grant: grantStatus(made, made.created_at) } : {}
            return c.json({ hold: service.status(hold), approvals: hold.approvals, denial: hold.denial, ...granted })
          }),
        )
      }
      // Grants (docs/approvals.md "Grants"): listed and revoked within the approver's groups.
      app.get(
        '/_airlock/api/grants',
        handle(async (c) => c.json({ grants: await service.grants.list(await approverOf(c)) })),
      )
      const revoke = handle(async (c) => {
        const approver = await approverOf(c)
        const body = c.req.method === 'POST' ? await jsonBody(c) : {}
        return c.json({ grant: await service.grants.revoke(c.req.param('id')!, approver, str(body.comment)) })
      })
      app.delete('/_airlock/api/grants/:id', revoke)
      app.post('/_airlock/api/grants/:id/revoke', revoke)
      app.post(
        '/_airlock/api/holds/:id/resolve',
        handle(async (c) => {
          const approver = await approverOf(c)
          const body = await jsonBody(c)
          if (body.outcome !== 'executed' && body.outcome !== 'failed')
            throw new AirlockError('AIRLOCK_BAD_REQUEST', 'outcome must be "executed" or "failed"')
          return c.json({
            hold: service.status(await service.resolve(c.req.param('id')!, approver, body.outcome, str(body.comment))),
          })
        }),
      )
      app.get(
        '/_airlock/api/reviews',
        handle(async (c) => {
          const approver = await approverOf(c)
          const state = c.req.query('state')
          if (state && !REVIEW_STATES.includes(state as ReviewState))
            throw new AirlockError('AIRLOCK_BAD_REQUEST', `state must be one of ${REVIEW_STATES.join(', ')}`)
          return c.json({ reviews: await service.reviewItems(approver, state as ReviewState | undefined) })
        }),
      )
      app.post(
        '/_airlock/api/reviews/:id',
        handle(async (c) => {
          const reviewer = await approverOf(c)
          const body = await jsonBody(c)
          if (body.verdict !== 'ok' && body.verdict !== 'flag')
            throw new AirlockError('AIRLOCK_BAD_REQUEST', 'verdict must be "ok" or "flag"')
          return c.json({
            review: await service.markReview(c.req.param('id')!, reviewer, body.verdict, str(body.comment)),
          })
        }),
      )
      app.get(
        '/_airlock/api/report',
        handle(async (c) => {
          return c.json(await service.report(await approverOf(c)))
        }),
      )
      app.get(
        '/_airlock/api/audit',
        handle(async (c) => {
          return c.json({ records: await service.auditRecords(await approverOf(c)) })
        }),
      )
      app.get(
        '/_airlock/api/audit/verify',
        handle(async (c) => {
          await approverOf(c)
          return c.json(await service.verifyAudit())
        }),
      )
    },
  }
}

/** The `grant` of an approve body: {minutes, max_uses, bounds?: {same?: [field], max?: [field]}}; undefined if absent. */
export function grantRequest(v: unknown): GrantRequest | undefined {
  if (v === undefined || v === null) return undefined
  const bad = (msg: string) =>
    new AirlockError(
      'AIRLOCK_BAD_REQUEST',
      `grant: ${msg}, e.g. {"minutes": 30, "max_uses": 5, "bounds": {"same": ["customer"], "max": ["amount"]}}`,
    )
  if (typeof v !== 'object' || Array.isArray(v)) throw bad('must be an object')
  const g = v as Record<string, unknown>
  if (typeof g.minutes !== 'number' || typeof g.max_uses !== 'number') throw bad('needs numbers minutes and max_uses')
  const names = (x: unknown, key: string): string[] | undefined => {
    if (x === undefined) return undefined
    if (!Array.isArray(x) || !x.every((n) => typeof n === 'string'))
      throw bad(`bounds.${key} must be an array of field names`)
    return x as string[]
  }
  const b = g.bounds
  if (b !== undefined && (typeof b !== 'object' || b === null || Array.isArray(b)))
    throw bad('bounds must be an object')
  const bounds = b as { same?: unknown; max?: unknown } | undefined
  return {
    minutes: g.minutes,
    max_uses: g.max_uses,
    bounds: bounds ? { same: names(bounds.same, 'same'), max: names(bounds.max, 'max') } : undefined,
  }
}
