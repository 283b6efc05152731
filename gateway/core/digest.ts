// Hashing that runs on Node and Workers alike. Small inputs (agent keys, most bodies) are hashed synchronously in
// JS (@noble/hashes): Web Crypto's digest is a job on another thread plus a promise, which costs more than hashing a
// few hundred bytes, and an agent key is hashed on every request. Large bodies go to Web Crypto, which is native.
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js'

const SYNC_LIMIT = 16 * 1024

export function sha256HexSync(data: Uint8Array | string): string {
  return bytesToHex(sha256(typeof data === 'string' ? utf8ToBytes(data) : data))
}

export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === 'string' ? utf8ToBytes(data) : data
  if (bytes.byteLength <= SYNC_LIMIT) return sha256HexSync(bytes)
  return bytesToHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)))
}

export async function hmacSha256Hex(secret: string, message: string): Promise<string> {
  const enc = new TextEncoder()
  const key = await crypto.subtle.importKey('raw', enc.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
  ])
  return bytesToHex(new Uint8Array(await crypto.subtle.sign('HMAC', key, enc.encode(message))))
}

/** Compares two equal-length hex digests without an early exit, so timing says nothing about where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return diff === 0
}
