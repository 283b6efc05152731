// What the parts of the hold service share (service.ts composes them): the ports, the store, the audit trail, the
// events sent to approvers, and the agents waiting on a hold. Execution (execution.ts), review sampling (reviews.ts)
// and the approver's side (service.ts) each change for their own reasons; none of them reaches into another.
import type { Config } from '../config/schema.ts'
import type { Clock, Logger, Metrics, Secrets, Upstream, WebhookFetch } from '../ports.ts'
import type { SlackApiFactory } from '../slack/api.ts'
import { Notifier } from './notifier.ts'
import { present, type Presentation } from './presentation.ts'
import type { HoldStore } from './store.ts'
import { isTerminal, type Hold } from './types.ts'
import type { EventPayload } from './webhooks.ts'

export interface HoldServiceDeps {
  config: Config
  store: HoldStore
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

  get store(): HoldStore {
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

  audit(type: string, actor: string, holdId: string | null, record: unknown): void {
    this.store.appendAudit(type, actor, holdId, record, this.now())
  }

  /** Queues the event about a hold for its groups' webhooks and Slack channels. */
  emit(type: string, hold: Hold): void {
    const base = this.deps.config.server.public_url?.replace(/\/$/, '') ?? ''
    const api = `${base}/_airlock/api/holds/${hold.id}`
    this.enqueue(type, hold.id, hold.groups, {
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
      links: { view: api, approve: `${api}/approve`, deny: `${api}/deny`, ...(this.deps.config.console.enabled ? { console: `${base}/_airlock/console/holds/${hold.id}` } : {}) },
    })
  }

  enqueue(type: string, holdId: string | null, groups: string[], event: Omit<EventPayload, 'id' | 'created'>): void {
    if (this.#notifier.enqueue(type, holdId, groups, event)) void this.deliver()
  }

  /** Sends due deliveries (notifier.ts), kept alive and followed by afterDeliver where the runtime asks. */
  deliver(): Promise<void> {
    const work = this.#notifier.deliver().finally(() => this.deps.afterDeliver?.())
    this.background(work)
    return work
  }

  background(work: Promise<unknown>): void {
    this.deps.background?.(work.catch(() => {}))
  }

  /** Resolves when the hold reaches a state the agent can act on, or after timeoutMs, or when the agent leaves. */
  waitForOutcome(id: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        const h = this.store.get(id)
        if (!h || isTerminal(h.state)) done()
      }
      const done = () => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', done)
        this.#waiters.get(id)?.delete(check)
        resolve()
      }
      const timer = setTimeout(done, timeoutMs)
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
