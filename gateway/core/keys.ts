// Shared by agent keys and approver tokens: secrets are held only as SHA-256 digests, and a presented secret is
// compared against every entry without an early exit, so timing reveals neither which entry nor how much matched.
import { constantTimeEqual, sha256Hex, sha256HexSync } from './digest.ts'
import type { Secrets } from './ports.ts'

export interface KeyRef {
  env?: string | undefined
  sha256?: string | undefined
}

export class KeyRing<T> {
  readonly #entries: { digest: string; value: T }[]
  private constructor(entries: { digest: string; value: T }[]) {
    this.#entries = entries
  }

  /** Resolves each entry's digest; entries whose environment variable is unset are skipped and reported. */
  static async create<T>(
    items: T[],
    ref: (item: T) => KeyRef,
    secrets: Secrets,
    missing: (item: T, env: string) => void,
  ): Promise<KeyRing<T>> {
    const entries: { digest: string; value: T }[] = []
    for (const item of items) {
      const r = ref(item)
      let digest = r.sha256
      if (r.env !== undefined) {
        const secret = secrets(r.env)
        if (!secret) {
          missing(item, r.env)
          continue
        }
        digest = await sha256Hex(secret)
      }
      if (digest) entries.push({ digest, value: item })
    }
    return new KeyRing(entries)
  }

  async find(presented: string): Promise<T | undefined> {
    const digest = sha256HexSync(presented)
    let found: T | undefined
    for (const e of this.#entries) if (constantTimeEqual(e.digest, digest) && found === undefined) found = e.value
    return found
  }

  digests(): Set<string> {
    return new Set(this.#entries.map((e) => e.digest))
  }
}
