// Buffers the request body up to a limit so the policy can read it and the exact bytes can be forwarded (and,
// for holds, stored and re-verified). Over the limit is refused before anything reaches the upstream.
import { AirlockError } from '../errors.ts'
import type { BodyLease } from '../limits/body-budget.ts'

/**
 * With a lease (limits/body-budget.ts), the bytes are reserved in the gateway-wide budget before they are read: the
 * declared Content-Length at once, a chunked body as it arrives; past the budget it throws 503 AIRLOCK_OVERLOADED.
 */
export async function readBody(request: Pick<Request, 'method' | 'body' | 'headers'>, limit: number, lease?: BodyLease): Promise<Uint8Array | null> {
  const declared = request.headers.get('content-length')
  // A GET or HEAD that declares no body has none (RFC 9112 §6.3). Checking first matters: on Node, touching
  // `request.body` turns @hono/node-server's lightweight request into a full Request, on the hot path.
  if ((request.method === 'GET' || request.method === 'HEAD') && declared === null && !request.headers.has('transfer-encoding')) return null
  if (request.body === null) return null
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit)
  if (lease && declared !== null) lease.cover(Number(declared) || 0)
  let read: { bytes: Uint8Array; truncated: boolean }
  try {
    read = await readUpTo(request.body, limit, lease)
  } catch (err) {
    if (err instanceof AirlockError) throw err
    // The stream failed: the agent hung up, or the server cut a client too slow to send (limits.body_timeout_ms).
    throw new AirlockError('AIRLOCK_BODY_INCOMPLETE', 'the request body did not arrive in full (the connection closed or was too slow); nothing was forwarded', {}, { cause: err })
  }
  const { bytes, truncated } = read
  if (truncated) throw tooLarge(limit)
  return bytes
}

/** Reads a stream into one buffer, stopping (and cancelling the stream) once it passes `limit` bytes. */
export async function readUpTo(stream: ReadableStream<Uint8Array>, limit: number, lease?: BodyLease): Promise<{ bytes: Uint8Array; truncated: boolean }> {
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
  return new AirlockError('AIRLOCK_BODY_TOO_LARGE', `request body exceeds the ${limit}-byte limit of this route; it was not forwarded`, {
    limit_bytes: limit,
  })
}

/** JSON → value, form-urlencoded → object of strings (arrays when repeated), anything else → null. */
export function parseBody(body: Uint8Array | null, contentType: string | null): unknown {
  return decodeBody(body, contentType).value
}

/** parseBody, with the text of a JSON body (valid JSON) so the policy input can carry it without re-serialising. */
export function decodeBody(body: Uint8Array | null, contentType: string | null): { value: unknown; json?: string } {
  if (!body || body.byteLength === 0 || !contentType) return { value: null }
  const type = contentType.split(';')[0]!.trim().toLowerCase()
  const isJson = type === 'application/json' || type.endsWith('+json')
  const isForm = type === 'application/x-www-form-urlencoded'
  if (!isJson && !isForm) return { value: null }
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body)
  } catch {
    throw new AirlockError('AIRLOCK_BODY_MALFORMED', `request body is declared ${type} but is not valid UTF-8`)
  }
  if (isForm) return { value: multiValueObject(new URLSearchParams(text)) }
  try {
    return { value: JSON.parse(text), json: text }
  } catch (err) {
    throw new AirlockError('AIRLOCK_BODY_MALFORMED', `request body is declared ${type} but is not valid JSON: ${(err as Error).message}`)
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
