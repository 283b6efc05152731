// The Workers upstream: global fetch, with the bytes left as the upstream sent them. By default Workers' fetch decodes
// gzip/br bodies while keeping Content-Encoding; `encodeResponseBody: "manual"` hands over the raw bytes instead (the
// entry then answers with `encodeBody: "manual"` so they are not compressed twice). Redirects are passed back to the
// agent, not followed. The SSRF guard here only judges IP literals: Workers cannot resolve names, and Cloudflare's
// fetch cannot reach IP literals or private networks in production anyway (see docs/deploy-workers.md).
import { AirlockError } from '../core/errors.ts'
import type { Upstream, UpstreamRequest } from '../core/ports.ts'
import { isIpLiteral, isPrivateAddress } from '../core/private-address.ts'

export interface WorkerUpstream extends Upstream {
  /** fetch for webhooks, behind the same guard. */
  webhookFetch(url: string, init: RequestInit, allowPrivate: boolean): Promise<Response>
}

/** Hosts that are private whatever they resolve to: IP literals in private ranges, and localhost (RFC 6761). */
export function forbiddenHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase()
  if (host === 'localhost' || host.endsWith('.localhost')) return true
  return isIpLiteral(host) && isPrivateAddress(host)
}

function forbidden(host: string): AirlockError {
  return new AirlockError(
    'AIRLOCK_DESTINATION_FORBIDDEN',
    `the destination ${host} is a private, loopback or link-local address; this route does not allow it`,
  )
}

// Workers-only RequestInit field; the DOM lib does not know it.
type WorkersRequestInit = RequestInit & { encodeResponseBody?: 'automatic' | 'manual' }

export function createWorkerUpstream(fetchImpl: typeof fetch = (input, init) => fetch(input, init)): WorkerUpstream {
  const send = async (req: UpstreamRequest): Promise<Response> => {
    if (!req.allowPrivate && forbiddenHost(req.url.hostname)) throw forbidden(req.url.hostname)
    // The timeout covers the wait for the response head (like undici's headersTimeout on Node); a long body that keeps
    // streaming is not cut off by it.
    const controller = new AbortController()
    const timer = setTimeout(
      () => controller.abort(new DOMException('upstream timeout', 'TimeoutError')),
      req.timeoutMs,
    )
    const init: WorkersRequestInit = {
      method: req.method,
      headers: req.headers,
      body: req.body && req.body.byteLength > 0 ? (req.body as Uint8Array<ArrayBuffer>) : null,
      redirect: 'manual',
      signal: controller.signal,
      encodeResponseBody: 'manual',
    }
    try {
      return await fetchImpl(req.url.href, init)
    } catch (err) {
      if (controller.signal.aborted) {
        throw new AirlockError(
          'AIRLOCK_UPSTREAM_TIMEOUT',
          `the upstream ${req.url.host} did not answer within ${req.timeoutMs} ms`,
          {},
          { cause: err },
        )
      }
      throw new AirlockError(
        'AIRLOCK_UPSTREAM_CONNECT',
        `could not reach the upstream ${req.url.host} (connection failed)`,
        {},
        { cause: err },
      )
    } finally {
      clearTimeout(timer)
    }
  }

  const webhookFetch = async (url: string, init: RequestInit, allowPrivate: boolean): Promise<Response> => {
    const host = new URL(url).hostname
    if (!allowPrivate && forbiddenHost(host)) throw forbidden(host)
    // Never followed: a redirect's target would skip the check above.
    return fetchImpl(url, { ...init, redirect: 'manual' })
  }

  return Object.assign(send, { webhookFetch })
}
