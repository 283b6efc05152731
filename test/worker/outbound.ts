// The network the Workers tests see (miniflare's outboundService, run in Node): a fake upstream that records every
// request, so a test can prove what reached it (and that a denied or held request never did), a webhook receiver,
// and a control endpoint the tests (inside workerd) read those records from.
import { mcpFetchHandler } from '../support/mcp-server.ts'

export interface Received {
  method: string
  url: string
  headers: Record<string, string>
  body: string
}

type Handler = (req: Received) => Response | Promise<Response>

/** upstream.test: a JSON echo, plus a few paths that answer in a particular way. */
const upstream: Handler = async (req) => {
  const path = new URL(req.url, 'https://upstream.test').pathname
  if (path === '/gzip') {
    // A compressed body the gateway must hand to the agent untouched. miniflare compresses what this handler returns
    // according to its Content-Encoding on the way to workerd, so the body here is the plain text and the wire
    // carries it gzipped once, as a real upstream would send it.
    return new Response(JSON.stringify({ compressed: true, accept_encoding: req.headers['accept-encoding'] ?? null }), {
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', 'x-upstream': 'test' },
    })
  }
  if (path === '/redirect') return new Response(null, { status: 302, headers: { location: 'https://elsewhere.test/' } })
  if (path === '/slow') await new Promise((r) => setTimeout(r, 3000))
  return Response.json(
    { method: req.method, url: req.url, body_bytes: Buffer.byteLength(req.body) },
    { headers: { 'x-upstream': 'test' } },
  )
}

export function createOutbound() {
  const received = new Map<string, Received[]>()
  const mcp = mcpFetchHandler({})
  const hosts: Record<string, Handler> = {
    'upstream.test': upstream,
    'hooks.test': () => new Response(null, { status: 204 }),
    // slack.test: the Slack Web API (chat.postMessage, chat.update, chat.postEphemeral) answering ok.
    'slack.test': (req) => {
      const args = JSON.parse(req.body || '{}') as { channel?: string; ts?: string }
      return Response.json({ ok: true, channel: args.channel, ts: args.ts ?? `1700000000.${Date.now() % 1_000_000}` })
    },
    // A real MCP server (the official SDK, stateless): what reached it is in received('mcp.test').
    'mcp.test': (req) =>
      mcp(
        new Request(`https://mcp.test${req.url}`, {
          method: req.method,
          headers: req.headers,
          body: req.method === 'GET' ? null : req.body,
        }),
      ),
  }
  return async (request: Request): Promise<Response> => {
    const url = new URL(request.url)
    if (url.host === 'control.test') {
      // GET /received/<host> → what that host received; DELETE /received → forget everything.
      if (request.method === 'DELETE') {
        received.clear()
        return new Response(null, { status: 204 })
      }
      return Response.json(received.get(url.pathname.split('/')[2] ?? '') ?? [])
    }
    const handler = hosts[url.host]
    if (!handler) return new Response(`the test network has no host ${url.host}`, { status: 502 })
    const req: Received = {
      method: request.method,
      url: url.pathname + url.search,
      headers: Object.fromEntries(request.headers),
      body: Buffer.from(await request.arrayBuffer()).toString('utf8'),
    }
    received.set(url.host, [...(received.get(url.host) ?? []), req])
    return handler(req)
  }
}
