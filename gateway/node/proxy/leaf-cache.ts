// Leaf certificates per intercepted host, minted on first use and kept as ready TLS contexts: the cached path is a
// map lookup, while a new host costs a key, a signature and a SecureContext (about 1 ms, see docs/egress.md).
// Concurrent first CONNECTs to one host share one mint. Least recently used hosts are dropped past `max`.
import { createSecureContext, type SecureContext } from 'node:tls'
import type { CertificateAuthority } from './certificates.ts'
import { issueLeaf } from './certificates.ts'

interface Entry {
  context: Promise<SecureContext>
  /** Re-mint after this instant (an hour before the leaf expires). */
  refreshAt: number
}

export interface LeafCacheOptions {
  validityMs?: number
  max?: number
  now?: () => number
}

export class LeafCache {
  readonly #ca: CertificateAuthority
  readonly #entries = new Map<string, Entry>()
  readonly #validityMs: number
  readonly #max: number
  readonly #now: () => number
  /** Leaves minted since start (metrics, tests). */
  minted = 0

  constructor(ca: CertificateAuthority, opts: LeafCacheOptions = {}) {
    this.#ca = ca
    this.#validityMs = opts.validityMs ?? 24 * 3_600_000
    this.#max = opts.max ?? 1000
    this.#now = opts.now ?? Date.now
  }

  context(host: string): Promise<SecureContext> {
    const key = host.toLowerCase()
    const now = this.#now()
    const hit = this.#entries.get(key)
    if (hit && hit.refreshAt > now) {
      this.#entries.delete(key) // re-insert: Map order is the LRU order
      this.#entries.set(key, hit)
      return hit.context
    }
    const context = this.#mint(key, now)
    const entry: Entry = { context, refreshAt: now + Math.max(this.#validityMs - 3_600_000, this.#validityMs / 2) }
    this.#entries.delete(key)
    this.#entries.set(key, entry)
    context.catch(() => this.#entries.get(key) === entry && this.#entries.delete(key))
    while (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value!)
    return context
  }

  async #mint(host: string, now: number): Promise<SecureContext> {
    const leaf = await issueLeaf(this.#ca, host, this.#validityMs, new Date(now))
    this.minted++
    // The chain sent to clients: the leaf, then the CA (clients that trust the CA need no more).
    return createSecureContext({ cert: leaf.certPem + this.#ca.certPem, key: leaf.keyPem, minVersion: 'TLSv1.2' })
  }
}
