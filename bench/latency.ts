// A short latency A/B outside the full run: the upstream and the named configurations, each driven at one constant
// rate by bench/loadgen.ts (same placement and pool as `npm run bench`), rounds in alternating order, with the
// loopback TCP counters that tell a delayed-ACK stall (`TcpExtDelayedACKLost`, `TcpRetransSegs`) per run.
//
//   node bench/latency.ts [rate=1500] [seconds=10] [rounds=2] [configs=b,c]
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ALLOW, configurations, HEADERS, prepareContext } from './configs.ts'
import { checkTools } from './env.ts'
import type { LoadResult, LoadSpec } from './loadgen.ts'
import { startNginx, UPSTREAM_BODY, upstreamConf } from './nginx.ts'
import { layout, NODE, run, snapshot } from './procs.ts'

const LOADGEN = fileURLToPath(new URL('./loadgen.ts', import.meta.url))

/** TCP counters from /proc/net/netstat and /proc/net/snmp (what `nstat` reads), by name. */
function tcpCounters(): Record<string, number> {
  const out: Record<string, number> = {}
  for (const file of ['/proc/net/netstat', '/proc/net/snmp']) {
    const lines = readFileSync(file, 'utf8').trim().split('\n')
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const names = lines[i]!.split(/\s+/)
      const values = lines[i + 1]!.split(/\s+/)
      const prefix = names[0]!.replace(':', '')
      for (let j = 1; j < names.length; j++) out[prefix + names[j]] = Number(values[j])
    }
  }
  return out
}

async function main(): Promise<void> {
  const [rate = '1500', seconds = '10', rounds = '2', ids = 'b,c'] = process.argv.slice(2)
  const tools = checkTools()
  const tmp = mkdtempSync(join(tmpdir(), 'airlock-latency-'))
  const wanted = ids.split(',')
  const ctx = await prepareContext(tools, tmp, wanted.includes('d'))
  const up = await startNginx(
    'nginx upstream',
    tools.nginx,
    join(tmp, 'up'),
    upstreamConf(join(tmp, 'up'), ctx.upstreamPort),
    ctx.upstreamPort,
    layout.load,
  )
  try {
    for (let r = 0; r < Number(rounds); r++) {
      const list = configurations.filter((c) => wanted.includes(c.id))
      for (const config of r % 2 ? list.reverse() : list) {
        const running = await config.start(ctx)
        try {
          const spec: LoadSpec = {
            url: running.url,
            requests: [{ ...ALLOW, headers: HEADERS }],
            rate: Number(rate),
            durationMs: Number(seconds) * 1000,
            warmupMs: 2000,
            connections: 64,
            expectBodyBytes: Buffer.byteLength(UPSTREAM_BODY),
          }
          const before = tcpCounters()
          const cpu0 = snapshot(running.pids).cpu
          const l = JSON.parse(
            await run(NODE, [LOADGEN, JSON.stringify(spec)], {
              cpus: layout.load,
              timeoutMs: spec.durationMs + 60_000,
            }),
          ) as LoadResult
          const after = tcpCounters()
          const cpuPer1k = running.pids.length ? ((snapshot(running.pids).cpu - cpu0) / l.completed_all) * 1000 : NaN
          const d = (k: string) => (after[k] ?? 0) - (before[k] ?? 0)
          if (process.env.LATENCY_ALL_COUNTERS) {
            const moved = Object.keys(after)
              .filter((k) => d(k) !== 0 && /^Tcp/.test(k))
              .map((k) => `${k}=${d(k)}`)
            process.stdout.write(`  ${moved.join(' ')}\n`)
          }
          process.stdout.write(
            `(${config.id}) ${config.label}: p50 ${l.p50_ms.toFixed(3)} p99 ${l.p99_ms.toFixed(3)} p99.9 ${l.p999_ms.toFixed(3)} max ${l.max_ms.toFixed(1)} ms, ` +
              `${l.achieved_rate} req/s${l.overloaded ? ' OVERLOADED' : ''}, CPU ${cpuPer1k.toFixed(3)} s/1k req, lag p99 ${l.lag_p99_ms.toFixed(2)} ms, ` +
              `DelayedACKLost ${d('TcpExtDelayedACKLost')}, RetransSegs ${d('TcpRetransSegs')}, statuses ${JSON.stringify(l.statuses)}\n`,
          )
        } finally {
          await running.stop()
        }
      }
    }
  } finally {
    await up.stop()
  }
}

if (import.meta.main) {
  main().catch((err: Error) => {
    process.stderr.write(`latency: ${err.stack ?? err.message}\n`)
    process.exit(1)
  })
}
