// What the parts of the hold service share (service.ts composes them): the ports, the store, the audit trail, the
// events sent to approvers, and the agents waiting on a hold. Execution (execution.ts), review sampling (reviews.ts)
// and the approver's side (service.ts) each change for their own reasons; none of them reaches into another.
import type { Config } from '../config/schema.ts'
import { publicErrorText } from '../credentials.ts'
import type { Clock, Logger, Metrics, Secrets, Upstream, WebhookFetch } from '../ports.ts'
import type { SlackApiFactory } from '../slack/api.ts'
import { Notifier } from './notifier.ts'
import { type Presentation, present } from './presentation.ts'
import type { PendingAudit } from './store.ts'
import type { HoldStorePort } from './store-port.ts'
import { type Hold, isTerminal } from './types.ts'
import type { EventPayload } from './webhooks.ts'

export interface HoldServiceDeps {
  config: Config
  /** SQLite (store.ts) on one Node gateway and in the Durable Object; PostgreSQL for several Node gateways. */
  store: HoldStorePort
  upstream: Upstream
  secrets: Secrets
  logger: Logger
  metrics: Metrics
  clock: Clock
  /** Sends a webhook; allowPrivate mirrors the webhook's config (the SSRF guard applies otherwise). */
  webhookFetch: WebhookFetch
  /** Builds the Slack Web API client (Node: @slack/web-api; default: the core's fetch client). */
  slackApi?: SlackApiFactory | undefined
  random?: () => number
  newId?: () => string
  /**
   * Work the service starts and does not wait for (an execution after the last approval, a delivery pass). The
   * Durable Object passes ctx.waitUntil so the object stays alive until it settles; Node needs nothing.
   */
  background?: ((work: Promise<unknown>) => void) | undefined
  /** Called after every delivery pass (the Durable Object re-arms its alarm for the next retry). */
  afterDeliver?: (() => void) | undefined
  /**
   * A shared store (PostgreSQL): another gateway may change a hold, so waiting agents also re-read it this often
   * (the bound on their latency if a change notification is lost), and orphaned executions are looked for on every
   * tick rather than only at start-up.
   */
  shared?: { pollMs: number; orphanedExecutions(): Promise<string[]> } | undefined
}

export class HoldContext {
  readonly deps: HoldServiceDeps
  readonly newId: () => string
  readonly random: () => number
  readonly #notifier: Notifier
  readonly #waiters = new Map<string, Set<() => void>>()

  constructor(deps: HoldServiceDeps) {
    this.deps = deps
    this.newId = deps.newId ?? (() => crypto.randomUUID())
    this.random = deps.random ?? Math.random
    this.#notifier = new Notifier(deps, this.newId)
  }

  get store(): HoldStorePort {
    return this.deps.store
  }

  get config(): Config {
    return this.deps.config
  }

  now(): number {
    return this.deps.clock.now()
  }

  present(hold: Hold): Presentation {
    return present(hold, this.deps.config.holds.preview_bytes)
  }

  async audit(type: string, actor: string, holdId: string | null, record: unknown): Promise<void> {
    await this.store.appendAudit(type, actor, holdId, record, this.now())
  }

  /** An audit record for the store to append inside the transaction that creates a hold. */
  pendingAudit(type: string, actor: string, record: unknown): PendingAudit {
    return { type, actor, record, at: this.now() }
  }

  /** Queues the event about a hold for its groups' webhooks and Slack channels. */
  emit(type: string, hold: Hold): Promise<void> {
    const base = this.deps.config.server.public_url?.replace(/\/$/, '') ?? ''
    const api = `${base}/_airlock/api/holds/${hold.id}`
    return this.enqueue(type, hold.id, hold.groups, {
      type,
      hold: {
        ...this.present(hold),
        state: hold.state,
        approvals: hold.approvals,
        denial: hold.denial,
        response_status: hold.response?.status ?? null,
        error: hold.error,
      },
      // `console` is the page a person opens; `view` is the JSON API (for tools).
      links: {
        view: api,
        approve: `${api}/approve`,
        deny: `${api}/deny`,
        ...(this.deps.config.console.enabled ? { console: `${base}/_airlock/console/holds/${hold.id}` } : {}),
      },
    })
  }

  /** Queued when it resolves; the sending runs on (deliver). */
  async enqueue(
    type: string,
    holdId: string | null,
    groups: string[],
    event: Omit<EventPayload, 'id' | 'created'>,
  ): Promise<void> {
    if (await this.#notifier.enqueue(type, holdId, groups, event)) void this.deliver()
  }

  /** Sends due deliveries (notifier.ts), kept alive and followed by afterDeliver where the runtime asks. */
  deliver(): Promise<void> {
    // A store that fails mid-pass (a shared database gone) ends the pass; the next tick runs it again.
    const work = this.#notifier
      .deliver()
      .catch((err: unknown) =>
        this.deps.logger.warn({ event: 'deliver', error: publicErrorText(err) }, 'webhook delivery pass failed'),
      )
      .finally(() => this.deps.afterDeliver?.())
    this.background(work)
    return work
  }

  background(work: Promise<unknown>): void {
    this.deps.background?.(work.catch(() => {}))
  }

  /** Resolves when the hold reaches a state the agent can act on, or after timeoutMs, or when the agent leaves. */
  waitForOutcome(id: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      let finished = false
      const check = () => {
        // A store that cannot be read right now (a shared database restarting) leaves the agent waiting: the next
        // notification, poll or the timeout ends the wait.
        void Promise.resolve()
          .then(() => this.store.get(id))
          .then(
            (h) => (!h || isTerminal(h.state)) && done(),
            () => {},
          )
      }
      const done = () => {
        if (finished) return
        finished = true
        clearTimeout(timer)
        clearInterval(poll)
        signal?.removeEventListener('abort', done)
        this.#waiters.get(id)?.delete(check)
        resolve()
      }
      const timer = setTimeout(done, timeoutMs)
      const poll = this.deps.shared ? setInterval(check, this.deps.shared.pollMs) : undefined
      signal?.addEventListener('abort', done)
      let set = this.#waiters.get(id)
      if (!set) this.#waiters.set(id, (set = new Set()))
      set.add(check)
      check()
    })
  }

  /** A hold changed state: agents waiting on it look again. */
  wake(id: string): void {
    for (const check of this.#waiters.get(id) ?? []) check()
    if (this.#waiters.get(id)?.size === 0) this.#waiters.delete(id)
  }
}
