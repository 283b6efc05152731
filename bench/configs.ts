// The configurations compared, each started the same way for every run: its processes pinned to the system-under-
// test CPU, ready when it answers, stopped after. The upstream and the load generator are shared and sit on the
// load CPU for all of them (see layout in procs.ts).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse, stringify } from 'yaml'
import type { ConfigInput } from '../gateway/core/config/schema.ts'
import { repoRoot } from '../gateway/node/toolchain/opa.ts'
import type { Tools } from './env.ts'
import { proxyConf, startNginx } from './nginx.ts'
import { BENCH_CONFIG, buildPolicyDir, copyPolicy, generateLargePolicy, POLICIES } from './policy-gen.ts'
import { freePort, layout, NODE, type Proc, start, startReady, waitForOk, waitForPort } from './procs.ts'
import { startSmokescreen } from './smokescreen.ts'

export const AGENT_KEY = 'bench-agent-key'
export const HEADERS = { 'Airlock-Agent-Key': AGENT_KEY }
/** The allow path: a GET the example policy allows (demo.read). Sent, with the key, to every configuration. */
export const ALLOW = { method: 'GET', path: '/httpbin/anything/bench' }
/** The deny path: a POST no rule allows (airlock.default_deny → 403). Only for configurations with a policy. */
export const DENY = {
  method: 'POST',
  path: '/httpbin/anything/transfer',
  body: '{"amount":5000,"currency":"usd","to":"acct_1"}',
}

const BARE_PROXY = fileURLToPath(new URL('./bare-proxy.ts', import.meta.url))
const AIRLOCK_BIN = join(repoRoot, 'gateway/node/bin.ts')
const GUARD = fileURLToPath(new URL('./uncaught-guard.ts', import.meta.url))
/** What bench/uncaught-guard.ts prints for each exception it caught. */
const UNCAUGHT_MARKER = 'AIRLOCK_BENCH_UNCAUGHT'

export interface Context {
  tools: Tools
  tmp: string
  upstreamPort: number
  /** Compiled policy folders (policy.wasm, data.json, manifest.json). */
  policies: { example: string; large: string }
  /** Rego sources of the example policy, for OPA's server. */
  exampleSource: string
}

export interface Running {
  url: string
  /** Roots of the process trees whose CPU time and memory are the configuration's cost (none for direct). */
  pids: number[]
  /** Airlock's Prometheus endpoint (heap figures for the soak). */
  metricsUrl?: string
  /** Uncaught exceptions the guard kept from ending the process (Airlock only). */
  uncaught?: () => number
  /** The request target for a benchmark path, when the configuration is a forward proxy (absolute-form). */
  target?: (path: string) => string
  stop(): Promise<void>
}

export interface Configuration {
  id: string
  label: string
  /** Has a policy: the deny path answers 403. */
  policy: boolean
  /** Airlock itself (the targets are about these). */
  airlock: boolean
  start(ctx: Context): Promise<Running>
}

/**
 * The shared context of a run: one snapshot of policies/ (so the wasm builds and OPA's server use the same Rego),
 * compiled into the tmp folder, with the 1,000-rule policy when asked for.
 */
export async function prepareContext(tools: Tools, tmp: string, large: boolean): Promise<Context> {
  const ctx: Context = {
    tools,
    tmp,
    upstreamPort: await freePort(),
    policies: { example: join(tmp, 'policy-example'), large: join(tmp, 'policy-large') },
    exampleSource: join(tmp, 'src-example'),
  }
  copyPolicy(POLICIES, ctx.exampleSource)
  await buildPolicyDir(ctx.exampleSource, ctx.policies.example)
  if (large) {
    generateLargePolicy(LARGE_SOURCE(tmp), ctx.exampleSource)
    await buildPolicyDir(LARGE_SOURCE(tmp), ctx.policies.large)
  }
  return ctx
}

export const LARGE_SOURCE = (tmp: string) => join(tmp, 'src-large')

async function stopAll(procs: Proc[]): Promise<void> {
  for (const p of procs.reverse()) await p.stop()
}

async function airlock(ctx: Context, name: string, policyDir: string, level: string): Promise<Running> {
  const port = await freePort()
  const cfg = parse(readFileSync(BENCH_CONFIG, 'utf8')) as ConfigInput
  cfg.server = { ...cfg.server, port }
  cfg.data_dir = join(ctx.tmp, `data-${name}`)
  cfg.policy = { ...cfg.policy, dir: policyDir, source: ctx.exampleSource }
  cfg.log = { ...cfg.log, level: level as NonNullable<ConfigInput['log']>['level'] }
  cfg.routes![0]!.upstream = `http://127.0.0.1:${ctx.upstreamPort}`
  mkdirSync(cfg.data_dir, { recursive: true })
  const file = join(ctx.tmp, `airlock-${name}.yaml`)
  writeFileSync(file, stringify(cfg))
  // stdout (the decision log) goes to /dev/null: the cost of writing it is measured, not of storing it.
  const guard = process.env.BENCH_NO_GUARD ? [] : ['--import', GUARD]
  const extra = process.env.BENCH_NODE_OPTIONS?.split(' ').filter(Boolean) ?? [] // bench/profile.ts: --cpu-prof
  const url = `http://127.0.0.1:${port}`
  const proc = await startReady(
    `airlock (${name})`,
    NODE,
    [...extra, ...guard, AIRLOCK_BIN, 'start', '--config', file],
    { cpus: layout.sut, countMarker: UNCAUGHT_MARKER },
    `${url}/readyz`,
  )
  return { url, pids: [proc.pid], metricsUrl: `${url}/metrics`, uncaught: () => proc.marked(), stop: () => proc.stop() }
}

async function bareProxy(ctx: Context, opaUrl?: string): Promise<{ proc: Proc; url: string }> {
  const port = await freePort()
  const args = [BARE_PROXY, '--port', String(port), '--upstream', `http://127.0.0.1:${ctx.upstreamPort}`]
  if (opaUrl) args.push('--opa', opaUrl)
  const proc = start(opaUrl ? 'bare proxy + OPA' : 'bare proxy', NODE, args, { cpus: layout.sut })
  try {
    await waitForPort(port, proc)
  } catch (err) {
    await proc.stop()
    throw err
  }
  return { proc, url: `http://127.0.0.1:${port}` }
}

export const configurations: Configuration[] = [
  {
    id: 'a',
    label: 'direct to upstream',
    policy: false,
    airlock: false,
    start: async (ctx) => ({ url: `http://127.0.0.1:${ctx.upstreamPort}`, pids: [], stop: async () => {} }),
  },
  {
    id: 'b',
    label: 'bare Node undici proxy',
    policy: false,
    airlock: false,
    async start(ctx) {
      const { proc, url } = await bareProxy(ctx)
      return { url, pids: [proc.pid], stop: () => proc.stop() }
    },
  },
  {
    id: 'c',
    label: 'Airlock, example policy (log warn)',
    policy: true,
    airlock: true,
    start: (ctx) => airlock(ctx, 'example', ctx.policies.example, 'warn'),
  },
  {
    id: 'c-info',
    label: 'Airlock, example policy (log info → /dev/null)',
    policy: true,
    airlock: true,
    start: (ctx) => airlock(ctx, 'example-info', ctx.policies.example, 'info'),
  },
  {
    id: 'd',
    label: 'Airlock, 1,000-rule policy (log warn)',
    policy: true,
    airlock: true,
    start: (ctx) => airlock(ctx, 'large', ctx.policies.large, 'warn'),
  },
  {
    id: 'e',
    label: 'nginx proxy_pass',
    policy: false,
    airlock: false,
    async start(ctx) {
      const port = await freePort()
      const prefix = join(ctx.tmp, `nginx-proxy-${port}`)
      const proc = await startNginx(
        'nginx proxy',
        ctx.tools.nginx,
        prefix,
        proxyConf(prefix, port, ctx.upstreamPort),
        port,
        layout.sut,
      )
      return { url: `http://127.0.0.1:${port}`, pids: [proc.pid], stop: () => proc.stop() }
    },
  },
  {
    id: 'f',
    label: 'bare proxy + OPA sidecar (HTTP)',
    policy: true,
    airlock: false,
    async start(ctx) {
      const opaPort = await freePort()
      const opa = start(
        'opa run --server',
        ctx.tools.opa,
        [
          'run',
          '--server',
          '--addr',
          `127.0.0.1:${opaPort}`,
          '--disable-telemetry',
          '--log-level',
          'error',
          '--ignore',
          '*_test.rego',
          '--ignore',
          'capabilities.json',
          ctx.exampleSource,
        ],
        { cpus: layout.sut },
      )
      const procs = [opa]
      try {
        await waitForOk(`http://127.0.0.1:${opaPort}/health`, opa)
        const { proc, url } = await bareProxy(ctx, `http://127.0.0.1:${opaPort}`)
        procs.push(proc)
        return { url, pids: procs.map((p) => p.pid), stop: () => stopAll(procs) }
      } catch (err) {
        await stopAll(procs)
        throw err
      }
    },
  },
  {
    id: 'g',
    label: 'Stripe Smokescreen (Go), ACL allowing the upstream',
    // Its ACL refuses other hosts with 407, not Airlock's 403: the deny-path status check does not apply.
    policy: false,
    airlock: false,
    async start(ctx) {
      const { proc, url } = await startSmokescreen(
        ctx.tools.smokescreen,
        join(ctx.tmp, `smokescreen-${Date.now()}`),
        layout.sut,
      )
      // The same upstream path Airlock's route maps /httpbin/… to, as an absolute-form target.
      const target = (path: string) => `http://127.0.0.1:${ctx.upstreamPort}${path.replace(/^\/httpbin/, '')}`
      return { url, pids: [proc.pid], target, stop: () => proc.stop() }
    },
  },
]
