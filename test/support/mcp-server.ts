// A real MCP server on loopback (the official SDK's McpServer over its Streamable HTTP server transport, one session
// per client) with a payments-like tool set whose tools count their calls: a test can prove that a denied or held
// call never ran, and that an approved one ran exactly once.
import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js'
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js'
import { z } from 'zod'

export interface TestMcpServer {
  url: string
  /** Calls per tool name. */
  calls: Record<string, number>
  /** Every HTTP request that reached the server. */
  requests: { method: string; headers: IncomingMessage['headers']; body: string }[]
  close(): Promise<void>
}

/** The long result list_payments streams after its progress notifications. */
export const LONG_RESULT_CHARS = 300_000

function paymentsServer(calls: Record<string, number>): McpServer {
  const server = new McpServer({ name: 'payments', version: '1.0.0' })
  const ran = <T>(name: string, result: T): T => {
    calls[name] = (calls[name] ?? 0) + 1
    return result
  }
  const text = (t: string) => ({ content: [{ type: 'text' as const, text: t }] })
  server.registerTool('get_balance', { description: 'The account balance' }, async () =>
    ran('get_balance', text('balance: 1,000.00 USD')),
  )
  server.registerTool(
    'refund_payment',
    {
      description: 'Refund a payment',
      inputSchema: { payment_id: z.string(), amount_cents: z.number().int().optional(), reason: z.string().optional() },
    },
    async (a) => ran('refund_payment', text(`refunded ${a.amount_cents ?? 'all'} on ${a.payment_id}`)),
  )
  server.registerTool(
    'create_payout',
    {
      description: 'Pay out to a bank account',
      inputSchema: { amount_cents: z.number().int(), destination: z.string() },
    },
    async (a) => ran('create_payout', text(`paid out ${a.amount_cents} to ${a.destination}`)),
  )
  server.registerTool(
    'update_customer',
    { description: 'Update a customer', inputSchema: { customer_id: z.string(), email: z.string().optional() } },
    async (a) => ran('update_customer', text(`updated ${a.customer_id}`)),
  )
  server.registerTool('wipe_ledger', { description: 'No policy allows this one' }, async () =>
    ran('wipe_ledger', text('wiped')),
  )
  server.registerTool(
    'list_payments',
    { description: 'Every payment, slowly', inputSchema: { steps: z.number().int() } },
    async (a, extra) => {
      const token = extra._meta?.progressToken
      for (let i = 1; i <= a.steps; i++) {
        await new Promise((r) => setTimeout(r, 150))
        if (token !== undefined)
          await extra.sendNotification({
            method: 'notifications/progress',
            params: { progressToken: token, progress: i, total: a.steps },
          })
      }
      return ran('list_payments', text('p'.repeat(LONG_RESULT_CHARS)))
    },
  )
  return server
}

export async function startMcpServer(): Promise<TestMcpServer> {
  const calls: Record<string, number> = {}
  const requests: TestMcpServer['requests'] = []
  const sessions = new Map<string, StreamableHTTPServerTransport>()
  const http = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const body = Buffer.concat(chunks).toString()
    requests.push({ method: req.method ?? '', headers: req.headers, body })
    const sid = req.headers['mcp-session-id'] as string | undefined
    let transport = sid ? sessions.get(sid) : undefined
    let parsed: unknown
    try {
      parsed = body ? JSON.parse(body) : undefined
    } catch {
      parsed = undefined
    }
    if (!transport && req.method === 'POST' && isInitializeRequest(parsed)) {
      const t = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => void sessions.set(id, t),
      })
      await paymentsServer(calls).connect(t)
      transport = t
    }
    if (!transport) {
      res.writeHead(sid ? 404 : 400, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32000, message: 'no session' } }))
      return
    }
    await transport.handleRequest(req, res, parsed)
  })
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r))
  const { port } = http.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    requests,
    async close() {
      for (const t of sessions.values()) await t.close()
      http.closeAllConnections()
      await new Promise<void>((r) => http.close(() => r()))
    },
  }
}

/**
 * The same server as a fetch handler (Request → Response), stateless and answering JSON: the Workers tests' fake
 * network (test/worker/outbound.ts) serves it as https://mcp.test.
 */
export function mcpFetchHandler(calls: Record<string, number>): (request: Request) => Promise<Response> {
  return async (request) => {
    const transport = new WebStandardStreamableHTTPServerTransport({ enableJsonResponse: true })
    await paymentsServer(calls).connect(transport)
    return transport.handleRequest(request)
  }
}
