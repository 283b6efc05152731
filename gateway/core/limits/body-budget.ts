// One budget for request-body bytes buffered at once, across every request of this process (or Worker isolate).
// Bodies are buffered whole (the policy reads them; held ones are stored), so without it a few hundred slow uploads
// near max_body_bytes hold hundreds of MB. Past the budget a request is refused fast — 503 AIRLOCK_OVERLOADED with
// Retry-After, before its body is read or anything is forwarded — so nothing is lost: the agent sends it again later.
import { AirlockError } from '../errors.ts'

export class BodyBudget {
  readonly capacity: number
  #used = 0

  constructor(capacity: number) {
    this.capacity = capacity
  }

  /** Bytes reserved now, across all requests. */
  get used(): number {
    return this.#used
  }

  /** One request's share; release() it when the request is done (its buffer is no longer needed). */
  lease(): BodyLease {
    return new BodyLease(this)
  }

  /** @internal BodyLease's side: O(1), no allocation. */
  tryTake(n: number): boolean {
    if (this.#used + n > this.capacity) return false
    this.#used += n
    return true
  }

  /** @internal */
  give(n: number): void {
    this.#used -= n
  }
}

export class BodyLease {
  readonly #budget: BodyBudget
  #held = 0

  constructor(budget: BodyBudget) {
    this.#budget = budget
  }

  get held(): number {
    return this.#held
  }

  /** Grows the reservation to `total` bytes (a declared Content-Length, or what has arrived so far) or throws 503. */
  cover(total: number): void {
    const more = total - this.#held
    if (more <= 0) return
    if (!this.#budget.tryTake(more)) {
      throw new AirlockError(
        'AIRLOCK_OVERLOADED',
        'Airlock is holding as many request bodies as it is configured to buffer; this request was not read or forwarded. Send it again in a moment (Retry-After).',
        { retry_after_s: 1 },
      )
    }
    this.#held = total
  }

  release(): void {
    this.#budget.give(this.#held)
    this.#held = 0
  }
}
