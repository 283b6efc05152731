// `airlock policy replay` against a recorded run of the traffic generator: its prediction for a candidate policy is
// compared with what a real run of that candidate, on the same seeded traffic, then produces.
import { appendFileSync, copyFileSync, cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Config } from '../../gateway/core/config/schema.ts'
import { ShadowTally } from '../../gateway/core/replay/shadow-tally.ts'
import { literalRuleIds, type ReplayRun, replayCommand, runReplay } from '../../gateway/node/cli-replay.ts'
import { buildPolicy } from '../../gateway/node/toolchain/build.ts'
import { repoRoot } from '../../gateway/node/toolchain/opa.ts'
import { runTraffic, type TrafficSummary, trafficConfig } from '../../tools/traffic/run.ts'

const SEED = 11
const REQUESTS = 1500

/** The example policies with a change a security engineer might propose: hold payments from $200 instead of $500, and
 * let squash merges through with a review instead of a hold. */
function candidateSource(): string {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-candidate-'))
  cpSync(resolve(repoRoot, 'policies'), dir, { recursive: true })
  const data = JSON.parse(readFileSync(join(dir, 'data.json'), 'utf8'))
  data.airlock.config.stripe.hold_amount_cents = 20000
  writeFileSync(join(dir, 'data.json'), JSON.stringify(data, null, 2))
  const github = readFileSync(join(dir, 'github.rego'), 'utf8')
  const merge = github.indexOf('hold contains {\n\t"rule": "github.pr_merge"')
  expect(merge).toBeGreaterThan(0)
  writeFileSync(
    join(dir, 'github.rego'),
    github.replace(
      '\t["repos", owner, repo, "pulls", number, "merge"] = lib.segments\n}',
      '\t["repos", owner, repo, "pulls", number, "merge"] = lib.segments\n\t_merge_method != "squash"\n}',
    ) +
      `\nreview contains {\n\t"rule": "github.squash_merge",\n\t"reason": "a squash merge goes through and is recorded for review",\n} if {\n\t_github\n\tlib.method == "PUT"\n\t["repos", _, _, "pulls", _, "merge"] = lib.segments\n\t_merge_method == "squash"\n}\n`,
  )
  return dir
}

let baseDir: string
let candidateDir: string
let candidateSrc: string
let recorded: TrafficSummary
let actual: TrafficSummary
let replay: ReplayRun
let config: Config

beforeAll(async () => {
  baseDir = mkdtempSync(join(tmpdir(), 'airlock-replay-base-'))
  candidateDir = mkdtempSync(join(tmpdir(), 'airlock-replay-candidate-'))
  candidateSrc = candidateSource()
  await Promise.all([buildPolicy(resolve(repoRoot, 'policies'), baseDir), buildPolicy(candidateSrc, candidateDir)])
  // The recorded run also runs the candidate as its shadow policy: the shadow's disagreements and replay's changes
  // are two ways of asking the same question about the same inputs.
  recorded = await runTraffic({
    seed: SEED,
    requests: REQUESTS,
    days: 1,
    policyDir: baseDir,
    shadowDir: candidateDir,
    outDir: mkdtempSync(join(tmpdir(), 'airlock-rec-')),
  })
  actual = await runTraffic({
    seed: SEED,
    requests: REQUESTS,
    days: 1,
    policyDir: candidateDir,
    outDir: mkdtempSync(join(tmpdir(), 'airlock-act-')),
  })
  config = trafficConfig('http://127.0.0.1:9', baseDir, mkdtempSync(join(tmpdir(), 'airlock-replay-data-')))
  replay = await runReplay(config, [recorded.log], { policy: candidateDir, 'holds-db': recorded.database })
}, 180_000)

describe('policy replay', () => {
  it('predicts the holds a real run of the candidate produces', () => {
    const r = replay.report
    expect(r.lines.usable).toBe(recorded.decisions)
    expect(r.holds.before).toBe(recorded.holds_created)
    // The change matters: more payments holds, fewer engineering holds.
    expect(actual.holds_by_group.payments).toBeGreaterThan(recorded.holds_by_group.payments!)
    expect(actual.holds_by_group.engineering ?? 0).toBeLessThan(recorded.holds_by_group.engineering!)
    // The prediction is exact: the same seeded requests, the same deduplication of retries.
    expect(r.holds.after).toBe(actual.holds_created)
    for (const l of r.load) {
      expect({ group: l.group, holds: l.holds_after }).toEqual({
        group: l.group,
        holds: actual.holds_by_group[l.group] ?? 0,
      })
      expect({ group: l.group, holds: l.holds_before }).toEqual({
        group: l.group,
        holds: recorded.holds_by_group[l.group] ?? 0,
      })
    }
  })

  it('groups the changed decisions with examples, and says how held requests people decided would now go', () => {
    const r = replay.report
    const toHold = r.changed.groups.find(
      (g) => g.before === 'review' && g.after === 'hold' && g.rule === 'stripe.refund_large',
    )
    expect(toHold?.count).toBeGreaterThan(0)
    expect(toHold!.examples[0]!.request).toMatch(/^POST 127\.0\.0\.1\/stripe\/v1\/refunds$/)
    const squash = r.changed.groups.find(
      (g) => g.before === 'hold' && g.after === 'review' && g.rule === 'github.squash_merge',
    )
    expect(squash?.count).toBeGreaterThan(0)
    // Every merge people approved or denied is now reviewed instead.
    const decidedMerges = (r.human_holds.approved.review ?? 0) + (r.human_holds.denied.review ?? 0)
    expect(decidedMerges).toBeGreaterThan(0)
    expect(r.red_flags.denied_now_allowed.count).toBe(0)
    expect(r.policy_alone.after).toBeLessThan(r.policy_alone.before)
    // The generator's merges are all squash merges: the hold rule for merges no longer matches anything.
    expect(r.rules.no_longer_matched).toEqual(['github.pr_merge'])
  })

  it('agrees exactly with the shadow policy that ran beside the recorded run', () => {
    const lines = readFileSync(recorded.log, 'utf8')
      .split('\n')
      .filter((l) => l.includes('"msg":"decision"'))
      .map((l) => JSON.parse(l))
    const tally = new ShadowTally()
    for (const l of lines) tally.add(l)
    const shadow = tally.section()
    expect(shadow.evaluated).toBe(recorded.decisions)
    expect(shadow.disagreements).toBe(replay.report.changed.count)
    const byPair = (pairs: { before: string; after: string; count: number }[]) => {
      const m: Record<string, number> = {}
      for (const p of pairs) m[`${p.before}→${p.after}`] = (m[`${p.before}→${p.after}`] ?? 0) + p.count
      return m
    }
    expect(
      byPair(shadow.pairs.map((p) => ({ before: p.enforced_action, after: p.shadow_action, count: p.count }))),
    ).toEqual(byPair(replay.report.changed.groups))
  })

  it('finds dead and always-overridden rules', () => {
    expect(replay.report.rules.always_overridden.map((o) => o.rule)).toContain('catchall.delete')
    expect(literalRuleIds(resolve(repoRoot, 'policies'))).toContain('stripe.payout')
  })

  it('--fail-on exits non-zero when a threshold is crossed, and zero when none is', async () => {
    const flags = { policy: candidateDir, 'holds-db': recorded.database, json: true }
    const quiet = await captureStdout(async () => ({
      over: await replayCommand(config, [recorded.log], { ...flags, 'fail-on': 'holds-per-day:payments>1' }),
      under: await replayCommand(config, [recorded.log], {
        ...flags,
        'fail-on': 'holds-per-day>100000,changed>100000,denied-now-allowed',
      }),
    }))
    expect(quiet.result).toEqual({ over: 1, under: 0 })
    const first = JSON.parse(quiet.out.slice(0, quiet.out.indexOf('\n}\n') + 2))
    expect(first.fail_on[0]).toMatch(/holds per day for payments/)
    await expect(runReplay(config, [recorded.log], { ...flags, 'fail-on': 'holds>3' })).rejects.toThrow(
      /unknown threshold "holds>3"/,
    )
  })

  it('flags previously denied requests that a candidate would allow, and fails the gate on them', async () => {
    const loose = mkdtempSync(join(tmpdir(), 'airlock-loose-'))
    cpSync(resolve(repoRoot, 'policies'), loose, { recursive: true })
    // Someone "fixes" the Slack admin mistakes by allowing every Slack method.
    appendFileSync(
      join(loose, 'messaging.rego'),
      `\nallow contains {"rule": "slack.any", "reason": "everything on Slack"} if lib.route == "slack"\n`,
    )
    const run = await runReplay(config, [recorded.log], {
      source: loose,
      'holds-db': recorded.database,
      'fail-on': 'denied-now-allowed',
    })
    expect(run.report.red_flags.denied_now_allowed.count).toBeGreaterThan(0)
    expect(run.report.red_flags.denied_now_allowed.examples[0]!.before_rule).toBe('airlock.default_deny')
    expect(run.failures[0]).toMatch(/previously denied requests would now be allowed/)
    expect(run.report.rules.dead).toContain('egress.tunnel')
  })

  it('counts bad lines and goes on; refuses only when nothing is usable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'airlock-bad-'))
    const mixed = join(dir, 'mixed.jsonl')
    copyFileSync(recorded.log, mixed)
    const text = readFileSync(recorded.log, 'utf8')
    const one = text.split('\n').find((l) => l.includes('"msg":"decision"'))!
    appendFileSync(mixed, one.slice(0, 80) + '\n') // truncated
    appendFileSync(mixed, JSON.stringify({ ...JSON.parse(one), input: undefined }) + '\n') // without input
    appendFileSync(mixed, JSON.stringify({ ...JSON.parse(one), path: 'envoy/authz/allow' }) + '\n') // another policy
    const run = await runReplay(config, [mixed], { policy: candidateDir })
    expect(run.report.lines.usable).toBe(recorded.decisions)
    expect(Object.values(run.report.lines.bad).reduce((a, b) => a + b, 0)).toBe(3)
    expect(run.holdsDatabase).toBeNull()

    const garbage = join(dir, 'garbage.jsonl')
    writeFileSync(garbage, 'not json\n{"msg":"started"}\n' + one.slice(0, 50) + '\n')
    const code = await captureStderr(() => replayCommand(config, [garbage], { policy: candidateDir }))
    expect(code.result).toBe(2)
    expect(code.err).toMatch(/nothing to replay: 3 lines read/)
  })
})

async function captureStdout<T>(fn: () => Promise<T>): Promise<{ result: T; out: string }> {
  const write = process.stdout.write
  let out = ''
  process.stdout.write = ((chunk: string) => {
    out += chunk
    return true
  }) as typeof process.stdout.write
  try {
    return { result: await fn(), out }
  } finally {
    process.stdout.write = write
  }
}

async function captureStderr<T>(fn: () => Promise<T>): Promise<{ result: T; err: string }> {
  const write = process.stderr.write
  let err = ''
  process.stderr.write = ((chunk: string) => {
    err += chunk
    return true
  }) as typeof process.stderr.write
  try {
    return { result: await fn(), err }
  } finally {
    process.stderr.write = write
  }
}
