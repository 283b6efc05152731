// Posts holds to their groups' Slack channels and updates the message as the hold moves on. Runs as a delivery of
// the notifier's durable queue (hook SLACK_HOOK), so Slack being down delays the message and retries with backoff;
// it never blocks or loses a hold.
import type { Config } from '../config/schema.ts'
import { AirlockError } from '../errors.ts'
import { contextHash, present } from '../holds/presentation.ts'
import type { HoldStorePort } from '../holds/store-port.ts'
import type { Delivery } from '../holds/types.ts'
import type { Clock, Secrets } from '../ports.ts'
import { fetchSlackApi, type SlackApi, type SlackApiFactory } from './api.ts'
import { holdMessage, outcomeMessage } from './blocks.ts'
import { slackMessages } from './messages.ts'

/** The `hook` index of a queued delivery that goes to the group's Slack channel rather than to a webhook. */
export const SLACK_HOOK = -1

export interface SlackDeps {
  config: Config
  store: HoldStorePort
  secrets: Secrets
  clock: Clock
  slackApi?: SlackApiFactory | undefined
}

/** The configured Slack client, or an error that names what is missing. */
export function slackClient(deps: SlackDeps): SlackApi {
  const slack = deps.config.slack
  if (!slack) throw new AirlockError('AIRLOCK_WEBHOOK_FAILED', 'slack is not configured')
  const token = deps.secrets(slack.bot_token_env)
  if (!token)
    throw new AirlockError(
      'AIRLOCK_WEBHOOK_FAILED',
      `Slack bot token ${slack.bot_token_env} is not set; nothing posted`,
    )
  return (deps.slackApi ?? fetchSlackApi)(token, slack.api_url)
}

export function consoleUrl(config: Config, holdId: string): string | undefined {
  const base = config.server.public_url?.replace(/\/$/, '')
  return base ? `${base}/_airlock/console/holds/${holdId}` : undefined
}

export class SlackPoster {
  readonly #deps: SlackDeps
  constructor(deps: SlackDeps) {
    this.#deps = deps
  }

  /** Sends one queued Slack delivery; throws (and the queue retries) when Slack refuses or cannot be reached. */
  async deliver(d: Delivery): Promise<void> {
    const { config, store } = this.#deps
    const hold = d.hold_id ? await store.get(d.hold_id) : undefined
    const channel = config.approver_groups[d.grp]?.slack_channel
    if (!hold || !channel) return
    const p = present(hold, config.holds.preview_bytes)
    const messages = slackMessages(store)
    const posted = await messages.slackMessage(hold.id, d.grp)
    if (d.event === 'hold.created') {
      if (posted) return // a retry after the post went through but recording the delivery did not
      // A post retried after the hold moved on (Slack was down when it was created) shows where the hold is now, not
      // buttons: the updates for what happened meanwhile found no message to update and were dropped.
      const message =
        hold.state === 'pending'
          ? holdMessage(hold, p, contextHash(p), consoleUrl(config, hold.id))
          : outcomeMessage(hold, p)
      const r = await slackClient(this.#deps).postMessage({ channel, ...message })
      await messages.saveSlackMessage({
        hold_id: hold.id,
        grp: d.grp,
        channel: r.channel,
        ts: r.ts,
        posted_at: this.#deps.clock.now(),
      })
      return
    }
    // Decided, expired, executed: show the outcome in place of the buttons (the current state, whatever the event).
    // Without a message (its post is still being retried, or gave up) there is nothing to update: a retried post
    // shows the current state itself (above).
    if (!posted || hold.state === 'pending') return
    await slackClient(this.#deps).update({ channel: posted.channel, ts: posted.ts, ...outcomeMessage(hold, p) })
  }
}
