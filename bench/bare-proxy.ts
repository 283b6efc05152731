// Configuration (b): the floor for a Node proxy. node:http in front of undici's request API over a keep-alive
// Agent, as gateway/node/upstream.ts forwards, with no routing, authentication or policy: what any Node gateway
// pays before it does anything of its own.
//
// With --opa it is configuration (f), the OPA-sidecar architecture: for each request it builds the same policy
// input as Airlock (gateway/core/pipeline/input.ts), asks `opa run --server` over loopback HTTP
// (POST /v1/data/airlock/decision) and forwards on allow/review, refuses with 403 otherwise.
//
//   node bench/bare-proxy.ts --port 8081 --upstream http://127.0.0.1:8090 [--opa http://127.0.0.1:8181]
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { parseArgs } from 'node:util'
import { Agent, type Dispatcher } from 'undici'
import type { RouteConfig } from '../gateway/core/config/schema.ts'
import { buildInput } from '../gateway/core/pipeline/input.ts'

const { values } = parseArgs({
  options: { port: { type: 'string' }, upstream: { type: 'string' }, opa: { type: 'string' } },
})
if (!values.port || !values.upstream) throw new Error('usage: bare-proxy.ts --port N --upstream URL [--opa URL]')
const upstream = new URL(values.upstream)
const opaUrl = values.opa ? new URL('/v1/data/airlock/decision', values.opa) : undefined

// The gateway's pool settings (gateway/node/upstream.ts).
const agent = new Agent({ keepAliveTimeout: 30_000, connections: 256 })
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
])

// The sidecar's fixed route and agent: the bare proxy authenticates nobody; only the policy call is compared.
const route = { name: 'httpbin', upstream: upstream.origin } as RouteConfig
const benchAgent = { id: 'bench-bot', owner: 'bench@example.com', labels: { team: 'bench' } }

function requestHeaders(req: IncomingMessage): string[] {
  const out: string[] = []
  const raw = req.rawHeaders
  for (let i = 0; i < raw.length; i += 2) if (!HOP_BY_HOP.has(raw[i]!.toLowerCase())) out.push(raw[i]!, raw[i + 1]!)
  return out
}

async function readAll(req: IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return chunks.length ? Buffer.concat(chunks) : null
}

async function askOpa(req: IncomingMessage, body: Buffer | null): Promise<string> {
  const headers = new Headers()
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v)
  const input = buildInput({
    method: req.method ?? 'GET',
    upstreamUrl: new URL(req.url ?? '/', upstream),
    headers,
    body,
    bodySha256: '',
    agent: benchAgent,
    route,
    nowMs: Date.now(),
    pendingHolds: {},
  })
  const res = await agent.request({
    origin: opaUrl!.origin,
    path: opaUrl!.pathname,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ input }),
  })
  const answer = (await res.body.json()) as { result?: { action?: string } }
  return answer.result?.action ?? 'deny'
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  let body: Buffer | null = null
  if (opaUrl) {
    body = await readAll(req)
    const action = await askOpa(req, body)
    if (action !== 'allow' && action !== 'review') {
      const text = JSON.stringify({ error: { code: 'AIRLOCK_DENIED', action } })
      res.writeHead(403, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
      res.end(text)
      return
    }
  }
  const up = await agent.request({
    origin: upstream.origin,
    path: req.url ?? '/',
    method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
    headers: requestHeaders(req),
    body: opaUrl ? body : req.method === 'GET' || req.method === 'HEAD' ? null : req,
  })
  const headers: Record<string, string | string[]> = {}
  for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = v
  res.writeHead(up.statusCode, headers)
  for await (const chunk of up.body) res.write(chunk)
  res.end()
}

const server = createServer((req, res) => {
  handle(req, res).catch((err: Error) => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' })
    res.end(`bare proxy: ${err.message}`)
  })
})
server.keepAliveTimeout = 75_000
server.listen(Number(values.port), '127.0.0.1')
process.once('SIGTERM', () => {
  server.close()
  server.closeAllConnections()
  void agent.close().then(() => process.exit(0))
})
