// The smoke run (`npm run bench:smoke`, and test/integration/bench-smoke.test.ts): every configuration, the decision
// micro-benchmark and the soak, each for a moment, asserting what was answered (non-zero 2xx, the expected
// statuses on the allow and deny paths) and never how fast. It shares all of its code with the full run.
import { type BenchReport, FULL, runBench } from './harness.ts'

export const SMOKE = {
  ...FULL,
  repetitions: 1,
  warmupS: 0,
  throughputS: 1,
  rateWarmupMs: 100,
  rateMs: 500,
  rateShare: 0.1,
  decisionScale: 0.002,
  soak: { requests: 2000, maxSeconds: 2, segmentSeconds: 1, sampleMs: 250, connections: 16, warmupFraction: 0.1 },
  intercept: { seconds: 0.5, rounds: 1, connections: 4 },
  checkStatuses: true,
}

/** Runs the smoke benchmark; throws with the configuration and what was wrong. */
export async function runSmoke(log: (msg: string) => void = () => {}): Promise<BenchReport> {
  const report = await runBench({ ...SMOKE, log })
  for (const c of report.configs) {
    const answered = c.throughput.reduce((n, w) => n + w.requests, 0)
    const ok = c.latency.reduce((n, l) => n + (l.statuses['200'] ?? 0), 0)
    if (answered === 0 || ok === 0)
      throw new Error(`(${c.id}) ${c.label}: no 2xx answers (wrk ${answered}, load generator ${ok})`)
  }
  const actions = report.decision.map((d) => d.action).join(',')
  if (actions !== 'allow,review,review,allow,review')
    throw new Error(`decision micro-benchmark: unexpected actions ${actions}`)
  if (!report.soak.statuses['200'] || !report.soak.statuses['403'])
    throw new Error(`soak: statuses ${JSON.stringify(report.soak.statuses)}`)
  return report
}
