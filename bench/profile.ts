// Where Airlock's time goes under load: starts the upstream and one Airlock configuration of the benchmark with
// `node --cpu-prof`, drives it with wrk, stops it (the profile is written on exit) and prints self time by
// function and by package/file. The .cpuprofile is kept for Chrome DevTools or speedscope.
//
//   node bench/profile.ts [c|c-info|d] [seconds] [allow|deny]
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { repoRoot } from '../gateway/node/toolchain/opa.ts'
import { ALLOW, configurations, DENY, HEADERS, prepareContext } from './configs.ts'
import { checkTools } from './env.ts'
import { startNginx, upstreamConf } from './nginx.ts'
import { layout } from './procs.ts'
import { wrk } from './wrk.ts'

interface Node {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
  children?: number[]
}

/** Self time per function and per file/package from a .cpuprofile, largest first. */
export function summarizeProfile(file: string, top = 25): string {
  const p = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] }
  const self = new Map<number, number>()
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)))
  const total = [...self.values()].reduce((a, b) => a + b, 0)
  const byFn = new Map<string, number>()
  const byFile = new Map<string, number>()
  for (const n of p.nodes) {
    const t = self.get(n.id) ?? 0
    if (!t) continue
    const url = n.callFrame.url.replace(/^file:\/\//, '')
    const where = !url ? '(native)' : url.startsWith('/') ? relative(repoRoot, url) : url
    const pkg =
      /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(where)?.[1] ??
      (where.startsWith('node:internal/')
        ? where.split('/').slice(0, 2).join('/')
        : where === '(native)'
          ? n.callFrame.functionName
          : where)
    const fn = `${n.callFrame.functionName || '(anonymous)'}  ${where}${url ? `:${n.callFrame.lineNumber + 1}` : ''}`
    byFn.set(fn, (byFn.get(fn) ?? 0) + t)
    byFile.set(pkg, (byFile.get(pkg) ?? 0) + t)
  }
  const fmt = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, v]) => `${((v / total) * 100).toFixed(1).padStart(5)} %  ${k}`)
      .join('\n')
  // Inclusive (self + callees) time of the repo's own functions: the synchronous part of each pipeline stage.
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const inclusive = (n: Node): number =>
    (self.get(n.id) ?? 0) + (n.children ?? []).reduce((a, c) => a + inclusive(byId.get(c)!), 0)
  const incl = new Map<string, number>()
  for (const n of p.nodes) {
    const url = n.callFrame.url.replace(/^file:\/\//, '')
    if (!url.startsWith(repoRoot) || url.includes('node_modules')) continue
    const key = `${n.callFrame.functionName || '(anonymous)'}  ${relative(repoRoot, url)}:${n.callFrame.lineNumber + 1}`
    incl.set(key, (incl.get(key) ?? 0) + inclusive(n))
  }
  return `total sampled ${(total / 1e6).toFixed(1)} s\n\nself time by package / file:\n${fmt(byFile)}\n\nself time by function:\n${fmt(byFn)}\n\ninclusive time of Airlock's functions (synchronous part):\n${fmt(incl)}\n`
}

async function main(): Promise<void> {
  const [id = 'c', seconds = '10', path = 'allow'] = process.argv.slice(2)
  const config = configurations.find((c) => c.id === id && c.airlock)
  if (!config) throw new Error(`usage: profile.ts [c|c-info|d] [seconds] [allow|deny]`)
  const tools = checkTools()
  const tmp = mkdtempSync(join(tmpdir(), 'airlock-profile-'))
  const ctx = await prepareContext(tools, tmp, id === 'd')
  const profDir = join(tmp, 'prof')
  process.env.BENCH_NODE_OPTIONS = `--cpu-prof --cpu-prof-dir=${profDir}`
  const up = await startNginx(
    'nginx upstream',
    tools.nginx,
    join(tmp, 'up'),
    upstreamConf(join(tmp, 'up'), ctx.upstreamPort),
    ctx.upstreamPort,
    layout.load,
  )
  const running = await config.start(ctx)
  try {
    const req = path === 'deny' ? DENY : ALLOW
    const w = await wrk(tools.wrk, {
      url: running.url,
      connections: 64,
      durationS: Number(seconds),
      cpus: layout.load,
      headers: HEADERS,
      requests: [req],
    })
    process.stdout.write(
      `${config.label}, ${path} path: ${Math.round(w.rps)} req/s, statuses ${JSON.stringify(w.statuses)}\n`,
    )
  } finally {
    await running.stop()
    await up.stop()
  }
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'))
  if (!file) throw new Error(`no profile written in ${profDir}`)
  process.stdout.write(`profile: ${join(profDir, file)}\n\n${summarizeProfile(join(profDir, file))}`)
}

if (import.meta.main) {
  main().catch((err: Error) => {
    process.stderr.write(`profile: ${err.message}\n`)
    process.exit(1)
  })
}
