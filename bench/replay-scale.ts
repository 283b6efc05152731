// How long `airlock policy replay` takes over 1,000,000 recorded decisions, and how much memory it needs.
//
// A 1M-request run of the traffic generator through a real gateway would take most of an hour, so the history is a
// recorded generator run (5,000 requests, one simulated day) repeated with fresh decision ids and a day added to the
// timestamps per copy: real decision lines with real inputs, as the gateway writes them. The replay runs as its own
// process under /usr/bin/time (wall time and peak RSS), against a candidate build folder.
//
//   node bench/replay-scale.ts [--lines 1000000] [--dir /tmp/airlock-replay-scale]
import { spawnSync } from 'node:child_process'
import { createWriteStream, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { buildPolicy } from '../gateway/node/toolchain/build.ts'
import { repoRoot } from '../gateway/node/toolchain/opa.ts'
import { runTraffic } from '../tools/traffic/run.ts'

const { values } = parseArgs({
  options: {
    lines: { type: 'string', default: '1000000' },
    dir: { type: 'string', default: '/tmp/airlock-replay-scale' },
  },
})
const target = Number(values.lines)
const dir = resolve(values.dir!)
mkdirSync(dir, { recursive: true })

const policyDir = join(dir, 'policy')
if (!existsSync(join(policyDir, 'manifest.json'))) await buildPolicy(resolve(repoRoot, 'policies'), policyDir)
const run = join(dir, 'run')
if (!existsSync(join(run, 'summary.json')))
  await runTraffic({ seed: 1, requests: 5000, days: 1, policyDir, outDir: run })

const history = join(dir, `history-${target}.jsonl`)
if (!existsSync(history)) {
  const lines = readFileSync(join(run, 'decisions.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('"msg":"decision"'))
    .map((l) => JSON.parse(l) as { decision_id: string; timestamp: string; hold_id?: string })
  const out = createWriteStream(history)
  let written = 0
  for (let copy = 0; written < target; copy++) {
    for (const l of lines) {
      if (written >= target) break
      const shifted = {
        ...l,
        decision_id: copy === 0 ? l.decision_id : `${l.decision_id.slice(0, 24)}${copy.toString(16).padStart(12, '0')}`,
        timestamp: new Date(Date.parse(l.timestamp) + copy * 86_400_000).toISOString(),
        ...(l.hold_id && copy > 0 ? { hold_id: `${l.hold_id}-${copy}` } : {}),
      }
      if (!out.write(JSON.stringify(shifted) + '\n')) await new Promise<void>((r) => out.once('drain', () => r()))
      written++
    }
  }
  await new Promise<void>((r) => out.end(r))
}

const size = statSync(history).size
const result = spawnSync(
  '/usr/bin/time',
  [
    '-f',
    '%e %M',
    join(repoRoot, 'node_modules/.bin/node'),
    join(repoRoot, 'gateway/node/bin.ts'),
    'policy',
    'replay',
    history,
    '--policy',
    policyDir,
    '--holds-db',
    join(run, 'data/airlock.db'),
    '--json',
  ],
  { cwd: repoRoot, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
)
if (result.status !== 0) {
  process.stderr.write(result.stderr)
  process.exit(1)
}
const [seconds, kb] = result.stderr.trim().split('\n').at(-1)!.split(' ').map(Number)
const report = JSON.parse(result.stdout)
process.stdout.write(
  JSON.stringify(
    {
      lines: report.lines.usable,
      bytes: size,
      seconds,
      lines_per_second: Math.round(report.lines.usable / seconds!),
      peak_rss_mb: Math.round(kb! / 1024),
      holds_before: report.holds.before,
      span_days: report.span.days,
    },
    null,
    2,
  ) + '\n',
)
