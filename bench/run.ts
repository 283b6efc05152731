// `npm run bench`: the full benchmark (about 25 minutes), printed and written into docs/performance.md.
// `npm run bench:smoke`: every configuration for a moment, answers checked, nothing timed (bench/smoke.ts).
import { writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { repoRoot } from '../gateway/node/toolchain/opa.ts'
import { FULL, runBench } from './harness.ts'
import { renderMarkdown, targets, writePerformanceDoc } from './report.ts'
import { runSmoke } from './smoke.ts'

const log = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`)

async function main(): Promise<number> {
  if (process.argv.includes('--smoke')) {
    const r = await runSmoke(log)
    for (const c of r.configs) log(`ok (${c.id}) ${c.label}: ${JSON.stringify(c.statuses)}`)
    log(`smoke ok in ${r.seconds.toFixed(1)} s`)
    return 0
  }
  const report = await runBench({ ...FULL, log })
  const markdown = renderMarkdown(report, 'npm run bench')
  const raw = join(tmpdir(), `airlock-bench-${report.startedAt.replace(/[:.]/g, '-')}.json`)
  writeFileSync(raw, JSON.stringify(report, null, 2))
  writePerformanceDoc(join(repoRoot, 'docs/performance.md'), markdown)
  process.stdout.write(markdown + '\n')
  log(`raw results: ${raw}; docs/performance.md updated`)
  const missed = targets(report).filter((t) => t.met === false)
  if (missed.length) log(`targets missed: ${missed.map((t) => t.name).join('; ')}`)
  return 0
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    log(`failed: ${err.message}`)
    process.exit(1)
  },
)
