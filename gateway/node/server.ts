// The Node server: wires the core to undici, pino, prom-client, the policy folder (hot reload) and SQLite,
// then serves it with @hono/node-server (the main port, plus one per route that owns a port; forward-proxy requests
// and CONNECT on any of them) and shuts down gracefully.

import type { IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type ServerType, serve } from '@hono/node-server'
import type { Hono } from 'hono'
import type { Config } from '../core/config/schema.ts'
import { credentialProblems, unsetCredentialMessage, unsetCredentials } from '../core/credentials.ts'
import { AirlockError } from '../core/errors.ts'
import { createPipeline } from '../core/gateway.ts'
import { createHoldGate } from '../core/holds/api.ts'
import { HoldService } from '../core/holds/service.ts'
import { createShadow } from '../core/policy/shadow.ts'
import { type Clock, type Logger, type Secrets, systemClock } from '../core/ports.ts'
import { createGateway } from '../core/reverse-proxy.ts'
import { createLogger } from './logger.ts'
import { createMetrics } from './metrics.ts'
import { PolicyFiles } from './policy-files.ts'
import { PgRateCounter } from './postgres/rates.ts'
import { readCa } from './proxy/ca-store.ts'
import { createForwardProxy } from './proxy/forward-proxy.ts'
import { LeafCache } from './proxy/leaf-cache.ts'
import { singleWrite } from './single-write.ts'
import { webClientSlackApi } from './slack.ts'
import { openStore } from './store.ts'
import { createNodeUpstream } from './upstream.ts'

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
  /** The interception CA's certificate (PEM) when TLS interception is configured. */
  caCert?: string | undefined
  /** Leaf certificates minted for intercepted hosts since start. */
  leaves?: LeafCache | undefined
  app: Hono
  policy: PolicyFiles
  holds: HoldService
  close(): Promise<void>
}

/** A port that cannot be listened on, said plainly (EADDRINUSE would otherwise print and leave the process running). */
function listenError(err: NodeJS.ErrnoException, host: string, port: number, what: string): AirlockError {
  const where = `${host}:${port} (${what})`
  const fix = "choose another port with --port, $AIRLOCK_PORT or server.port (a route's own port: routes[].port)"
  if (err.code === 'EADDRINUSE')
    return new AirlockError(
      'AIRLOCK_LISTEN_FAILED',
      `${where} is already in use (another Airlock, or another program): stop it, or ${fix}`,
    )
  if (err.code === 'EACCES')
    return new AirlockError(
      'AIRLOCK_LISTEN_FAILED',
      `not allowed to listen on ${where} (ports below 1024 need privileges): ${fix}`,
    )
  if (err.code === 'EADDRNOTAVAIL')
    return new AirlockError(
      'AIRLOCK_LISTEN_FAILED',
      `${host} is not an address of this machine (${what}): set --host, $AIRLOCK_HOST or server.host`,
    )
  return new AirlockError('AIRLOCK_LISTEN_FAILED', `cannot listen on ${where}: ${err.message}`)
}

export async function startGateway(opts: StartOptions): Promise<RunningGateway> {
  const { config } = opts
  // Interception needs the CA before the first CONNECT: a missing or unreadable CA stops the start, before anything opens.
  const intercepts =
    config.proxy.enabled && (config.proxy.intercept || config.routes.some((r) => r.tls === 'intercept'))
  const ca = intercepts ? readCa(config.data_dir) : undefined
  const logger = opts.logger ?? createLogger(config.log.level)
  const secrets: Secrets = opts.secrets ?? ((name) => process.env[name])
  // A credential that cannot be sent as a header stops the start, naming the env var and never the value.
  const badCredentials = credentialProblems(config, secrets)
  if (badCredentials.length)
    throw new AirlockError('AIRLOCK_CREDENTIAL_INVALID', `refusing to start: ${badCredentials.join('; ')}`)
  const metrics = createMetrics()
  const upstream = createNodeUpstream({ connectTimeoutMs: config.limits.connect_timeout_ms, ca: opts.upstreamCa })
  for (const unset of unsetCredentials(config, secrets))
    logger.warn({ event: 'config', route: unset.route, env: unset.env }, unsetCredentialMessage(unset))
  const policy = new PolicyFiles(config.policy.dir, logger)
  await policy.reload()
  if (config.policy.watch) policy.watch()
  // The shadow policy loads and reloads like the main one; failing to load it only means no shadow decisions.
  const shadowFiles = config.policy.shadow ? new PolicyFiles(config.policy.shadow.dir, logger, 'shadow') : undefined
  if (shadowFiles) {
    await shadowFiles.reload()
    if (config.policy.watch) shadowFiles.watch()
  }
  const shadow = shadowFiles
    ? createShadow({
        policy: shadowFiles,
        sampleRate: config.policy.shadow!.sample_rate,
        defaults: { timeout_s: config.holds.timeout_s, sample_rate: config.review.sample_rate },
        observe: (enforced, shadowAction) => metrics.shadow(enforced, shadowAction),
      })
    : undefined

  const clock = opts.clock ?? systemClock
  // SQLite in data_dir, or a PostgreSQL shared with other gateways (store.kind); unreachable at start: refuse to start.
  const db = await openStore(config, secrets)
  const { pg } = db
  const holds = new HoldService({
    config,
    store: db.store,
    ...(pg && config.store.kind === 'postgres'
      ? { shared: { pollMs: config.store.poll_ms, orphanedExecutions: () => pg.orphanedExecutions() } }
      : {}),
    upstream,
    secrets,
    logger,
    metrics,
    clock,
    webhookFetch: upstream.webhookFetch,
    slackApi: webClientSlackApi,
    ...(opts.random ? { random: opts.random } : {}),
  })
  // Another gateway's approval, denial or send wakes the agents waiting here (LISTEN/NOTIFY; polling covers a gap).
  if (pg) await pg.listen((id) => holds.wake(id))
  await holds.recover()
  // Expiry, webhook retries and approved-but-unsent holds are driven by one timer (an alarm on Workers).
  let ticking = false
  const ticker = setInterval(() => {
    if (ticking) return
    ticking = true
    holds
      .tick()
      .catch((err) => logger.error({ event: 'tick', error: String(err) }, 'holds tick failed'))
      .finally(() => (ticking = false))
  }, opts.tickMs ?? 1000)
  ticker.unref()
  void holds.tick()

  type Env = { incoming: IncomingMessage }
  const deps = {
    // A shared store shares the per-agent rate buckets too (else each process keeps its own: MemoryRateCounter).
    ...(pg ? { rates: new PgRateCounter(pg.pool) } : {}),
    holds: await createHoldGate(holds, config, secrets, logger, {
      clientAddress: (_req: Request, env: unknown) => (env as Env | undefined)?.incoming?.socket?.remoteAddress,
    }),
    config,
    policy,
    shadow,
    upstream,
    secrets,
    logger,
    metrics,
    clock,
    clientAddress: (_req: Request, env: unknown) => (env as Env | undefined)?.incoming?.socket?.remoteAddress,
    localPort: (_req: Request, env: unknown) => (env as Env | undefined)?.incoming?.socket?.localPort,
    routes: (app: Hono) => {
      app.get('/metrics', async (c) =>
        c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType }),
      )
    },
  }
  const pipeline = await createPipeline(deps)
  const app = await createGateway(deps, pipeline)

  const leaves = ca ? new LeafCache(ca) : undefined
  const proxy = createForwardProxy({ config, pipeline, app, logger, metrics, leaves })
  // An absolute-form request target (RFC 9112 §3.2.2) is a forward-proxy request; origin-form goes to the routes.
  const dispatch = async (request: Request, env: Env) =>
    singleWrite(
      await (/^https?:\/\//i.test(env.incoming.url ?? '') ? proxy.fetch(request, env) : app.fetch(request, env)),
    )

  // Slow clients (slowloris, stalled uploads) hold a socket and, for a body, buffered bytes: Node answers 408 and
  // closes the connection when the headers (headersTimeout) or the whole request (requestTimeout) take too long. A
  // request that has arrived in full is no longer timed, so a held request may wait for its approval.
  const { header_timeout_ms, body_timeout_ms } = config.limits
  const serverOptions = {
    headersTimeout: header_timeout_ms,
    requestTimeout: body_timeout_ms,
    // How often Node checks those timeouts (default 30 s, which would stretch short timeouts by up to that much).
    connectionsCheckingInterval: Math.min(1000, Math.ceil(header_timeout_ms / 2)),
  }
  const opened: ServerType[] = []
  const listen = (port: number, what: string): Promise<ServerType> =>
    new Promise<ServerType>((resolve, reject) => {
      // noDelay (Node's default, stated): a proxy's small answers must not wait for the agent's ACK (Nagle).
      const s = serve(
        {
          fetch: dispatch as never,
          hostname: config.server.host,
          port,
          serverOptions: { ...serverOptions, noDelay: true },
        },
        () => resolve(s),
      )
      // Past it, new connections are closed on accept (net.Server#maxConnections); tunnels count until they close.
      Object.assign(s, { maxConnections: config.limits.max_connections })
      opened.push(s)
      s.once('error', (err) => reject(listenError(err, config.server.host, port, what)))
      s.on('connect', proxy.connect)
    })
  let server: ServerType
  let routeServers: ServerType[]
  try {
    server = await listen(opts.port ?? config.server.port, 'the gateway')
    routeServers = await Promise.all(
      config.routes.filter((r) => r.port !== undefined).map((r) => listen(r.port!, `route "${r.name}"`)),
    )
  } catch (err) {
    // Nothing half-started stays behind: the caller exits at once, and the database is closed, not held open.
    for (const s of opened) s.close()
    proxy.close()
    policy.close()
    clearInterval(ticker)
    await holds.drain()
    await upstream.close()
    await db.close()
    throw err
  }
  const port = (server.address() as AddressInfo).port
  const url = `http://${config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host}:${port}`
  logger.info(
    {
      event: 'started',
      url,
      policy_revision: policy.current()?.revision ?? null,
      routes: config.routes.map((r) => r.prefix ?? r.name),
      route_ports: config.routes.filter((r) => r.port !== undefined).map((r) => r.port),
      proxy: config.proxy.enabled ? { intercept: intercepts } : false,
    },
    'airlock listening',
  )

  let closing: Promise<void> | undefined
  return {
    url,
    port,
    app,
    policy,
    holds,
    caCert: ca?.certPem,
    leaves,
    close() {
      closing ??= (async () => {
        policy.close()
        shadowFiles?.close()
        // Stop accepting, let in-flight requests finish (holds waiting for approval stay stored), then cut the rest.
        // Tunnels and intercepted connections left the http server at CONNECT, so they are cut with the rest.
        const servers = [server, ...routeServers]
        const closed = Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
        const http = servers as unknown as { closeIdleConnections?(): void; closeAllConnections?(): void }[]
        for (const h of http) h.closeIdleConnections?.()
        const force = setTimeout(() => {
          for (const h of http) h.closeAllConnections?.()
          proxy.close()
        }, opts.shutdownGraceMs ?? 10_000)
        await closed
        clearTimeout(force)
        proxy.close()
        clearInterval(ticker)
        await holds.drain() // an approved hold mid-send finishes and is recorded, rather than becoming outcome_unknown
        await upstream.close()
        await db.close()
      })()
      return closing
    },
  }
}
