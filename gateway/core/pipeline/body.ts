// Buffers the request body up to a limit so the policy can read it and the exact bytes can be forwarded (and,
// for holds, stored and re-verified). Over the limit is refused before anything reaches the upstream.
import { AirlockError } from '../errors.ts'
import type { BodyLease } from '../limits/body-budget.ts'
import { MultipartError, parseMultipart } from './multipart.ts'
import type { InboundRequest } from './request.ts'

/**
 * With a lease (limits/body-budget.ts), the bytes are reserved in the gateway-wide budget before they are read: the
 * declared Content-Length at once, a chunked body as it arrives; past the budget it throws 503 AIRLOCK_OVERLOADED.
 */
export async function readBody(
  request: Pick<InboundRequest, 'method' | 'body' | 'headers'>,
  limit: number,
  lease?: BodyLease,
): Promise<Uint8Array | null> {
  const declared = request.headers.get('content-length')
  // A GET or HEAD that declares no body has none (RFC 9112 §6.3). Checking first matters: on Node, touching
  // `request.body` turns @hono/node-server's lightweight request into a full Request, on the hot path.
  if (
    (request.method === 'GET' || request.method === 'HEAD') &&
    declared === null &&
    !request.headers.has('transfer-encoding')
  )
    return null
  if (request.body === null) return null
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit)
  if (request.body instanceof Uint8Array) {
    // Bytes an adapter has already read: the same limit, and the same budget (they are held until the request ends).
    if (request.body.byteLength > limit) throw tooLarge(limit)
    lease?.cover(request.body.byteLength)
    return request.body
  }
  if (lease && declared !== null) lease.cover(Number(declared) || 0)
  let read: { bytes: Uint8Array; truncated: boolean }
  try {
    read = await readUpTo(request.body, limit, lease)
  } catch (err) {
    if (err instanceof AirlockError) throw err
    // The stream failed: the agent hung up, or the server cut a client too slow to send (limits.body_timeout_ms).
    throw new AirlockError(
      'AIRLOCK_BODY_INCOMPLETE',
      'the request body did not arrive in full (the connection closed or was too slow); nothing was forwarded',
      {},
      { cause: err },
    )
  }
  const { bytes, truncated } = read
  if (truncated) throw tooLarge(limit)
  return bytes
}

/** Reads a stream into one buffer, stopping (and cancelling the stream) once it passes `limit` bytes. */
export async function readUpTo(
  stream: ReadableStream<Uint8Array>,
  limit: number,
  lease?: BodyLease,
): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  const reader = stream.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  let truncated = false
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    if (size + value.byteLength > limit) {
      chunks.push(value.subarray(0, limit - size))
      size = limit
      truncated = true
      await reader.cancel().catch(() => {})
      break
    }
    chunks.push(value)
    size += value.byteLength
    if (lease) {
      try {
        lease.cover(size)
      } catch (err) {
        await reader.cancel().catch(() => {})
        throw err
      }
    }
  }
  if (chunks.length === 1) return { bytes: chunks[0]!, truncated }
  const bytes = new Uint8Array(size)
  let offset = 0
  for (const c of chunks) {
    bytes.set(c, offset)
    offset += c.byteLength
  }
  return { bytes, truncated }
}

function tooLarge(limit: number) {
  return new AirlockError(
    'AIRLOCK_BODY_TOO_LARGE',
    `request body exceeds the ${limit}-byte limit of this route; it was not forwarded`,
    {
      limit_bytes: limit,
    },
  )
}

/** JSON → value, form-urlencoded → object of strings (arrays when repeated), multipart → its fields, else → null. */
export function parseBody(body: Uint8Array | null, contentType: string | null): unknown {
  return decodeBody(body, contentType).value
}

export interface DecodedBody {
  value: unknown
  /** The text of a JSON body (valid JSON), so the policy input can carry it without re-serialising. */
  json?: string
  /** input.request.body_media_type: the declared media type, lower case, without parameters; null without one. */
  mediaType: string | null
  /** input.request.body_parse_error: why a non-empty body is not in `value` (null when it is, or there is none). */
  parseError: string | null
}

/**
 * The body as the policy reads it. A body that claims JSON or form data but is not is refused (400); any other body
 * the policy cannot read is `null` with a `parseError` saying why, so a rule can refuse what it cannot see
 * (issue 10 item 6: multipart, text/plain carrying JSON, a repeated Content-Type all reached policies as `null`).
 */
export function decodeBody(body: Uint8Array | null, contentType: string | null): DecodedBody {
  const empty = !body || body.byteLength === 0
  if (contentType === null)
    return {
      value: null,
      mediaType: null,
      parseError: empty ? null : 'the body has no Content-Type, so Airlock cannot read it',
    }
  // Headers joins a repeated field with ", "; a media type has no comma outside a quoted parameter value.
  if (/,/.test(contentType.replace(/"(?:[^"\\]|\\.)*"/g, '""'))) {
    return {
      value: null,
      mediaType: contentType.trim().toLowerCase(),
      parseError: empty
        ? null
        : 'the request has more than one Content-Type, so the upstream may read the body differently than Airlock could',
    }
  }
  const type = contentType.split(';')[0]!.trim().toLowerCase()
  if (empty) return { value: null, mediaType: type, parseError: null }
  const isJson = type === 'application/json' || type.endsWith('+json')
  const isForm = type === 'application/x-www-form-urlencoded'
  if (type === 'multipart/form-data') {
    try {
      return { value: parseMultipart(body, contentType), mediaType: type, parseError: null }
    } catch (err) {
      if (err instanceof MultipartError) return { value: null, mediaType: type, parseError: err.message }
      throw err
    }
  }
  if (!isJson && !isForm)
    return {
      value: null,
      mediaType: type,
      parseError: `${type || 'this'} bodies are not parsed (Airlock reads JSON, form and multipart bodies)`,
    }
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body)
  } catch {
    throw new AirlockError('AIRLOCK_BODY_MALFORMED', `request body is declared ${type} but is not valid UTF-8`)
  }
  if (isForm) return { value: multiValueObject(new URLSearchParams(text)), mediaType: type, parseError: null }
  try {
    return { value: JSON.parse(text), json: text, mediaType: type, parseError: null }
  } catch (err) {
    throw new AirlockError(
      'AIRLOCK_BODY_MALFORMED',
      `request body is declared ${type} but is not valid JSON: ${(err as Error).message}`,
    )
  }
}

export function multiValueObject(params: URLSearchParams, alwaysArrays = false): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const [k, v] of params) {
    const prev = out[k]
    if (prev === undefined) out[k] = alwaysArrays ? [v] : v
    else if (Array.isArray(prev)) prev.push(v)
    else out[k] = [prev, v]
  }
  return out
}
