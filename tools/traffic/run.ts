// Drives a real gateway (Node adapter, compiled Rego, loopback upstream, SQLite holds) with the seeded traffic mix
// and simulated approvers, recording every decision log line with its input, and measures what it produced: the
// share of requests decided by policy alone and the load on each approver group.
//
// Time is simulated: the gateway runs on a clock the generator advances, so `--days 1` spreads the requests over one
// day of decision timestamps and hold ages (replay's "holds per day" then means a day) while the run itself takes
// seconds. Approvers look at a hold a few simulated minutes after it appears, read it, and decide.
//
//   node tools/traffic/run.ts [--seed 1] [--requests 5000] [--days 1] [--policy build/policy] [--shadow DIR] [--out traffic-run]
import { mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { pino } from 'pino'
import { type Config, type ConfigInput, configSchema } from '../../gateway/core/config/schema.ts'
import { createLogger } from '../../gateway/node/logger.ts'
import { startGateway } from '../../gateway/node/server.ts'
import { startUpstream, type TestUpstream } from '../../test/support/upstream.ts'
import { prng, TRAFFIC_AGENTS, type TrafficRequest, trafficMix } from './mix.ts'

export interface TrafficOptions {
  seed: number
  requests: number
  /** Simulated days the requests are spread over. */
  days: number
  /** A compiled policy folder (airlock policy build --out). */
  policyDir: string
  /** Where the decision log (decisions.jsonl), the holds database (data/airlock.db) and summary.json go. */
  outDir: string
  /** Approver groups' max_pending (default 20, as in config/airlock.yaml). */
  maxPending?: number
  /** When the simulated day starts (ms since the epoch). */
  startMs?: number
  /** A compiled candidate policy run as policy.shadow beside the enforced one. */
  shadowDir?: string
}

export interface TrafficSummary {
  seed: number
  requests: number
  days: number
  policy_revision: string
  /** Decisions logged (requests plus the agents' retries). */
  decisions: number
  by_action: Record<string, number>
  by_rule: Record<string, number>
  by_kind: Record<string, number>
  /** Requests that needed no person: every decision but hold. */
  decided_by_policy_alone: number
  /** decided_by_policy_alone / decisions: retries of a held request count as requests a person had to see. */
  share_decided_by_policy_alone: number
  /** 1 - holds created / requests sent (first attempts): how many of the agents' requests reached a person. */
  share_of_requests_without_a_person: number
  holds_created: number
  holds_by_group: Record<string, number>
  holds_per_day: Record<string, number>
  human_decisions: { approved: number; denied: number; expired: number; pending: number }
  approvers: Record<string, { approved: number; denied: number }>
  upstream_calls: number
  log: string
  database: string
  wall_ms: number
}

const APPROVERS = [
  { id: 'pat', email: 'pat@example.com', groups: ['payments', 'ops'], token_env: 'TRAFFIC_APPROVER_PAT' },
  { id: 'eli', email: 'eli@example.com', groups: ['engineering', 'security'], token_env: 'TRAFFIC_APPROVER_ELI' },
  { id: 'cam', email: 'cam@example.com', groups: ['comms', 'ops'], token_env: 'TRAFFIC_APPROVER_CAM' },
] as const
const GROUPS = ['payments', 'engineering', 'comms', 'security', 'ops'] as const

/** How often approvers say yes, by rule (the rest they deny); rules not listed: 0.9. */
const APPROVE_RATE: Record<string, number> = {
  'stripe.refund_large': 0.92,
  'stripe.payout': 0.75,
  'stripe.amount_unreadable': 0.2,
  'github.pr_merge': 0.97,
  'github.contents_write': 0.6,
  'slack.mass_mention': 0.8,
  'mail.mass_send': 0.5,
}

export function trafficConfig(
  upstream: string,
  policyDir: string,
  dataDir: string,
  maxPending = 20,
  shadowDir?: string,
): Config {
  const route = (name: string) => ({
    name,
    prefix: `/${name}`,
    upstream,
    allow_private: true,
    agent_key: ['header', 'bearer'] as ('header' | 'bearer')[],
  })
  const input: ConfigInput = {
    data_dir: dataDir,
    policy: { dir: policyDir, watch: false, ...(shadowDir ? { shadow: { dir: shadowDir } } : {}) },
    log: { level: 'info', decision_input: true },
    holds: { wait_s: 0, timeout_s: 3600 },
    review: { sample_rate: 0.1 },
    agents: TRAFFIC_AGENTS.map((id) => ({ id, owner: `${id}-owner@example.com`, key_env: envKey(id) })),
    routes: ['stripe', 'github', 'slack', 'mail', 'httpbin'].map(route),
    approver_groups: Object.fromEntries(GROUPS.map((g) => [g, { max_pending: maxPending }])),
    approvers: APPROVERS.map((a) => ({ ...a, groups: [...a.groups] })),
  }
  return configSchema.parse(input)
}

const envKey = (agent: string) => `TRAFFIC_KEY_${agent.replace(/\W/g, '_').toUpperCase()}`
const agentKey = (agent: string) => `traffic-${agent}-key`

export const trafficSecrets: Record<string, string> = {
  ...Object.fromEntries(TRAFFIC_AGENTS.map((a) => [envKey(a), agentKey(a)])),
  ...Object.fromEntries(APPROVERS.map((a) => [a.token_env, `traffic-${a.id}-token`])),
}

interface PendingDecision {
  holdId: string
  at: number
}

export async function runTraffic(opts: TrafficOptions): Promise<TrafficSummary> {
  const wallStart = performance.now()
  mkdirSync(opts.outDir, { recursive: true })
  const logPath = join(opts.outDir, 'decisions.jsonl')
  const dataDir = join(opts.outDir, 'data')
  // One random stream per concern, so a different policy (more holds, other retries) sends the same requests at the
  // same times: replay's prediction can then be compared with a real run of the candidate.
  const arrivals = prng(opts.seed ^ 0xa441)
  const flakiness = prng(opts.seed ^ 0xf1a4)
  const r = prng(opts.seed ^ 0x5eed)
  // The upstream fails now and then (a 503 or a 429), which makes agents retry: seeded, like everything else.
  const upstream: TestUpstream = await startUpstream((req, res) => {
    const flaky = flakiness() < 0.01
    res.writeHead(flaky ? pick503(flakiness) : 200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ ok: !flaky, method: req.method, url: req.url }))
  })
  let now = opts.startMs ?? Date.UTC(2026, 10, 2, 0, 0, 0)
  const clock = { now: () => now }
  const dest = pino.destination({ dest: logPath, sync: false, minLength: 8 * 1024, mkdir: true })
  const logger = createLogger('info', dest)
  const config = trafficConfig(
    upstream.url,
    resolve(opts.policyDir),
    dataDir,
    opts.maxPending,
    opts.shadowDir ? resolve(opts.shadowDir) : undefined,
  )
  const sampling = prng(opts.seed ^ 0x5a3b)
  const gw = await startGateway({
    config,
    logger,
    clock,
    secrets: (n) => trafficSecrets[n],
    port: 0,
    shutdownGraceMs: 100,
    tickMs: 3_600_000,
    random: sampling,
  })
  const revision = gw.policy.current()?.revision ?? ''
  const byKind: Record<string, number> = {}
  const queue: PendingDecision[] = []
  const approvers: TrafficSummary['approvers'] = {}
  const gap = (opts.days * 86_400_000) / opts.requests

  const send = (t: TrafficRequest) =>
    fetch(gw.url + t.path, {
      method: t.method,
      headers: { 'airlock-agent-key': agentKey(t.agent), prefer: 'respond-async', ...t.headers },
      ...(t.body !== undefined ? { body: t.body } : {}),
    })

  // Approvers work through the holds that have waited long enough: view (the approver API), read, decide.
  const decideDue = async () => {
    while (queue.length && queue[0]!.at <= now) {
      const { holdId } = queue.shift()!
      const hold = await gw.holds.store.get(holdId)
      if (hold?.state !== 'pending') continue
      const approver = APPROVERS.find((a) => a.groups.some((g) => hold.groups.includes(g)))!
      const token = trafficSecrets[approver.token_env]!
      const api = (path: string, body?: object) =>
        fetch(`${gw.url}/_airlock/api/holds/${holdId}${path}`, {
          method: body ? 'POST' : 'GET',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          ...(body ? { body: JSON.stringify(body) } : {}),
        })
      const viewed = (await (await api('')).json()) as { context_sha256: string }
      const saved = now
      now += 20_000 + Math.floor(r() * 100_000) // reading it
      const verb = r() < (APPROVE_RATE[hold.decision.rule] ?? 0.9) ? 'approve' : 'deny'
      const res = await api(`/${verb}`, {
        comment: `${verb}d by the traffic generator's ${approver.id}`,
        context_sha256: viewed.context_sha256,
      })
      now = saved
      if (res.ok) {
        const a = (approvers[approver.id] ??= { approved: 0, denied: 0 })
        if (verb === 'approve') a.approved++
        else a.denied++
      }
      await res.arrayBuffer()
    }
  }

  let i = 0
  let arrival = now
  for (const t of trafficMix(opts.seed, opts.requests)) {
    arrival += Math.max(1, Math.round(-Math.log(1 - arrivals()) * gap))
    now = Math.max(now, arrival)
    await decideDue()
    byKind[t.kind] = (byKind[t.kind] ?? 0) + 1
    const first = await send(t)
    await first.arrayBuffer()
    const holdId = first.status === 202 ? first.headers.get('airlock-hold-id') : null
    if (holdId) queue.push({ holdId, at: now + 60_000 + Math.floor(r() * 15 * 60_000) })
    // Agents retry an upstream failure once; agents that do not poll send a held request again (it joins the hold).
    const again = first.status === 503 || first.status === 429 ? 1 : holdId ? t.retries : 0
    for (let k = 0; k < again; k++) {
      now += 1000 + Math.floor(r() * 5000)
      await (await send(t)).arrayBuffer()
    }
    if (++i % 1000 === 0 && process.stderr.isTTY) process.stderr.write(`\r${i}/${opts.requests} requests`)
  }
  // The approvers work through what is left, each hold at its own time.
  while (queue.length) {
    now = Math.max(now, queue[0]!.at)
    await decideDue()
  }
  await gw.holds.tick() // expire what nobody decided
  if (process.stderr.isTTY) process.stderr.write('\n')

  const holds = await gw.holds.store.all()
  await gw.close()
  await upstream.close()
  dest.flushSync()
  dest.end()

  const summary = await summarise(logPath, holds, opts, revision, byKind, approvers, upstream.received.length)
  summary.wall_ms = Math.round(performance.now() - wallStart)
  writeFileSync(join(opts.outDir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n')
  return summary
}

const pick503 = (r: () => number) => (r() < 0.5 ? 503 : 429)

async function summarise(
  logPath: string,
  holds: ReturnType<import('../../gateway/core/holds/store.ts').HoldStore['all']>,
  opts: TrafficOptions,
  revision: string,
  byKind: Record<string, number>,
  approvers: TrafficSummary['approvers'],
  upstreamCalls: number,
): Promise<TrafficSummary> {
  const { createReadStream } = await import('node:fs')
  const { createInterface } = await import('node:readline')
  const byAction: Record<string, number> = {}
  const byRule: Record<string, number> = {}
  let decisions = 0
  for await (const text of createInterface({ input: createReadStream(logPath), crlfDelay: Infinity })) {
    if (!text.includes('"msg":"decision"')) continue
    const line = JSON.parse(text) as { action?: string; rule?: string; error_code?: string }
    decisions++
    const action = line.action ?? 'error'
    byAction[action] = (byAction[action] ?? 0) + 1
    if (line.rule) byRule[line.rule] = (byRule[line.rule] ?? 0) + 1
  }
  const human = { approved: 0, denied: 0, expired: 0, pending: 0 }
  const perGroup: Record<string, number> = {}
  for (const h of holds) {
    if (h.state === 'denied') human.denied++
    else if (h.state === 'expired') human.expired++
    else if (h.state === 'pending') human.pending++
    else human.approved++
    for (const g of h.groups) perGroup[g] = (perGroup[g] ?? 0) + 1
  }
  const alone = decisions - (byAction.hold ?? 0)
  return {
    seed: opts.seed,
    requests: opts.requests,
    days: opts.days,
    policy_revision: revision,
    decisions,
    by_action: byAction,
    by_rule: Object.fromEntries(Object.entries(byRule).sort((a, b) => b[1] - a[1])),
    by_kind: Object.fromEntries(Object.entries(byKind).sort((a, b) => b[1] - a[1])),
    decided_by_policy_alone: alone,
    share_decided_by_policy_alone: decisions ? Math.round((alone / decisions) * 10000) / 10000 : 0,
    share_of_requests_without_a_person: Math.round((1 - holds.length / opts.requests) * 10000) / 10000,
    holds_created: holds.length,
    holds_by_group: perGroup,
    holds_per_day: Object.fromEntries(
      Object.entries(perGroup).map(([g, n]) => [g, Math.round((n / opts.days) * 10) / 10]),
    ),
    human_decisions: human,
    approvers,
    upstream_calls: upstreamCalls,
    log: logPath,
    database: join(opts.outDir, 'data', 'airlock.db'),
    wall_ms: 0,
  }
}

function flags(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (!a.startsWith('--'))
      throw new Error(
        `unexpected argument "${a}" (flags are --seed, --requests, --days, --policy, --shadow, --out, --max-pending)`,
      )
    const v = argv[i + 1]
    if (v === undefined || v.startsWith('--')) throw new Error(`${a} needs a value`)
    out[a.slice(2)] = v
    i++
  }
  return out
}

const USAGE = `usage: npm run traffic -- [--seed 1] [--requests 5000] [--days 1] [--policy build/policy] [--shadow DIR]
                           [--out traffic-run] [--max-pending 20]

Sends a seeded day of agent traffic through a real gateway (compiled policy from --policy, loopback upstream,
simulated approvers) and writes decisions.jsonl, data/airlock.db and summary.json under --out. --shadow runs a
compiled candidate as policy.shadow. Prints the summary as JSON.
`

if (import.meta.url === `file://${process.argv[1]}`) {
  const argv = process.argv.slice(2)
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE)
    process.exit(0)
  }
  let f: Record<string, string>
  try {
    f = flags(argv)
    const known = ['seed', 'requests', 'days', 'policy', 'shadow', 'out', 'max-pending']
    for (const k of Object.keys(f))
      if (!known.includes(k)) throw new Error(`unknown flag --${k} (known: ${known.map((x) => '--' + x).join(', ')})`)
  } catch (err) {
    // A usage mistake is a message and exit 1, not a stack trace.
    process.stderr.write(`traffic: ${(err as Error).message}\n\n${USAGE}`)
    process.exit(1)
  }
  const summary = await runTraffic({
    seed: Number(f.seed ?? 1),
    requests: Number(f.requests ?? 5000),
    days: Number(f.days ?? 1),
    policyDir: f.policy ?? 'build/policy',
    outDir: f.out ?? 'traffic-run',
    ...(f['max-pending'] ? { maxPending: Number(f['max-pending']) } : {}),
    ...(f.shadow ? { shadowDir: f.shadow } : {}),
  })
  process.stdout.write(JSON.stringify(summary, null, 2) + '\n')
}
