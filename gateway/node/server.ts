// The Node server: wires the core to undici, pino, prom-client, the policy folder (hot reload) and SQLite,
// then serves it with @hono/node-server and shuts down gracefully.
import { serve, type ServerType } from '@hono/node-server'
import type { AddressInfo } from 'node:net'
import type { Hono } from 'hono'
import type { Config } from '../core/config/schema.ts'
import { createGateway } from '../core/gateway.ts'
import { systemClock, type Clock, type Logger, type Secrets } from '../core/ports.ts'
import { createLogger } from './logger.ts'
import { createMetrics } from './metrics.ts'
import { PolicyFiles } from './policy-files.ts'
import { createNodeUpstream } from './upstream.ts'
import { join } from 'node:path'
import { HoldStore } from '../core/holds/store.ts'
import { HoldService } from '../core/holds/service.ts'
import { createHoldGate } from '../core/holds/api.ts'
import { openSqlite } from './sqlite.ts'

export interface StartOptions {
  config: Config
  secrets?: Secrets
  logger?: Logger
  clock?: Clock
  /** Extra CA certificates trusted for upstream TLS (tests, private CAs). */
  upstreamCa?: string | Buffer
  /** Override the configured port (0 picks a free one). */
  port?: number
  /** How long in-flight requests may run after shutdown starts. */
  shutdownGraceMs?: number
  /** Holds timer period (expiry, webhook retries). */
  tickMs?: number
  /** Review sampling's random source (tests). */
  random?: () => number
}

export interface RunningGateway {
  url: string
  port: number
  app: Hono
  policy: PolicyFiles
  holds: HoldService
  close(): Promise<void>
}

export async function startGateway(opts: StartOptions): Promise<RunningGateway> {
  const { config } = opts
  const logger = opts.logger ?? createLogger(config.log.level)
  const secrets: Secrets = opts.secrets ?? ((name) => process.env[name])
  const metrics = createMetrics()
  const upstream = createNodeUpstream({ connectTimeoutMs: config.limits.connect_timeout_ms, ca: opts.upstreamCa })
  const policy = new PolicyFiles(config.policy.dir, logger)
  await policy.reload()
  if (config.policy.watch) policy.watch()

  const clock = opts.clock ?? systemClock
  const db = openSqlite(join(config.data_dir, 'airlock.db'))
  const holds = new HoldService({
    config,
    store: new HoldStore(db),
    upstream,
    secrets,
    logger,
    metrics,
    clock,
    webhookFetch: upstream.webhookFetch,
    ...(opts.random ? { random: opts.random } : {}),
  })
  holds.recover()
  // Expiry, webhook retries and approved-but-unsent holds are driven by one timer (an alarm on Workers).
  let ticking = false
  const ticker = setInterval(() => {
    if (ticking) return
    ticking = true
    holds.tick().catch((err) => logger.error({ event: 'tick', error: String(err) }, 'holds tick failed')).finally(() => (ticking = false))
  }, opts.tickMs ?? 1000)
  ticker.unref()
  void holds.tick()

  const app = await createGateway({
    holds: await createHoldGate(holds, config, secrets, logger),
    config,
    policy,
    upstream,
    secrets,
    logger,
    metrics,
    clock,
    clientAddress: (_req, env) => (env as { incoming?: { socket?: { remoteAddress?: string } } })?.incoming?.socket?.remoteAddress,
    routes: (app) => {
      app.get('/metrics', async (c) => c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType }))
    },
  })

  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: config.server.host, port: opts.port ?? config.server.port }, () => resolve(s))
  })
  const port = (server.address() as AddressInfo).port
  const url = `http://${config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host}:${port}`
  logger.info({ event: 'started', url, policy_revision: policy.current()?.revision ?? null, routes: config.routes.map((r) => r.prefix) }, 'airlock listening')

  let closing: Promise<void> | undefined
  return {
    url,
    port,
    app,
    policy,
    holds,
    close() {
      closing ??= (async () => {
        policy.close()
        // Stop accepting, let in-flight requests finish (holds waiting for approval stay stored), then cut the rest.
        const closed = new Promise<void>((resolve) => server.close(() => resolve()))
        const http = server as unknown as { closeIdleConnections?(): void; closeAllConnections?(): void }
        http.closeIdleConnections?.()
        const force = setTimeout(() => http.closeAllConnections?.(), opts.shutdownGraceMs ?? 10_000)
        await closed
        clearTimeout(force)
        clearInterval(ticker)
        await upstream.close()
        db.close()
      })()
      return closing
    },
  }
}
