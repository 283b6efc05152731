// The Node upstream: undici's request API over pooled keep-alive agents. It returns the response head as soon as it
// arrives and streams the body without decoding content-encodings (fetch would decompress, breaking byte-for-byte
// forwarding). Two pools: one with the SSRF guard in its resolver, one for routes that allow private destinations.
import { isIP } from 'node:net'
import { Agent, type Dispatcher, fetch as undiciFetch } from 'undici'
import { AirlockError } from '../core/errors.ts'
import { NULL_BODY_STATUS } from '../core/pipeline/forward.ts'
import type { Upstream, UpstreamRequest } from '../core/ports.ts'
import { forbidden, guardedConnector, isPrivateAddress } from './ssrf.ts'
import { readableToWeb } from './web-stream.ts'

export interface NodeUpstreamOptions {
  connectTimeoutMs: number
  /** Extra CA certificates for upstream TLS (tests, private CAs). */
  ca?: string | Buffer | undefined
}

export interface NodeUpstream extends Upstream {
  /** fetch for webhooks, through the same pools and SSRF guard. */
  webhookFetch(url: string, init: RequestInit, allowPrivate: boolean): Promise<Response>
  close(): Promise<void>
}

export function createNodeUpstream(opts: NodeUpstreamOptions): NodeUpstream {
  const common = {
    keepAliveTimeout: 30_000,
    connections: 256,
    connect: { timeout: opts.connectTimeoutMs, ...(opts.ca ? { ca: opts.ca } : {}) },
  }
  const guarded = new Agent({ ...common, connect: guardedConnector(common.connect) })
  const open = new Agent(common)

  const send = async (req: UpstreamRequest): Promise<Response> => {
    // Also refused by the guarded pool's connector; checked here first for a clear error without a connection attempt.
    const host = req.url.hostname.replace(/^\[|\]$/g, '')
    if (!req.allowPrivate && isIP(host) && isPrivateAddress(host)) throw forbidden(host)
    const dispatcher: Dispatcher = req.allowPrivate ? open : guarded
    let res: Dispatcher.ResponseData
    try {
      res = await dispatcher.request({
        origin: req.url.origin,
        path: req.url.pathname + req.url.search,
        method: req.method as Dispatcher.HttpMethod,
        headers: [...req.headers].flat(),
        body: req.body && req.body.byteLength > 0 ? req.body : null,
        headersTimeout: req.timeoutMs,
        bodyTimeout: req.timeoutMs,
      })
    } catch (err) {
      throw upstreamError(err, req.url.host, req.timeoutMs)
    }
    const headers = new Headers()
    for (const [name, value] of Object.entries(res.headers)) {
      if (Array.isArray(value)) for (const v of value) headers.append(name, v)
      else if (value !== undefined) headers.set(name, value)
    }
    if (NULL_BODY_STATUS.has(res.statusCode) || req.method === 'HEAD') {
      res.body.resume()
      return new Response(null, { status: res.statusCode, headers })
    }
    return new Response(readableToWeb(res.body), { status: res.statusCode, headers })
  }

  const webhookFetch = async (url: string, init: RequestInit, allowPrivate: boolean): Promise<Response> => {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '')
    if (!allowPrivate && isIP(host) && isPrivateAddress(host)) throw forbidden(host)
    // Redirects are never followed (issue 10 item 3): a 3xx is the receiver's answer and a failed delivery.
    const res = await undiciFetch(url, {
      ...(init as object),
      redirect: 'manual',
      dispatcher: allowPrivate ? open : guarded,
    })
    return res as unknown as Response
  }

  return Object.assign(send, {
    webhookFetch,
    close: async () => {
      await Promise.all([guarded.close(), open.close()])
    },
  })
}

function upstreamError(err: unknown, host: string, timeoutMs: number): AirlockError {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    if (e instanceof AirlockError) return e
  }
  const code = (err as { code?: string }).code ?? ''
  // A connect timeout never reached the upstream: a connect failure (502), which also lets a held request be marked
  // failed rather than outcome-unknown.
  if (code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new AirlockError(
      'AIRLOCK_UPSTREAM_CONNECT',
      `could not connect to the upstream ${host} in time`,
      {},
      { cause: err },
    )
  }
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new AirlockError(
      'AIRLOCK_UPSTREAM_TIMEOUT',
      `the upstream ${host} did not answer within ${timeoutMs} ms`,
      {},
      { cause: err },
    )
  }
  return new AirlockError(
    'AIRLOCK_UPSTREAM_CONNECT',
    `could not reach the upstream ${host} (${code || 'connection failed'})`,
    {},
    { cause: err },
  )
}
