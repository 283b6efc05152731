// A real HTTP upstream on loopback that records every request it receives, so a test can prove what reached it
// (and that a denied or held request never did).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'

export interface Received {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: Buffer
}

export type Handler = (req: Received, res: ServerResponse) => void | Promise<void>

export interface TestUpstream {
  url: string
  port: number
  received: Received[]
  /** Replaces the response behaviour (default: 200 JSON echo of method, url and body size). */
  handle(h: Handler): void
  close(): Promise<void>
}

export const echo: Handler = (req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'test' })
  res.end(JSON.stringify({ method: req.method, url: req.url, body_bytes: req.body.length }))
}

export interface UpstreamOptions {
  host?: string
  /** Serve HTTPS with this certificate (forward-proxy tests: an upstream Airlock must verify). */
  tls?: { cert: string; key: string }
}

export async function startUpstream(handler: Handler = echo, opts: UpstreamOptions = {}): Promise<TestUpstream> {
  const host = opts.host ?? '127.0.0.1'
  const received: Received[] = []
  let current = handler
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const r: Received = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      }
      received.push(r)
      Promise.resolve(current(r, res)).catch((err) => {
        res.destroy(err as Error)
      })
    })
  }
  const server = opts.tls ? createHttpsServer(opts.tls, listener) : createServer(listener)
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `${opts.tls ? 'https' : 'http'}://${host}:${port}`,
    port,
    received,
    handle(h) {
      current = h
    },
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
