// The constant-rate load generator used for every latency figure (wrk2 semantics, written here because Debian
// ships wrk but not wrk2). Why this and not the alternatives:
// - wrk is closed-loop: each connection waits for its answer before sending again, so a slow server is offered
//   less load, and its stalls hide from the percentiles (coordinated omission). Its Lua `delay()` adds think time,
//   which is still closed-loop.
// - autocannon's --overallRate is also closed-loop per connection, and it is not installed here.
// - This one is open-loop: request i is due at start + i/rate whatever happened before, so a server that falls
//   behind sees requests pile up in the client's connection pool (undici's Pool queue), and that waiting is counted.
//   Latency runs from the moment the request is handed to the pool to the last byte of the response. (Timing from
//   the ideal due instant instead would add the ~0.5 ms mean granularity of Node's 1 ms timers to every sample;
//   the generator's own lag behind schedule is reported separately as `lag_p99_ms`, so it can be checked.)
// - Every latency is kept and sorted, so percentiles are exact: at 15 s × 10,000 req/s that is 1.2 MB, simpler and
//   more precise than an HDR histogram, and no dependency.
// It is the same program, same pool size and same placement (the load CPU) for every configuration.
//
//   node bench/loadgen.ts '{"url":"http://127.0.0.1:8080","requests":[...],"rate":5000,"durationMs":15000,...}'
import { type Dispatcher, Pool } from 'undici'

export interface LoadRequest {
  method: string
  path: string
  headers?: Record<string, string>
  body?: string
}

export interface LoadSpec {
  url: string
  /** Sent round-robin. */
  requests: LoadRequest[]
  rate: number
  durationMs: number
  /** Sent at the same rate before measuring; not recorded. */
  warmupMs: number
  connections: number
  /** Responses whose body length differs are counted as `short_bodies` (a proxy that truncates is broken). */
  expectBodyBytes?: number
}

export interface LoadResult {
  offered_rate: number
  achieved_rate: number
  sent: number
  completed: number
  /** Answers including the warm-up (CPU per request is measured over the whole run). */
  completed_all: number
  errors: number
  /** Requests still unanswered when the drain timeout hit; counted in the percentiles at the time they were given up. */
  unanswered: number
  statuses: Record<string, number>
  short_bodies: number
  p50_ms: number
  p99_ms: number
  p999_ms: number
  max_ms: number
  lag_p99_ms: number
  /** Fewer answers per second than offered: the server could not keep up and the latencies are queueing. */
  overloaded: boolean
}

const DRAIN_MS = 5000

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i]!
}

export async function generate(spec: LoadSpec): Promise<LoadResult> {
  const pool = new Pool(spec.url, { connections: spec.connections, pipelining: 1, keepAliveTimeout: 60_000 })
  const interval = 1000 / spec.rate
  const warmup = Math.floor((spec.rate * spec.warmupMs) / 1000)
  const total = warmup + Math.floor((spec.rate * spec.durationMs) / 1000)
  const measured = total - warmup
  const latencies = new Float64Array(measured)
  const lags = new Float64Array(measured)
  const pending = new Map<number, number>() // index → dispatch time, measured requests only
  const statuses: Record<string, number> = {}
  let recorded = 0
  let errors = 0
  let shortBodies = 0
  let completed = 0
  let completedAll = 0
  let firstMeasured = 0
  let lastDone = 0
  const opts: Dispatcher.RequestOptions[] = spec.requests.map((r) => ({
    path: r.path,
    method: r.method as Dispatcher.HttpMethod,
    headers: r.headers ?? {},
    body: r.body ?? null,
  }))

  let resolveDrained!: () => void
  const drained = new Promise<void>((r) => (resolveDrained = r))
  let outstanding = 0
  let sentAll = false

  const fire = (i: number, dueAt: number) => {
    const t0 = performance.now()
    const measure = i >= warmup
    if (measure) {
      pending.set(i, t0)
      lags[i - warmup] = t0 - dueAt
    }
    outstanding++
    pool
      .request(opts[i % opts.length]!)
      .then(
        async (res) => {
          let bytes: number
          try {
            bytes = (await res.body.arrayBuffer()).byteLength
          } catch {
            if (measure && pending.delete(i)) errors++ // the body failed, or the pool was destroyed mid-body
            return
          }
          const t1 = performance.now()
          completedAll++
          if (measure && pending.delete(i)) {
            latencies[recorded++] = t1 - t0
            statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1
            if (spec.expectBodyBytes !== undefined && res.statusCode < 300 && bytes !== spec.expectBodyBytes)
              shortBodies++
            completed++
            lastDone = t1
          }
        },
        () => {
          if (measure && pending.delete(i)) errors++
        },
      )
      .finally(() => {
        if (--outstanding === 0 && sentAll) resolveDrained()
      })
  }

  const start = performance.now()
  let i = 0
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now()
      const due = Math.min(total, Math.floor((now - start) / interval) + 1)
      for (; i < due; i++) {
        if (i === warmup) firstMeasured = start + i * interval
        fire(i, start + i * interval)
      }
      if (i < total) setTimeout(tick, Math.max(0, Math.min(1, start + i * interval - performance.now())))
      else resolve()
    }
    tick()
  })
  sentAll = true
  const sendEnd = performance.now()
  if (outstanding > 0) {
    let timer: NodeJS.Timeout | undefined
    await Promise.race([drained, new Promise((r) => (timer = setTimeout(r, DRAIN_MS)))])
    clearTimeout(timer)
  }
  const givenUp = performance.now()
  const unanswered = pending.size
  for (const t0 of pending.values()) latencies[recorded++] = givenUp - t0
  pending.clear() // destroying the pool fails them: not errors, they are counted as unanswered
  await pool.destroy()

  const sorted = latencies.subarray(0, recorded).sort()
  const lagSorted = lags.sort()
  const window = Math.max(sendEnd, lastDone) - firstMeasured
  const achieved = window > 0 ? (completed / window) * 1000 : 0
  return {
    offered_rate: spec.rate,
    achieved_rate: Math.round(achieved),
    sent: measured,
    completed,
    completed_all: completedAll,
    errors,
    unanswered,
    statuses,
    short_bodies: shortBodies,
    p50_ms: percentile(sorted, 50),
    p99_ms: percentile(sorted, 99),
    p999_ms: percentile(sorted, 99.9),
    max_ms: sorted.length ? sorted[sorted.length - 1]! : NaN,
    lag_p99_ms: percentile(lagSorted, 99),
    overloaded: unanswered > 0 || errors > 0 || completed < 0.98 * measured || achieved < 0.95 * spec.rate,
  }
}

if (import.meta.main) {
  const spec = JSON.parse(process.argv[2] ?? '') as LoadSpec
  generate(spec).then(
    (r) => process.stdout.write(JSON.stringify(r) + '\n'),
    (err: Error) => {
      process.stderr.write(`loadgen: ${err.stack ?? err.message}\n`)
      process.exitCode = 1
    },
  )
}
