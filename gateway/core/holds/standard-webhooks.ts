// Webhooks in the Standard Webhooks format (standardwebhooks.com), `format: standard`: the JSON event signed with
// `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 over
// "<id>.<timestamp>.<body>">`, so receivers can verify with the specification's published libraries. The secret is
// `whsec_` + base64 of the key bytes, as those libraries expect.
import { AirlockError } from '../errors.ts'

export const STANDARD_PREFIX = 'whsec_'

/** The key bytes of a `whsec_…` secret; anything else is refused (a delivery is never signed with a guessed key). */
export function standardKey(secret: string, env: string): Uint8Array {
  const b64 = secret.startsWith(STANDARD_PREFIX) ? secret.slice(STANDARD_PREFIX.length) : null
  if (b64 !== null && /^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
    const key = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))
    if (key.byteLength >= 24) return key
  }
  throw new AirlockError(
    'AIRLOCK_WEBHOOK_FAILED',
    `signing secret ${env} is not a Standard Webhooks secret ("whsec_" + base64 of at least 24 random bytes); not sent`,
  )
}

/** The three Standard Webhooks headers for one delivery attempt. */
export async function standardHeaders(
  key: Uint8Array,
  id: string,
  timestampS: number,
  body: string,
): Promise<Record<string, string>> {
  const k = await crypto.subtle.importKey(
    'raw',
    key as Uint8Array<ArrayBuffer>,
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  )
  const mac = new Uint8Array(
    await crypto.subtle.sign('HMAC', k, new TextEncoder().encode(`${id}.${timestampS}.${body}`)),
  )
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampS),
    'webhook-signature': `v1,${btoa(String.fromCharCode(...mac))}`,
  }
}
