// The intercepted path beside the routed one (issue 6): one Airlock process serving the same HTTPS upstream both as
// a reverse route (/httpbin/… → https://upstream) and as an HTTPS_PROXY that intercepts TLS. The same Node client
// (undici, keep-alive, closed loop) drives both in alternating rounds, so the difference is what interception costs:
// the agent↔Airlock TLS session and CONNECT handling on top of the same pipeline. Leaf minting is measured apart.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Agent, type Dispatcher, ProxyAgent, request } from 'undici'
import { type MintingCost, measureMinting, startInterceptingAirlock, upstreamCertificate } from './intercept.ts'
import { percentile } from './loadgen.ts'
import { sslUpstreamConf, startNginx } from './nginx.ts'
import { freePort, layout } from './procs.ts'

export interface PathFigures {
  requests: number
  rps: number
  p50_ms: number
  p99_ms: number
  statuses: Record<string, number>
}

export interface InterceptComparison {
  connections: number
  seconds: number
  rounds: number
  routed: PathFigures
  intercepted: PathFigures
  minting: MintingCost
}

async function drive(
  dispatcher: Dispatcher,
  url: string,
  headers: Record<string, string>,
  connections: number,
  ms: number,
): Promise<PathFigures> {
  const latencies: number[] = []
  const statuses: Record<string, number> = {}
  const end = performance.now() + ms
  const worker = async () => {
    while (performance.now() < end) {
      const t = performance.now()
      const res = await request(url, { dispatcher, headers })
      await res.body.arrayBuffer()
      latencies.push(performance.now() - t)
      statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: connections }, worker))
  const elapsed = (performance.now() - started) / 1000
  latencies.sort((a, b) => a - b)
  return {
    requests: latencies.length,
    rps: latencies.length / elapsed,
    p50_ms: percentile(latencies, 50),
    p99_ms: percentile(latencies, 99),
    statuses,
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

function combine(runs: PathFigures[]): PathFigures {
  const statuses: Record<string, number> = {}
  for (const r of runs) for (const [k, v] of Object.entries(r.statuses)) statuses[k] = (statuses[k] ?? 0) + v
  return {
    requests: runs.reduce((n, r) => n + r.requests, 0),
    rps: median(runs.map((r) => r.rps)),
    p50_ms: median(runs.map((r) => r.p50_ms)),
    p99_ms: median(runs.map((r) => r.p99_ms)),
    statuses,
  }
}

export async function compareIntercept(opts: {
  nginx: string
  tmp: string
  policyDir: string
  seconds: number
  rounds: number
  connections: number
  log?: (msg: string) => void
}): Promise<InterceptComparison> {
  const log = opts.log ?? (() => {})
  const pki = await upstreamCertificate(join(opts.tmp, 'intercept-pki'))
  const upstreamPort = await freePort()
  const prefix = join(opts.tmp, `nginx-tls-${upstreamPort}`)
  const upstream = await startNginx(
    'nginx https upstream',
    opts.nginx,
    prefix,
    sslUpstreamConf(prefix, upstreamPort, pki.certFile, pki.keyFile),
    upstreamPort,
    layout.load,
  )
  const airlock = await startInterceptingAirlock({
    upstream: `https://127.0.0.1:${upstreamPort}`,
    upstreamCaFile: pki.caFile,
    tmp: opts.tmp,
    policyDir: opts.policyDir,
    cpus: layout.sut,
    prefix: '/httpbin',
  })
  const ca = readFileSync(airlock.caCertFile, 'utf8')
  const proxyUrl = new URL(airlock.proxyUrl)
  const viaProxy = new ProxyAgent({
    uri: `${proxyUrl.protocol}//${proxyUrl.host}`,
    token: `Basic ${btoa(`${decodeURIComponent(proxyUrl.username)}:${decodeURIComponent(proxyUrl.password)}`)}`,
    requestTls: { ca },
    connections: opts.connections,
  })
  const direct = new Agent({ connections: opts.connections })
  const routedUrl = `${airlock.url}/httpbin/anything/bench`
  try {
    const routed: PathFigures[] = []
    const intercepted: PathFigures[] = []
    for (let i = 0; i < opts.rounds; i++) {
      // Alternating order, so drift on a shared machine hits both paths alike.
      const order = i % 2 ? (['i', 'r'] as const) : (['r', 'i'] as const)
      for (const which of order) {
        if (which === 'r')
          routed.push(
            await drive(
              direct,
              routedUrl,
              { 'airlock-agent-key': 'bench-agent-key' },
              opts.connections,
              opts.seconds * 1000,
            ),
          )
        else intercepted.push(await drive(viaProxy, airlock.targetUrl, {}, opts.connections, opts.seconds * 1000))
      }
      log(
        `intercept round ${i + 1}/${opts.rounds}: routed ${routed.at(-1)!.rps.toFixed(0)} req/s, intercepted ${intercepted.at(-1)!.rps.toFixed(0)} req/s`,
      )
    }
    return {
      connections: opts.connections,
      seconds: opts.seconds,
      rounds: opts.rounds,
      routed: combine(routed),
      intercepted: combine(intercepted),
      minting: await measureMinting(),
    }
  } finally {
    await viaProxy.close()
    await direct.close()
    await airlock.stop()
    await upstream.stop()
  }
}

export function renderIntercept(c: InterceptComparison): string {
  const row = (name: string, f: PathFigures) =>
    `| ${name} | ${Math.round(f.rps).toLocaleString('en-US')} | ${f.p50_ms.toFixed(3)} | ${f.p99_ms.toFixed(3)} | ${JSON.stringify(f.statuses)} |`
  return [
    '### Intercepted path (forward proxy with TLS interception) beside the routed path',
    '',
    `One Airlock process (pinned like the others) in front of the same HTTPS upstream (nginx, 1 KiB JSON), reached as a reverse route and as an HTTPS_PROXY that intercepts TLS; the same Node client (undici, ${c.connections} keep-alive connections, closed loop) drives each path for ${c.seconds} s, ${c.rounds} rounds in alternating order; medians.`,
    '',
    '| path | req/s | p50 ms | p99 ms | statuses |',
    '|---|--:|--:|--:|---|',
    row('routed (`/httpbin/…` → https upstream)', c.routed),
    row('intercepted (`HTTPS_PROXY`, CONNECT + TLS to Airlock)', c.intercepted),
    '',
    `Intercepted / routed throughput: ${(c.intercepted.rps / c.routed.rps).toFixed(2)} ×. Leaf certificates: minting ${c.minting.issueMs.toFixed(2)} ms, first use of a new host (mint + TLS context) ${c.minting.firstUseMs.toFixed(2)} ms, cached ${c.minting.cachedUs.toFixed(1)} µs.`,
  ].join('\n')
}
