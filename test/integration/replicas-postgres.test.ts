// Several gateways, one PostgreSQL (issue 15): real `airlock start` processes, a real throwaway PostgreSQL
// (test/support/postgres.ts), real compiled Rego, a loopback upstream and a webhook receiver that count what reaches
// them. Each scenario proves one guarantee of docs/approvals.md across replicas.
import { type ChildProcess, spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildPolicy } from '../../gateway/node/toolchain/build.ts'
import { repoRoot } from '../../gateway/node/toolchain/opa.ts'
import { approverTokens, keys, policySource, testApprovers, testSecrets } from '../support/gateway.ts'
import { type GatewayProcess, startGatewayProcess } from '../support/gateway-process.ts'
import { HOLD_RULES } from '../support/holds-policy.ts'
import { type PgCluster, startPostgres } from '../support/postgres.ts'
import { startUpstream, type TestUpstream } from '../support/upstream.ts'

let cluster: PgCluster
let upstream: TestUpstream
let receiver: TestUpstream
let policyDir: string
const children: ChildProcess[] = []
const HOOK_SECRET = 'whsec-replicas-test-secret-value'

beforeAll(async () => {
  cluster = await startPostgres()
  upstream = await startUpstream((req, res) => {
    if (req.body.toString().includes('hang')) return // never answers: the gateway is killed mid-call
    res.writeHead(201, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ created: true, echo: req.body.toString() }))
  })
  receiver = await startUpstream((req, res) => {
    if (
      req.body.toString().includes('slow-hook') &&
      receiver.received.filter((r) => r.body.toString().includes('slow-hook')).length === 1
    )
      return
    res.writeHead(204)
    res.end()
  })
  policyDir = mkdtempSync(join(tmpdir(), 'airlock-replicas-policy-'))
  await buildPolicy(policySource({ 'holdtest.rego': HOLD_RULES }), policyDir)
})
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL')
  await upstream?.close()
  await receiver?.close()
  cluster?.stop()
})

/** A config for gateways sharing the database at `url` (each process gets its own data_dir: it needs none). */
function writeConfig(url: string, over: { poll_ms?: number } = {}): { path: string; env: Record<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-replicas-'))
  const path = join(dir, 'airlock.json')
  writeFileSync(
    path,
    JSON.stringify({
      server: { host: '127.0.0.1', port: 0 },
      data_dir: join(dir, 'data'),
      store: {
        kind: 'postgres',
        url_env: 'AIRLOCK_DATABASE_URL',
        delivery_lease_s: 15,
        poll_ms: over.poll_ms ?? 1_000,
      },
      policy: { dir: policyDir, watch: false },
      log: { level: 'info', decision_input: false },
      agents: [
        { id: 'billing-bot', owner: 'alice@example.com', key_env: 'TEST_KEY_BILLING' },
        { id: 'dev-bot', owner: 'bob@example.com', key_env: 'TEST_KEY_DEV', limits: { rate_per_minute: 1, burst: 3 } },
      ],
      routes: [{ name: 'api', prefix: '/api', upstream: upstream.url, allow_private: true, timeout_ms: 60_000 }],
      approver_groups: {
        ops: {
          max_pending: 100,
          max_grant_minutes: 30,
          webhooks: [{ url: `${receiver.url}/hook`, secret_env: 'HOOK_SECRET', allow_private: true }],
        },
        payments: {},
      },
      approvers: testApprovers,
    }),
  )
  return { path, env: { AIRLOCK_DATABASE_URL: url, HOOK_SECRET } }
}

type Gateway = GatewayProcess

/** Starts `airlock start` as its own process and resolves with its URL once it listens. */
const startGateway = (cfg: { path: string; env: Record<string, string> }): Promise<Gateway> =>
  startGatewayProcess({ configPath: cfg.path, env: cfg.env, children })

const post = (g: Gateway, marker: string, prefer = 'respond-async') =>
  fetch(`${g.url}/api/hold`, {
    method: 'POST',
    headers: { 'airlock-agent-key': keys.billing, 'content-type': 'application/json', prefer },
    body: JSON.stringify({ marker }),
  })
const api = (g: Gateway, path: string, body?: object, who: keyof typeof approverTokens = 'bob') =>
  fetch(`${g.url}/_airlock/api${path}`, {
    method: body ? 'POST' : 'GET',
    headers: { authorization: `Bearer ${approverTokens[who]}` },
    ...(body ? { body: JSON.stringify(body) } : {}),
  })
const count = (server: TestUpstream, marker: string) =>
  server.received.filter((r) => r.body.toString().includes(marker)).length
const hooks = (marker: string, event: string) =>
  receiver.received.filter((r) => r.headers['airlock-event'] === event && r.body.toString().includes(marker)).length
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const until = async (pred: () => boolean | Promise<boolean>, ms = 20_000) => {
  const end = Date.now() + ms
  while (!(await pred())) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await sleep(50)
  }
}
const kill9 = async (g: Gateway) => {
  g.child.kill('SIGKILL')
  if (g.child.exitCode === null) await new Promise((r) => g.child.once('exit', r))
}

describe('three gateways sharing one PostgreSQL', () => {
  let gateways: Gateway[]
  let cfg: { path: string; env: Record<string, string> }
  beforeAll(async () => {
    // poll_ms far above the latencies asserted below: an answer within them came by LISTEN/NOTIFY.
    cfg = writeConfig(await cluster.createDatabase(), { poll_ms: 10_000 })
    gateways = await Promise.all([0, 1, 2].map(() => startGateway(cfg)))
  }, 60_000)
  afterAll(async () => {
    await Promise.all((gateways ?? []).map(kill9))
  })

  it('50 identical concurrent requests spread across them: one hold, one webhook', async () => {
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => post(gateways[i % 3]!, 'fifty')))
    expect(answers.map((r) => r.status)).toEqual(Array(50).fill(202))
    const ids = new Set(answers.map((r) => r.headers.get('airlock-hold-id')))
    expect(ids.size).toBe(1)
    await until(() => hooks('fifty', 'hold.created') === 1)
    await sleep(1_500) // every gateway ticks (and would deliver) at least once more
    expect(hooks('fifty', 'hold.created')).toBe(1)
    const listed = await (await api(gateways[2]!, '/holds?state=pending')).json()
    expect(listed.holds.filter((h: { id: string }) => ids.has(h.id))).toHaveLength(1)
  })

  it('a grant with max_uses 5, 20 concurrent requests spread across them: exactly 5 forwarded, the rest held', async () => {
    const send = (g: Gateway, marker: string) =>
      fetch(`${g.url}/api/granted`, {
        method: 'POST',
        headers: { 'airlock-agent-key': keys.billing, 'content-type': 'application/json', prefer: 'respond-async' },
        body: JSON.stringify({ customer: 'cus_pg', marker, n: Math.random() }),
      })
    const held = await send(gateways[0]!, 'grant-origin')
    expect(held.status).toBe(202)
    const approved = await api(gateways[1]!, `/holds/${held.headers.get('airlock-hold-id')}/approve`, {
      grant: { minutes: 10, max_uses: 5, bounds: { same: ['customer'] } },
    })
    expect(approved.status).toBe(200)
    const grantId = (await approved.json()).grant.id as string
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => send(gateways[i % 3]!, 'grant-burst')))
    expect(answers.filter((r) => r.status === 201)).toHaveLength(5)
    expect(answers.filter((r) => r.status === 202)).toHaveLength(15)
    expect(count(upstream, 'grant-burst')).toBe(5)
    const audit = (await (await api(gateways[2]!, '/audit', undefined, 'carol')).json()).records as {
      type: string
      record: { grant_id?: string }
    }[]
    expect(audit.filter((r) => r.type === 'grant.used' && r.record.grant_id === grantId)).toHaveLength(5)
    // A revoke on one gateway is in force at once on the others (nothing about a grant is cached in a process).
    const again = await send(gateways[0]!, 'grant-origin-2')
    const second = await api(gateways[1]!, `/holds/${again.headers.get('airlock-hold-id')}/approve`, {
      grant: { minutes: 10, max_uses: 100 },
    })
    const secondId = (await second.json()).grant.id as string
    expect((await send(gateways[2]!, 'grant-live')).status).toBe(201)
    expect((await api(gateways[0]!, `/grants/${secondId}/revoke`, {})).status).toBe(200)
    expect((await send(gateways[2]!, 'grant-after-revoke')).status).toBe(202)
    expect(count(upstream, 'grant-after-revoke')).toBe(0)
  })

  it('10 concurrent approvals spread across them: one execution', async () => {
    const id = (await post(gateways[0]!, 'ten-approvals')).headers.get('airlock-hold-id')!
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        api(gateways[i % 3]!, `/holds/${id}/approve`, { comment: 'ok' }, i % 2 ? 'bob' : 'carol'),
      ),
    )
    expect(results.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(1)
    expect(results.every((r) => r.status === 200 || r.status === 409)).toBe(true)
    await until(async () => (await (await api(gateways[1]!, `/holds/${id}`)).json()).state === 'executed')
    await sleep(1_500) // every gateway ticks past the approved hold at least once more
    expect(count(upstream, 'ten-approvals')).toBe(1)
  })

  it('an agent waiting on one gateway is answered when the approval lands on another', async () => {
    const waiting = post(gateways[0]!, 'waiting-agent', 'wait=20')
    await sleep(300)
    // The same request on another gateway joins the hold the waiting one created, and says its id.
    const joined = await post(gateways[1]!, 'waiting-agent')
    expect(joined.status).toBe(202)
    const id = joined.headers.get('airlock-hold-id')!
    const approvedAt = Date.now()
    expect((await api(gateways[2]!, `/holds/${id}/approve`, { comment: 'go' })).status).toBe(200)
    const res = await waiting
    const latency = Date.now() - approvedAt
    expect(res.status).toBe(201)
    expect(await res.json()).toMatchObject({ created: true })
    expect(latency).toBeLessThan(5_000) // well under poll_ms (10 s): the notification woke it
  })

  it("an agent's rate limit holds across them (one bucket in the database, not one per gateway)", async () => {
    const answers = await Promise.all(
      Array.from({ length: 9 }, (_, i) =>
        fetch(`${gateways[i % 3]!.url}/api/read`, { headers: { 'airlock-agent-key': keys.dev } }),
      ),
    )
    expect(answers.filter((r) => r.status === 201)).toHaveLength(3)
    expect(answers.filter((r) => r.status === 429)).toHaveLength(6)
  })

  it('the audit chain verifies after concurrent appends from all three; airlock audit verify and report read it', async () => {
    await Promise.all(Array.from({ length: 12 }, (_, i) => post(gateways[i % 3]!, `audit-${i}`)))
    for (const g of gateways) {
      const v = await (await api(g, '/audit/verify')).json()
      expect(v).toMatchObject({ ok: true })
      expect(v.records).toBeGreaterThanOrEqual(12)
    }

    // The command line reads the same database the config names.
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [join(repoRoot, 'gateway/node/bin.ts'), ...args, '--config', cfg.path], {
        env: { ...process.env, ...testSecrets, ...cfg.env },
        encoding: 'utf8',
      })
    const verify = cli('audit', 'verify')
    expect(verify.status, verify.stderr).toBe(0)
    expect(verify.stdout).toMatch(/^audit log ok: \d+ records/)
    const report = cli('report', '--json')
    expect(report.status, report.stderr).toBe(0)
    expect(
      JSON.parse(report.stdout).rules.find((r: { rule: string }) => r.rule === 't.hold').holds,
    ).toBeGreaterThanOrEqual(12)
  })
})

describe('faults', () => {
  it('kill -9 of the gateway delivering a webhook or sending a request: another delivers once; the send is never repeated', async () => {
    const cfg = writeConfig(await cluster.createDatabase())
    const a = await startGateway(cfg)
    // Only a is up: it claims the delivery, and the receiver never answers it.
    const id = (await post(a, 'slow-hook')).headers.get('airlock-hold-id')!
    await until(() => count(receiver, 'slow-hook') === 1)
    // And a request a is sending when it dies.
    const sending = (await post(a, 'hang-exec')).headers.get('airlock-hold-id')!
    expect((await api(a, `/holds/${sending}/approve`, {})).status).toBe(200)
    await until(() => count(upstream, 'hang-exec') === 1)
    const b = await startGateway(cfg)
    await kill9(a)
    // b sends the delivery once the lease (15 s) runs out, and marks a's unfinished send outcome_unknown.
    await until(() => count(receiver, 'slow-hook') === 2, 40_000)
    await until(async () => (await (await api(b, `/holds/${sending}`)).json()).state === 'outcome_unknown')
    await sleep(2_000)
    expect(count(receiver, 'slow-hook')).toBe(2) // the one a never finished, then b's: no third
    expect(
      receiver.received.filter((r) => r.body.toString().includes(id)).map((r) => r.headers['airlock-event']),
    ).toEqual(['hold.created', 'hold.created'])
    expect(count(upstream, 'hang-exec')).toBe(1)
    await kill9(b)
  }, 90_000)

  it('the database stopped and restarted during traffic: holds refused meanwhile, nothing lost, service resumes', async () => {
    const cfg = writeConfig(await cluster.createDatabase())
    const [a, b] = await Promise.all([startGateway(cfg), startGateway(cfg)])
    const before = (await post(a, 'before-outage')).headers.get('airlock-hold-id')!
    cluster.pause()
    try {
      const refused = await post(b, 'during-outage')
      expect(refused.status).toBe(503)
      expect((await refused.json()).error.code).toBe('AIRLOCK_STORE_ERROR')
      // Allowed traffic does not need the store: it flows.
      const read = await fetch(`${a.url}/api/read`, { headers: { 'airlock-agent-key': keys.billing } })
      expect(read.status).toBe(201)
    } finally {
      cluster.start()
    }
    await until(async () => (await post(b, 'after-outage')).status === 202)
    const kept = await (await api(b, `/holds/${before}`)).json()
    expect(kept.state).toBe('pending')
    expect((await api(b, `/holds/${before}/approve`, {})).status).toBe(200)
    await until(() => count(upstream, 'before-outage') === 1)
    const v = await (await api(a, '/audit/verify')).json()
    expect(v).toMatchObject({ ok: true })
    // Neither gateway stopped: they reconnected on their own.
    expect([a.child.exitCode, b.child.exitCode], a.output() + b.output()).toEqual([null, null])
    await Promise.all([kill9(a), kill9(b)])
  }, 90_000)
})
