// One benchmark run: build the policies, start the shared upstream, then measure every configuration under the
// same conditions — maximum throughput (wrk) in rounds of alternating order, then latency at a fixed offered
// rate (half the bare proxy's median maximum, bench/loadgen.ts) in rounds of alternating order — then the decision
// micro-benchmark and the soak. Every run of a configuration starts it afresh and checks what it answered.

import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  ALLOW,
  type Configuration,
  configurations,
  DENY,
  HEADERS,
  LARGE_SOURCE,
  prepareContext,
  type Running,
} from './configs.ts'
import type { DecisionCase } from './decision.bench.ts'
import { checkTools, describeMachine, loadavg, type Machine } from './env.ts'
import { compareIntercept, type InterceptComparison } from './intercept-compare.ts'
import type { LoadResult, LoadSpec } from './loadgen.ts'
import { startNginx, UPSTREAM_BODY, upstreamConf } from './nginx.ts'
import { countRules, POLICIES } from './policy-gen.ts'
import { layout, machineCpu, NODE, ownCpu, run, snapshot } from './procs.ts'
import { type SoakOptions, type SoakResult, soak } from './soak.ts'
import { type WrkResult, wrk } from './wrk.ts'

export interface BenchOptions {
  repetitions: number
  connections: number
  warmupS: number
  throughputS: number
  rateWarmupMs: number
  rateMs: number
  /** Offered rate as a share of the bare proxy's maximum. */
  rateShare: number
  /** Iteration scale for the decision micro-benchmark. */
  decisionScale: number
  soak: SoakOptions
  /** The intercepted path beside the routed one (bench/intercept-compare.ts). */
  intercept: { seconds: number; rounds: number; connections: number }
  /** Also send allow + deny through every configuration and check each status (the smoke run; cheap). */
  checkStatuses: boolean
  log: (msg: string) => void
}

export const FULL: Omit<BenchOptions, 'log'> = {
  repetitions: 3,
  connections: 64,
  warmupS: 3,
  throughputS: 10,
  rateWarmupMs: 1000,
  rateMs: 15_000,
  rateShare: 0.5,
  decisionScale: 1,
  soak: {
    requests: 1_000_000,
    maxSeconds: 1200,
    segmentSeconds: 30,
    sampleMs: 2000,
    connections: 64,
    warmupFraction: 0.1,
  },
  intercept: { seconds: 10, rounds: 3, connections: 32 },
  checkStatuses: true,
}

export interface ConfigResult {
  id: string
  label: string
  airlock: boolean
  throughput: WrkResult[]
  /** The deny path at full load (configuration (c) only): a refusal should cost less than a forward. */
  denyThroughput?: WrkResult[]
  /** Summed VmHWM of the configuration's processes after each throughput run (bytes). */
  peakRss: number[]
  latency: LoadResult[]
  /** At half of Airlock's own maximum (LOW_RATE_CONFIGS only). */
  latencyLow: LoadResult[]
  /** utime+stime of the configuration's processes per 1,000 answered requests, over each fixed-rate run. */
  cpuPer1k: number[]
  statuses?: Record<string, number>
  /** Uncaught exceptions in Airlock that bench/uncaught-guard.ts kept from ending the run. */
  uncaught: number
}

export interface BenchReport {
  startedAt: string
  seconds: number
  machine: Machine
  loadavgAfter: string
  /** CPU seconds used on the machine by processes other than the benchmark's, and stolen by the hypervisor. */
  foreignCpuS: number
  stealS: number
  layout: { sut: string | undefined; load: string | undefined }
  options: Omit<BenchOptions, 'log'>
  rate: number
  lowRate: number
  rules: { example: number; large: number }
  configs: ConfigResult[]
  decision: DecisionCase[]
  soak: SoakResult
  intercept: InterceptComparison
}

/** The configurations also measured at half of Airlock's own maximum. */
export const LOW_RATE_CONFIGS = ['a', 'b', 'c', 'c-info', 'd']

const LOADGEN = fileURLToPath(new URL('./loadgen.ts', import.meta.url))
const DECISION = fileURLToPath(new URL('./decision.bench.ts', import.meta.url))

export const median = (xs: number[]): number => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (s.length === 0) return NaN
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/** wrk's URL and request target for the allow path: a forward proxy (Smokescreen) gets an absolute-form target. */
function allowTarget(running: Running): { url: string; path?: string } {
  return running.target
    ? { url: running.url + '/', path: running.target(ALLOW.path) }
    : { url: running.url + ALLOW.path }
}

/** Round r visits the configurations forwards when r is even, backwards when odd. */
function order<T>(items: T[], round: number): T[] {
  return round % 2 === 0 ? [...items] : [...items].reverse()
}

function fail(config: Configuration, what: string): never {
  throw new Error(`configuration (${config.id}) ${config.label}: ${what}`)
}

export async function runBench(opts: BenchOptions): Promise<BenchReport> {
  const started = Date.now()
  const cpu0 = { machine: machineCpu(), own: ownCpu() }
  const tools = checkTools()
  const machine = describeMachine(tools)
  if (!existsSync(join(POLICIES, 'capabilities.json')))
    throw new Error(`${POLICIES}/capabilities.json is missing: the example policy cannot be built`)
  const tmp = mkdtempSync(join(tmpdir(), 'airlock-bench-'))
  const results = new Map<string, ConfigResult>(
    configurations.map((c) => [
      c.id,
      {
        id: c.id,
        label: c.label,
        airlock: c.airlock,
        throughput: [],
        peakRss: [],
        latency: [],
        latencyLow: [],
        cpuPer1k: [],
        uncaught: 0,
      },
    ]),
  )
  let upstream: Awaited<ReturnType<typeof startNginx>> | undefined
  try {
    opts.log(`building the example policy and the 1,000-rule policy into ${tmp}`)
    const ctx = await prepareContext(tools, tmp, true)
    const rules = { example: countRules(ctx.exampleSource), large: countRules(LARGE_SOURCE(tmp)) }

    const upPrefix = join(tmp, 'nginx-upstream')
    upstream = await startNginx(
      'nginx upstream',
      tools.nginx,
      upPrefix,
      upstreamConf(upPrefix, ctx.upstreamPort),
      ctx.upstreamPort,
      layout.load,
    )

    opts.log('decision micro-benchmark')
    const decision = JSON.parse(
      await run(NODE, [DECISION, ctx.policies.example, ctx.policies.large, String(opts.decisionScale)], {
        cpus: layout.sut,
        timeoutMs: 600_000,
      }),
    ) as DecisionCase[]

    /** Latency at a constant offered rate, every configuration `repetitions` times in alternating order. */
    const latencyPhase = async (
      configs: Configuration[],
      rate: number,
      key: 'latency' | 'latencyLow',
      cpu: boolean,
    ) => {
      for (let round = 0; round < opts.repetitions; round++) {
        for (const config of order(configs, round + 1)) {
          opts.log(`latency at ${rate} req/s ${round + 1}/${opts.repetitions}: (${config.id}) ${config.label}`)
          const r = results.get(config.id)!
          const running = await config.start(ctx)
          try {
            if (opts.warmupS > 0) {
              await wrk(tools.wrk, {
                ...allowTarget(running),
                connections: opts.connections,
                cpus: layout.load,
                headers: HEADERS,
                durationS: Math.min(2, opts.warmupS),
              })
            }
            const spec: LoadSpec = {
              url: running.url,
              requests: [{ ...ALLOW, path: running.target?.(ALLOW.path) ?? ALLOW.path, headers: HEADERS }],
              rate,
              durationMs: opts.rateMs,
              warmupMs: opts.rateWarmupMs,
              connections: opts.connections,
              expectBodyBytes: Buffer.byteLength(UPSTREAM_BODY),
            }
            const before = snapshot(running.pids)
            const l = JSON.parse(
              await run(NODE, [LOADGEN, JSON.stringify(spec)], { cpus: layout.load, timeoutMs: opts.rateMs + 60_000 }),
            ) as LoadResult
            const after = snapshot(running.pids)
            if (l.completed === 0) fail(config, 'the load generator got no answer')
            const bad = Object.keys(l.statuses).filter((s) => s !== '200')
            if (bad.length || l.short_bodies > 0)
              fail(
                config,
                `unexpected answers at fixed rate: ${JSON.stringify(l.statuses)}, ${l.short_bodies} short bodies`,
              )
            r[key].push(l)
            if (cpu && running.pids.length) r.cpuPer1k.push(((after.cpu - before.cpu) / l.completed_all) * 1000)
          } finally {
            r.uncaught += running.uncaught?.() ?? 0
            await running.stop()
          }
        }
      }
    }

    for (let round = 0; round < opts.repetitions; round++) {
      for (const config of order(configurations, round)) {
        opts.log(`throughput ${round + 1}/${opts.repetitions}: (${config.id}) ${config.label}`)
        const r = results.get(config.id)!
        const running = await config.start(ctx)
        try {
          const base = { ...allowTarget(running), connections: opts.connections, cpus: layout.load, headers: HEADERS }
          if (opts.warmupS > 0) await wrk(tools.wrk, { ...base, durationS: opts.warmupS })
          const w = await wrk(tools.wrk, { ...base, durationS: opts.throughputS })
          if (w.requests === 0) fail(config, 'wrk got no answer')
          if (w.non2xx > 0 || w.socketErrors > 0)
            fail(config, `${w.non2xx} non-2xx answers and ${w.socketErrors} socket errors on the allow path`)
          r.throughput.push(w)
          r.peakRss.push(snapshot(running.pids).hwm)
          if (config.id === 'c') {
            // The deny path, same load (through the status-counting script: it needs a POST body, and every answer
            // must be the policy's 403).
            const d = await wrk(tools.wrk, {
              ...base,
              url: running.url,
              path: undefined,
              durationS: opts.throughputS,
              requests: [DENY],
            })
            const bad = Object.keys(d.statuses ?? {}).filter((st) => st !== '403')
            if (d.requests === 0 || bad.length || d.socketErrors > 0)
              fail(config, `deny path: ${JSON.stringify(d.statuses)}, ${d.socketErrors} socket errors`)
            r.denyThroughput = [...(r.denyThroughput ?? []), d]
          }
          if (opts.checkStatuses && round === 0) {
            const requests = (config.policy ? [ALLOW, DENY] : [ALLOW]).map((r) => ({
              ...r,
              path: running.target?.(r.path) ?? r.path,
            }))
            const s = await wrk(tools.wrk, { ...base, url: running.url, path: undefined, durationS: 1, requests })
            r.statuses = s.statuses ?? {}
            const expected = config.policy ? ['200', '403'] : ['200']
            const got = Object.keys(r.statuses).sort()
            if (got.join() !== expected.join() || Object.values(r.statuses).some((n) => n === 0)) {
              fail(config, `expected statuses ${expected.join(', ')}, got ${JSON.stringify(r.statuses)}`)
            }
          }
        } finally {
          r.uncaught += running.uncaught?.() ?? 0
          await running.stop()
        }
      }
    }

    const bareMax = median(results.get('b')!.throughput.map((w) => w.rps))
    const rate = Math.max(10, Math.round(bareMax * opts.rateShare))
    await latencyPhase(configurations, rate, 'latency', true)
    // The same measurement at half of Airlock's own maximum, for the Node-side configurations: when Airlock cannot
    // take the rate above, this is the latency it adds at a load it sustains.
    const airlockMax = median(results.get('c')!.throughput.map((w) => w.rps))
    const lowRate = Math.max(10, Math.round(airlockMax * opts.rateShare))
    await latencyPhase(
      configurations.filter((c) => LOW_RATE_CONFIGS.includes(c.id)),
      lowRate,
      'latencyLow',
      false,
    )

    opts.log(
      `soak: ${opts.soak.requests.toLocaleString('en')} requests, allow and deny alternating, Airlock example policy`,
    )
    const soakResult = await soak(ctx, configurations.find((c) => c.id === 'c')!, opts.soak)
    const soakBad = Object.keys(soakResult.statuses).filter((s) => s !== '200' && s !== '403')
    if (soakResult.requests === 0 || soakBad.length || !soakResult.statuses['200'] || !soakResult.statuses['403']) {
      throw new Error(`soak: unexpected statuses ${JSON.stringify(soakResult.statuses)}`)
    }

    opts.log('intercepted path beside the routed path (HTTPS upstream, one Airlock serving both)')
    const intercept = await compareIntercept({
      nginx: tools.nginx,
      tmp,
      policyDir: ctx.policies.example,
      ...opts.intercept,
      log: opts.log,
    })
    for (const [name, f] of [
      ['routed', intercept.routed],
      ['intercepted', intercept.intercepted],
    ] as const) {
      if (!f.statuses['200'] || Object.keys(f.statuses).some((s) => s !== '200'))
        throw new Error(`intercept comparison: ${name} path answered ${JSON.stringify(f.statuses)}`)
    }

    const { log: _log, ...options } = opts
    return {
      startedAt: new Date(started).toISOString(),
      seconds: (Date.now() - started) / 1000,
      machine,
      loadavgAfter: loadavg(),
      foreignCpuS: machineCpu().busy - cpu0.machine.busy - (ownCpu() - cpu0.own),
      stealS: machineCpu().steal - cpu0.machine.steal,
      layout,
      options,
      rate,
      lowRate,
      rules,
      configs: configurations.map((c) => results.get(c.id)!),
      decision,
      soak: soakResult,
      intercept,
    }
  } finally {
    await upstream?.stop()
    rmSync(tmp, { recursive: true, force: true })
  }
}
