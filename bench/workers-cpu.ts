// Workers: CPU per allowed and per denied request in workerd (issue 12's Workers row; docs/performance.md, "Workers:
// CPU per request"). Runs the bench config as a Worker under `wrangler dev` (the same bundle `wrangler deploy` ships,
// in the same workerd the Workers runtime is built from), sends a fixed number of requests of one kind at a time
// against a loopback upstream, and reads the workerd process's CPU time (utime + stime, /proc/<pid>/stat) around
// each batch. Process CPU is an upper bound of what Cloudflare bills as CPU time: it also counts workerd's own HTTP
// parsing and socket work, which the billed figure leaves out. Rounds alternate allow and deny.
//
//   node bench/workers-cpu.ts [--requests 2000] [--rounds 3]
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { parse, stringify } from 'yaml'
import { repoRoot } from '../gateway/node/toolchain/opa.ts'

const { values } = parseArgs({
  options: { requests: { type: 'string', default: '2000' }, rounds: { type: 'string', default: '3' } },
})
const N = Number(values.requests)
const ROUNDS = Number(values.rounds)
const KEY = 'bench-agent-key'
const CONCURRENCY = 8
const TICK_MS = 1000 / 100 // USER_HZ: /proc reports CPU in ticks of 10 ms

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)))
}

/** The upstream: a small JSON answer, as in the Node benchmark's nginx. */
const upstream = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': '17' }).end('{"ok":true,"n":1}')
})
const upstreamPort = await listen(upstream)
const free = createServer()
const port = await listen(free)
await new Promise((r) => free.close(r))

const config = parse(readFileSync(join(repoRoot, 'bench/airlock.bench.yaml'), 'utf8'))
config.routes[0].upstream = `http://127.0.0.1:${upstreamPort}`
config.log.level = process.env.LEVEL ?? 'info' // the default: one decision line per request
delete config.policy.dir
config.policy.source = join(repoRoot, 'policies')
delete config.data_dir
const configPath = join(mkdtempSync(join(tmpdir(), 'airlock-workers-cpu-')), 'airlock.yaml')
writeFileSync(configPath, stringify(config))

// wrangler dev runs wrangler.toml's [build] (npm run build:worker with $AIRLOCK_CONFIG), then workerd.
const wrangler = spawn(
  join(repoRoot, 'node_modules/.bin/wrangler'),
  ['dev', '--ip', '127.0.0.1', '--port', String(port), '--show-interactive-dev-session=false', '--log-level', 'warn'],
  {
    cwd: repoRoot,
    env: { ...process.env, AIRLOCK_CONFIG: configPath, WRANGLER_SEND_METRICS: 'false', CI: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  },
)
let output = ''
wrangler.stdout.on('data', (d) => (output += d))
wrangler.stderr.on('data', (d) => (output += d))
const stop = () => {
  try {
    process.kill(-wrangler.pid!, 'SIGTERM')
  } catch {}
  upstream.close()
}

/** workerd processes under wrangler (the runtime is a child process of wrangler's node). */
function workerdPids(): number[] {
  const parent = new Map<number, number>()
  const names = new Map<number, string>()
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8')
      const close = stat.lastIndexOf(')')
      names.set(Number(d), stat.slice(stat.indexOf('(') + 1, close))
      parent.set(Number(d), Number(stat.slice(close + 2).split(' ')[1]))
    } catch {}
  }
  const under = (pid: number): boolean => {
    for (let p = pid; p > 1; p = parent.get(p) ?? 0) if (p === wrangler.pid) return true
    return false
  }
  return [...names].filter(([pid, name]) => name === 'workerd' && under(pid)).map(([pid]) => pid)
}

function cpuTicks(pids: number[]): number {
  let sum = 0
  for (const pid of pids) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    sum += Number(f[11]) + Number(f[12]) // utime, stime (fields 14 and 15 of proc(5))
  }
  return sum
}

const base = `http://127.0.0.1:${port}/httpbin`
const kinds = {
  // Airlock's /healthz: no pipeline, no policy; what workerd (and wrangler dev's proxy in front of it) costs alone.
  healthz: { url: `http://127.0.0.1:${port}/healthz`, path: '', init: { method: 'GET' } },
  allow: { url: base, path: '/get', init: { method: 'GET' } },
  deny: {
    url: base,
    path: '/post',
    init: { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } },
  },
} as const
type Kind = keyof typeof kinds

async function send(kind: Kind, count: number): Promise<void> {
  const { url, path, init } = kinds[kind]
  const want = kind === 'deny' ? 403 : 200
  let left = count
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (left-- > 0) {
        const res = await fetch(url + path, {
          ...init,
          headers: { ...('headers' in init ? init.headers : {}), 'airlock-agent-key': KEY },
        })
        await res.arrayBuffer()
        if (res.status !== want) throw new Error(`${kind}: expected ${want}, got ${res.status}`)
      }
    }),
  )
}

try {
  const deadline = Date.now() + 120_000
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break
    } catch {}
    if (Date.now() > deadline || wrangler.exitCode !== null) throw new Error(`wrangler dev did not start:\n${output}`)
    await new Promise((r) => setTimeout(r, 250))
  }
  const pids = workerdPids()
  if (!pids.length) throw new Error('no workerd process found under wrangler dev')
  await send('allow', 300) // warm-up: JIT, connection pools
  await send('deny', 300)
  const results: Record<Kind, number[]> = { healthz: [], allow: [], deny: [] }
  for (let round = 0; round < ROUNDS; round++) {
    for (const kind of round % 2 ? (['deny', 'allow', 'healthz'] as const) : (['healthz', 'allow', 'deny'] as const)) {
      const before = cpuTicks(pids)
      const t0 = performance.now()
      await send(kind, N)
      const ms = performance.now() - t0
      const cpuUs = ((cpuTicks(pids) - before) * TICK_MS * 1000) / N
      results[kind].push(cpuUs)
      console.log(
        `round ${round + 1} ${kind}: ${cpuUs.toFixed(0)} µs CPU per request (workerd), ${((N / ms) * 1000).toFixed(0)} req/s`,
      )
    }
  }
  const median = (v: number[]) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)]!
  for (const kind of ['healthz', 'allow', 'deny'] as const) {
    console.log(
      `${kind}: median ${median(results[kind]).toFixed(0)} µs CPU per request (${results[kind].map((x) => x.toFixed(0)).join(', ')})`,
    )
  }
  // What the pipeline adds to a request that workerd and wrangler dev's proxy serve anyway.
  const floor = median(results.healthz)
  console.log(
    `above /healthz: allow ${(median(results.allow) - floor).toFixed(0)} µs, deny ${(median(results.deny) - floor).toFixed(0)} µs`,
  )
} finally {
  stop()
}
