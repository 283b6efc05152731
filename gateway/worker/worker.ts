// The Workers adapter: the unchanged core gateway behind a fetch handler, and the holds Durable Object class, both
// built from one bundle (config parsed at build time, the compiled policy imported as a module). Entries call
// defineWorker with their bundle: gateway/worker/index.ts with the deployed one, test/worker/entry.ts with the tests'.
import type { ExecutionContext, Hono } from 'hono'
import type { Config } from '../core/config/schema.ts'
import { credentialProblems, unsetCredentialMessage, unsetCredentials } from '../core/credentials.ts'
import { describeThrown } from '../core/errors.ts'
import { loadWasmPolicy } from '../core/policy/evaluator.ts'
import { createShadow } from '../core/policy/shadow.ts'
import { noMetrics, type PolicyEvaluator, systemClock } from '../core/ports.ts'
import { createGateway } from '../core/reverse-proxy.ts'
import { createDurableHoldGate } from './hold-gate.ts'
import { defineHoldsObject, envSecrets, type HoldsEnv } from './holds-object.ts'
import { createDurableRateCounter, type LimiterEnv } from './limiter-object.ts'
import { createConsoleLogger } from './logger.ts'
import { createWorkerUpstream } from './upstream.ts'

export interface WorkerBundle {
  config: Config
  policy: { wasm: WebAssembly.Module; data: unknown; revision: string }
  /** policy.shadow, compiled and bundled beside the policy; reloaded by redeploying, like the policy. */
  shadow?: { wasm: WebAssembly.Module; data: unknown; revision: string } | undefined
}

export type Env = HoldsEnv & LimiterEnv & Record<string, unknown>

export function defineWorker(bundle: WorkerBundle) {
  const { config } = bundle
  const logger = createConsoleLogger(config.log.level)
  let app: Promise<Hono> | undefined

  // Once per isolate; env (secrets, bindings) is the same for every request an isolate serves.
  async function build(env: Env): Promise<Hono> {
    let policy: PolicyEvaluator | undefined
    try {
      policy = await loadWasmPolicy(bundle.policy)
      logger.info({ event: 'policy_loaded', revision: policy.revision }, 'policy loaded')
    } catch (err) {
      // Fail closed like Node with no policy: /readyz answers 503 and every request is refused.
      logger.error(
        { event: 'policy_rejected', error: describeThrown(err) },
        'policy failed to load; requests are refused',
      )
    }
    // A shadow policy that fails to load only means no shadow decisions: it never decides anything.
    let shadowPolicy: PolicyEvaluator | undefined
    if (bundle.shadow && config.policy.shadow) {
      try {
        shadowPolicy = await loadWasmPolicy(bundle.shadow)
        logger.info({ event: 'shadow_policy_loaded', revision: shadowPolicy.revision }, 'shadow policy loaded')
      } catch (err) {
        logger.error(
          { event: 'shadow_policy_rejected', error: describeThrown(err) },
          'shadow policy failed to load; no shadow policy runs (requests are not affected)',
        )
      }
    }
    const shadow = shadowPolicy
      ? createShadow({
          policy: { current: () => shadowPolicy },
          sampleRate: config.policy.shadow!.sample_rate,
          defaults: { timeout_s: config.holds.timeout_s, sample_rate: config.review.sample_rate },
        })
      : undefined
    // No start to refuse on Workers: each such route answers 503 AIRLOCK_CREDENTIAL_INVALID; say so once, by env name.
    for (const problem of credentialProblems(config, envSecrets(env))) {
      logger.error(
        { event: 'credential_invalid', problem },
        'a route credential cannot be sent; its requests are refused',
      )
    }
    for (const unset of unsetCredentials(config, envSecrets(env))) {
      logger.warn({ event: 'config', route: unset.route, env: unset.env }, unsetCredentialMessage(unset))
    }
    return createGateway({
      config,
      policy: { current: () => policy },
      shadow,
      upstream: createWorkerUpstream(),
      secrets: envSecrets(env),
      logger,
      metrics: noMetrics,
      clock: systemClock,
      holds: createDurableHoldGate({ namespace: env.HOLDS, logger, clock: systemClock }),
      // Rate buckets are global: one Durable Object per agent (limiter-object.ts, docs/deploy-workers.md).
      rates: createDurableRateCounter(env.LIMITER),
      clientAddress: (req) => req.headers.get('cf-connecting-ip') ?? undefined,
    })
  }

  const handler = {
    async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
      app ??= build(env).catch((err) => {
        app = undefined
        throw err
      })
      const gateway = await app
      return passEncodedBody(await gateway.fetch(withAgentAcceptEncoding(request), env, ctx))
    },
  }

  return { handler, HoldsObject: defineHoldsObject(bundle) }
}

/**
 * Cloudflare rewrites an incoming Accept-Encoding to what its edge supports and keeps the agent's own value in
 * request.cf.clientAcceptEncoding; the upstream must see the agent's, or it may answer in an encoding the agent
 * cannot read (the body is passed through undecoded).
 */
function withAgentAcceptEncoding(request: Request): Request {
  const original = (request as Request & { cf?: { clientAcceptEncoding?: unknown } }).cf?.clientAcceptEncoding
  if (typeof original !== 'string' || original === request.headers.get('accept-encoding')) return request
  const headers = new Headers(request.headers)
  if (original) headers.set('accept-encoding', original)
  else headers.delete('accept-encoding')
  return new Request(request, { headers })
}

/** A body that is still content-encoded (the upstream's bytes, untouched) goes out as is, not compressed again. */
function passEncodedBody(res: Response): Response {
  if (!res.body || !res.headers.has('content-encoding')) return res
  return new Response(res.body, {
    status: res.status,
    statusText: res.statusText,
    headers: res.headers,
    encodeBody: 'manual',
  } as ResponseInit)
}
