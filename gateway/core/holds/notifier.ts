// Webhook deliveries: queued in the store in the same step as the state change they report, then sent, signed, with
// retries and backoff. A receiver that is down delays notifications; it never loses a hold or blocks a decision.
import type { Config } from '../config/schema.ts'
import { describeForLog, publicErrorText, secretValues } from '../credentials.ts'
import { isAirlockError } from '../errors.ts'
import type { Clock, Logger, Metrics, Secrets, WebhookFetch } from '../ports.ts'
import { redactUrl } from '../redact.ts'
import type { SlackApiFactory } from '../slack/api.ts'
import { SLACK_HOOK, SlackPoster } from '../slack/poster.ts'
import { standardHeaders, standardKey } from './standard-webhooks.ts'
import type { HoldStorePort } from './store-port.ts'
import {
  EVENT_ID_HEADER,
  type EventPayload,
  MAX_ATTEMPTS,
  retryDelayMs,
  SIGNATURE_HEADER,
  signPayload,
  slackMessage,
} from './webhooks.ts'

export interface NotifierDeps {
  config: Config
  store: HoldStorePort
  secrets: Secrets
  logger: Logger
  metrics: Metrics
  clock: Clock
  webhookFetch: WebhookFetch
  /** Builds the Slack Web API client (Node: @slack/web-api; default: the core's fetch client). */
  slackApi?: SlackApiFactory | undefined
}

export class Notifier {
  readonly #deps: NotifierDeps
  readonly #newId: () => string
  #delivering: Promise<void> | undefined
  #deliverAgain = false

  readonly #slack: SlackPoster

  constructor(deps: NotifierDeps, newId: () => string) {
    this.#deps = deps
    this.#newId = newId
    this.#slack = new SlackPoster(deps)
  }

  /** Queues one delivery per webhook of each group; true when anything was queued. */
  async enqueue(
    type: string,
    holdId: string | null,
    groups: string[],
    event: Omit<EventPayload, 'id' | 'created'>,
  ): Promise<boolean> {
    const { config, clock, store } = this.#deps
    const now = clock.now()
    let queued = false
    for (const g of groups) {
      const hooks = config.approver_groups[g]?.webhooks ?? []
      for (const [i] of hooks.entries()) {
        const payload: EventPayload = { ...event, type, id: this.#newId(), created: Math.floor(now / 1000) }
        await store.enqueueDelivery(
          { hold_id: holdId, event: type, grp: g, hook: i, payload: JSON.stringify(payload) },
          now,
        )
        queued = true
      }
      // The group's Slack channel: the message is built from the hold when it is sent (slack/poster.ts).
      if (holdId && config.approver_groups[g]?.slack_channel) {
        await store.enqueueDelivery(
          { hold_id: holdId, event: type, grp: g, hook: SLACK_HOOK, payload: JSON.stringify({ type }) },
          now,
        )
        queued = true
      }
    }
    return queued
  }

  /** Sends due deliveries; one pass at a time. */
  deliver(): Promise<void> {
    if (this.#delivering) {
      // A pass is under way and may have read the queue before this event was added: run once more after it.
      this.#deliverAgain = true
      return this.#delivering
    }
    this.#delivering = (async () => {
      try {
        do {
          this.#deliverAgain = false
          await this.#deliverDue()
        } while (this.#deliverAgain)
      } finally {
        // Cleared in the same step as the last check of #deliverAgain: cleared later (a .finally() callback), a call
        // in between would set #deliverAgain for a pass that had already ended, and its delivery would wait for the
        // next tick or alarm.
        this.#delivering = undefined
      }
    })()
    return this.#delivering
  }

  async #deliverDue(): Promise<void> {
    const { store, config, clock, secrets } = this.#deps
    for (const d of await store.dueDeliveries(clock.now())) {
      const hook = config.approver_groups[d.grp]?.webhooks[d.hook]
      const attempt = d.attempts + 1
      const retryAt = clock.now() + retryDelayMs(attempt)
      const giveUp = attempt >= MAX_ATTEMPTS
      const failed = async (status: number | null, error: string, cause?: string) => {
        await store.recordDelivery(d.id, {
          state: giveUp ? 'failed' : 'pending',
          status,
          error,
          next_at: retryAt,
          at: clock.now(),
        })
        this.#deps.logger.warn(
          {
            event: 'webhook_failed',
            delivery: d.id,
            hold_id: d.hold_id,
            group: d.grp,
            attempt,
            status,
            error,
            ...(cause ? { cause } : {}),
            gave_up: giveUp,
          },
          'webhook delivery failed',
        )
        this.#deps.metrics.error('AIRLOCK_WEBHOOK_FAILED')
      }
      if (d.hook === SLACK_HOOK) {
        try {
          await this.#slack.deliver(d)
          await store.recordDelivery(d.id, {
            state: 'delivered',
            status: 200,
            error: null,
            next_at: d.next_at,
            at: clock.now(),
          })
        } catch (err) {
          await failed(
            null,
            publicErrorText(err),
            isAirlockError(err) ? undefined : describeForLog(err, secretValues(config, secrets)),
          )
        }
        continue
      }
      if (!hook) {
        await failed(null, `webhook ${d.grp}[${d.hook}] is no longer configured`)
        continue
      }
      const secret = secrets(hook.secret_env)
      if (!secret) {
        await failed(null, `signing secret ${hook.secret_env} is not set; not sent unsigned`)
        continue
      }
      const event = JSON.parse(d.payload) as EventPayload
      // The id is in the signed body in both formats (a JSON event's `id`, a Slack message's last context line) and
      // the same on every retry: receivers de-duplicate on it, since a replay inside the timestamp tolerance verifies.
      const body = hook.format === 'slack' ? JSON.stringify(slackMessage(event)) : d.payload
      try {
        const nowS = Math.floor(clock.now() / 1000)
        // Standard Webhooks: its own three headers (webhook-id is the event id); otherwise Airlock-Signature.
        const signing =
          hook.format === 'standard'
            ? await standardHeaders(standardKey(secret, hook.secret_env), event.id, nowS, body)
            : { [SIGNATURE_HEADER]: await signPayload(secret, body, nowS) }
        const res = await this.#deps.webhookFetch(
          hook.url,
          // redirect 'manual': a redirect is never followed (its target was never checked against the SSRF guard or
          // configured by anyone); a 3xx is the receiver's answer and a failed delivery.
          {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              ...signing,
              [EVENT_ID_HEADER]: event.id,
              'airlock-event': d.event,
              'user-agent': 'airlock-webhooks',
            },
            body,
            redirect: 'manual',
            signal: AbortSignal.timeout(10_000),
          },
          hook.allow_private,
        )
        await res.body?.cancel()
        if (res.ok)
          await store.recordDelivery(d.id, {
            state: 'delivered',
            status: res.status,
            error: null,
            next_at: d.next_at,
            at: clock.now(),
          })
        else if (res.status >= 300 && res.status < 400) await failed(res.status, redirectRefused(res))
        else await failed(res.status, `receiver answered ${res.status}`)
      } catch (err) {
        // Stored with the delivery and shown in the approver API: only Airlock's own words (credentials.ts).
        await failed(
          null,
          publicErrorText(err),
          isAirlockError(err) ? undefined : describeForLog(err, secretValues(config, secrets)),
        )
      }
    }
  }
}

/** The failure recorded for a redirecting receiver: where it pointed (credential-looking query values redacted). */
function redirectRefused(res: Response): string {
  const location = res.headers.get('location')
  let where = 'no Location'
  if (location) {
    try {
      where = `Location ${redactUrl(new URL(location))}`
    } catch {
      where = `Location ${JSON.stringify(location.slice(0, 200))}` // relative: shown as sent
    }
  }
  return `receiver answered ${res.status} (redirect to ${where}); redirects are not followed: configure the final URL`
}
