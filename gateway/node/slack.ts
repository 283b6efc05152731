// The core's SlackApi port over the official @slack/web-api client. Retries are the notifier's (a durable queue with
// backoff), so the client itself does not retry or wait out rate limits.
import { WebClient } from '@slack/web-api'
import type { SlackApiFactory } from '../core/slack/api.ts'

export const webClientSlackApi: SlackApiFactory = (token, apiUrl) => {
  const client = new WebClient(token, {
    slackApiUrl: apiUrl,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: 10_000,
  })
  return {
    async postMessage(m) {
      const r = await client.chat.postMessage(m)
      return { channel: String(r.channel), ts: String(r.ts) }
    },
    async update(m) {
      await client.chat.update(m)
    },
    async postEphemeral(m) {
      await client.chat.postEphemeral(m)
    },
  }
}
