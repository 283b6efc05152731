// wrk measures maximum throughput: closed-loop, a fixed number of keep-alive connections each sending as soon as
// its previous answer arrived, one native thread on the load CPU. It is far cheaper per request than any Node
// client, so the proxy under test, not the generator, is what saturates (checked: wrk alone against the upstream,
// configuration (a), reaches several times what any proxy does).
import { fileURLToPath } from 'node:url'
import { run } from './procs.ts'

const STATUS_SCRIPT = fileURLToPath(new URL('./wrk-status.lua', import.meta.url))
const PATH_SCRIPT = fileURLToPath(new URL('./wrk-path.lua', import.meta.url))

export interface WrkOptions {
  url: string
  connections: number
  durationS: number
  cpus: string | undefined
  headers: Record<string, string>
  /** With more than one request, or when statuses are wanted, the Lua script sends them round-robin and counts statuses. */
  requests?: { method: string; path: string; body?: string }[]
  /** The request target instead of the URL's path: an absolute-form target for a forward proxy (Smokescreen). */
  path?: string | undefined
}

export interface WrkResult {
  requests: number
  seconds: number
  rps: number
  non2xx: number
  socketErrors: number
  /** Only with `requests` (the Lua script). */
  statuses?: Record<string, number>
}

export async function wrk(bin: string, o: WrkOptions): Promise<WrkResult> {
  const args = ['-t', '1', '-c', String(o.connections), '-d', `${o.durationS}s`, '--timeout', '10s']
  const env = { ...process.env }
  const url = o.url
  if (o.requests) {
    args.push('-s', STATUS_SCRIPT)
    env.BENCH_REQUESTS = o.requests.map((r) => `${r.method} ${r.path}${r.body ? ` ${r.body}` : ''}`).join('|')
    env.BENCH_HEADERS = Object.entries(o.headers)
      .map(([k, v]) => `${k}: ${v}`)
      .join('|')
  } else {
    for (const [k, v] of Object.entries(o.headers)) args.push('-H', `${k}: ${v}`)
    if (o.path) {
      args.push('-s', PATH_SCRIPT)
      env.BENCH_PATH = o.path
    }
  }
  args.push(url)
  const out = await run(bin, args, { cpus: o.cpus, timeoutMs: (o.durationS + 30) * 1000, env })
  return parseWrk(out)
}

export function parseWrk(out: string): WrkResult {
  const m = /(\d+) requests in ([\d.]+)(us|ms|s|m)/.exec(out)
  if (!m) throw new Error(`unexpected wrk output:\n${out}`)
  const unit = { us: 1e-6, ms: 1e-3, s: 1, m: 60 }[m[3] as 'us' | 'ms' | 's' | 'm']
  const requests = Number(m[1])
  const seconds = Number(m[2]) * unit
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  const statuses = /BENCH_STATUSES (\{.*\})/.exec(out)
  return {
    requests,
    seconds,
    rps: Number(/Requests\/sec:\s*([\d.]+)/.exec(out)?.[1] ?? requests / seconds),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
    socketErrors: sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    ...(statuses ? { statuses: (JSON.parse(statuses[1]!) as { statuses: Record<string, number> }).statuses } : {}),
  }
}
