// TLS interception: after CONNECT is accepted, Airlock finishes the agent's TLS handshake with a leaf for the CONNECT
// host (signed by its CA) and reads the HTTP requests inside; each one then runs the full pipeline like any other,
// body included, and is sent to the real host over a new, verified TLS connection. The destination is always the
// CONNECT host: an inner Host header or SNI naming another host changes nothing (no domain fronting).
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { TLSSocket } from 'node:tls'
import { getRequestListener } from '@hono/node-server'
import type { Agent } from '../../core/pipeline/request.ts'
import type { Logger } from '../../core/ports.ts'
import { singleWrite } from '../single-write.ts'
import type { LeafCache } from './leaf-cache.ts'
import type { Destination } from './tunnel.ts'

export interface InterceptedConnection {
  dest: Destination
  agent: Agent
  /** The agent's key, kept in memory only for hold status polling through the tunnel. */
  key: string
  clientAddress: string | undefined
}

/** Handles one request read from an intercepted connection; `origin` is https://host:port (http:// for plain HTTP). */
export type InnerHandler = (
  request: Request,
  conn: InterceptedConnection,
  origin: string,
  rawUrl: string,
) => Promise<Response> | Response

const TLS_HANDSHAKE = 0x16

/** limits.header_timeout_ms and body_timeout_ms, applied to intercepted connections (see the constructor). */
export interface InterceptTimeouts {
  headerMs: number
  bodyMs: number
}

export class Interceptor {
  readonly #server: Server
  readonly #connections = new WeakMap<object, { conn: InterceptedConnection; origin: string }>()
  /** Open intercepted sockets, closed with Airlock (a server that never listens does not track them itself). */
  readonly #open = new Set<Duplex>()
  readonly #leaves: LeafCache
  readonly #logger: Logger
  readonly #timeouts: InterceptTimeouts

  constructor(
    leaves: LeafCache,
    logger: Logger,
    handle: InnerHandler,
    timeouts: InterceptTimeouts = { headerMs: 15_000, bodyMs: 60_000 },
  ) {
    this.#leaves = leaves
    this.#logger = logger
    this.#timeouts = timeouts
    const listener = getRequestListener(async (request, env) => {
      const incoming = env.incoming as IncomingMessage
      const found = this.#connections.get(incoming.socket)!
      return singleWrite(await handle(request, found.conn, found.origin, incoming.url ?? '/'))
    })
    // Never listens: connections are handed to it after CONNECT.
    this.#server = createServer({ keepAliveTimeout: 30_000 }, listener)
    this.#server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      this.#logger.debug({ event: 'intercept', error: err.code ?? err.message }, 'intercepted connection error')
      socket.destroy()
    })
    // A server that never listens runs none of Node's headersTimeout/requestTimeout checks, so intercepted connections
    // get idle timeouts instead: header_timeout_ms until the first request (#hand), body_timeout_ms without a byte
    // while a body arrives, none once it is in (a held request may wait for its approval); between requests the
    // server's keep-alive timeout applies. A client trickling bytes is bounded by the main listener's requestTimeout
    // only up to CONNECT; inside the tunnel by these idle timeouts and the body size limit.
    this.#server.on('request', (req: IncomingMessage) => {
      const socket = req.socket
      const hasBody = (req.headers['content-length'] ?? '0') !== '0' || req.headers['transfer-encoding'] !== undefined
      if (!hasBody) return void socket.setTimeout(0)
      socket.setTimeout(this.#timeouts.bodyMs)
      req.once('end', () => socket.setTimeout(0))
    })
  }

  /** Mints (or reuses) the host's leaf; rejects before anything is written to the agent. */
  async prepare(host: string): Promise<void> {
    await this.#leaves.context(host)
  }

  /** Takes over a CONNECT socket once "200 Connection Established" has been written. */
  async take(socket: Duplex, head: Buffer, conn: InterceptedConnection): Promise<void> {
    if (head.length) socket.unshift(head)
    // An agent that opens a tunnel and sends nothing holds a socket: the header timeout covers the wait too.
    const idle = () => socket.destroy()
    asSocket(socket).setTimeout(this.#timeouts.headerMs, idle)
    const first = await firstByte(socket)
    asSocket(socket).setTimeout(0)
    socket.removeListener('timeout', idle)
    if (first === undefined) return void socket.destroy()
    const { host, port } = conn.dest
    const authority = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
    if (first !== TLS_HANDSHAKE) {
      // Some clients (undici's ProxyAgent) tunnel plain http:// requests too: read them as they are.
      this.#hand(socket, conn, `http://${authority}`)
      return
    }
    const tls = new TLSSocket(socket as never, {
      isServer: true,
      secureContext: await this.#leaves.context(host),
      ALPNProtocols: ['http/1.1'],
    })
    tls.once('error', (err: NodeJS.ErrnoException) => {
      // The usual cause: the agent does not trust Airlock's CA, or pins the real certificate (then use tls: tunnel).
      this.#logger.warn(
        { event: 'intercept.tls_failed', host, agent: conn.agent.id, error: err.code ?? err.message },
        'TLS handshake with the agent failed',
      )
      socket.destroy()
    })
    this.#hand(tls, conn, new URL(`https://${authority}`).origin)
  }

  #hand(socket: Duplex, conn: InterceptedConnection, origin: string): void {
    this.#connections.set(socket, { conn, origin })
    this.#open.add(socket)
    socket.once('close', () => this.#open.delete(socket))
    // Without a 'timeout' listener on the request, Node's server destroys an idle socket; this makes sure of it.
    asSocket(socket).setTimeout(this.#timeouts.headerMs, () => socket.destroy())
    this.#server.emit('connection', socket)
  }

  close(): void {
    for (const socket of this.#open) socket.destroy()
  }
}

/** A CONNECT socket (or the TLS socket over it): a net.Socket, typed as the Duplex the http server's event gives. */
const asSocket = (s: Duplex) => s as Socket

/** Waits for the first byte the agent sends in the tunnel and puts it back. */
function firstByte(socket: Duplex): Promise<number | undefined> {
  return new Promise((resolve) => {
    const done = (v: number | undefined) => {
      socket.removeListener('readable', onReadable)
      socket.removeListener('end', onEnd)
      socket.removeListener('close', onEnd)
      resolve(v)
    }
    const onReadable = () => {
      const chunk: Buffer | null = socket.read()
      if (chunk === null) return
      socket.unshift(chunk)
      done(chunk[0])
    }
    // http.Server sockets allow half-open connections: an agent that hangs up sends 'end', not 'close'.
    const onEnd = () => done(undefined)
    socket.on('readable', onReadable)
    socket.once('end', onEnd)
    socket.once('close', onEnd)
    onReadable()
  })
}
