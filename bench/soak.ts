// The soak: Airlock (example policy, log warn) driven flat out by wrk with allow and deny requests alternating,
// in segments, until a request count is reached (bounded in time too). RSS is read from /proc and the V8 heap
// from Airlock's own /metrics (prom-client's default metrics) every few seconds. Growth is judged after a warm-up:
// the median of the last tenth of the run against the median of the tenth right after the warm-up.

import { ALLOW, type Configuration, type Context, DENY, HEADERS } from './configs.ts'
import { layout, memory } from './procs.ts'
import { wrk } from './wrk.ts'

export interface SoakOptions {
  requests: number
  maxSeconds: number
  segmentSeconds: number
  sampleMs: number
  connections: number
  /** Share of the run (by time) treated as warm-up. */
  warmupFraction: number
}

export interface SoakSample {
  t_s: number
  rss: number
  heap_used: number
}

export interface SoakResult {
  requests: number
  seconds: number
  statuses: Record<string, number>
  socket_errors: number
  samples: SoakSample[]
  warmup_s: number
  rss_baseline: number
  rss_end: number
  rss_max: number
  rss_growth: number
  heap_baseline: number
  heap_end: number
  heap_growth: number
  /** Uncaught exceptions bench/uncaught-guard.ts kept from ending the soak. */
  uncaught: number
}

async function heapUsed(metricsUrl: string | undefined): Promise<number> {
  if (!metricsUrl) return NaN
  try {
    const text = await (await fetch(metricsUrl)).text()
    return Number(/^airlock_nodejs_heap_size_used_bytes\s+([\d.e+]+)/m.exec(text)?.[1] ?? NaN)
  } catch {
    return NaN
  }
}

const median = (xs: number[]) => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b)
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : NaN
}

export async function soak(ctx: Context, config: Configuration, opts: SoakOptions): Promise<SoakResult> {
  const running = await config.start(ctx)
  const pid = running.pids[0]!
  const samples: SoakSample[] = []
  const t0 = performance.now()
  let sampling = true
  const sampler = (async () => {
    while (sampling) {
      const t_s = (performance.now() - t0) / 1000
      samples.push({ t_s, rss: memory(pid).rss, heap_used: await heapUsed(running.metricsUrl) })
      await new Promise((r) => setTimeout(r, opts.sampleMs))
    }
  })()
  let requests = 0
  let socketErrors = 0
  const statuses: Record<string, number> = {}
  let uncaught = 0
  try {
    while (requests < opts.requests && (performance.now() - t0) / 1000 < opts.maxSeconds) {
      const left = opts.maxSeconds - (performance.now() - t0) / 1000
      const r = await wrk(ctx.tools.wrk, {
        url: running.url,
        connections: opts.connections,
        durationS: Math.max(1, Math.min(opts.segmentSeconds, Math.ceil(left))),
        cpus: layout.load,
        headers: HEADERS,
        requests: [ALLOW, DENY],
      })
      requests += r.requests
      socketErrors += r.socketErrors
      for (const [s, n] of Object.entries(r.statuses ?? {})) statuses[s] = (statuses[s] ?? 0) + n
    }
  } finally {
    sampling = false
    await sampler
    uncaught = running.uncaught?.() ?? 0
    await running.stop()
  }
  const seconds = (performance.now() - t0) / 1000
  const warmup = seconds * opts.warmupFraction
  const after = samples.filter((s) => s.t_s >= warmup)
  const tenth = Math.max(1, Math.floor(after.length / 10))
  const first = after.slice(0, tenth)
  const last = after.slice(-tenth)
  const rssBaseline = median(first.map((s) => s.rss))
  const rssEnd = median(last.map((s) => s.rss))
  const heapBaseline = median(first.map((s) => s.heap_used))
  const heapEnd = median(last.map((s) => s.heap_used))
  return {
    requests,
    seconds,
    statuses,
    socket_errors: socketErrors,
    samples,
    warmup_s: warmup,
    rss_baseline: rssBaseline,
    rss_end: rssEnd,
    rss_max: Math.max(...after.map((s) => s.rss)),
    rss_growth: rssEnd / rssBaseline - 1,
    heap_baseline: heapBaseline,
    heap_end: heapEnd,
    heap_growth: heapEnd / heapBaseline - 1,
    uncaught,
  }
}
