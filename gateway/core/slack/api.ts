// The Slack Web API as the core uses it: three calls behind one small port. On Node the adapter implements it with
// the official @slack/web-api client (gateway/node/slack.ts); the core's fetch version below is what Workers use
// (the official client needs Node's http stack) and speaks the same documented JSON API.
import { AirlockError } from '../errors.ts'

export interface SlackMessage {
  channel: string
  text: string
  blocks: object[]
}

export interface SlackApi {
  postMessage(m: SlackMessage): Promise<{ channel: string; ts: string }>
  update(m: SlackMessage & { ts: string }): Promise<void>
  postEphemeral(m: { channel: string; user: string; text: string }): Promise<void>
}

/** Builds a client for a bot token and API base URL (https://slack.com/api/ unless configured). */
export type SlackApiFactory = (token: string, apiUrl: string) => SlackApi

export const fetchSlackApi: SlackApiFactory = (token, apiUrl) => {
  const call = async (method: string, args: object): Promise<Record<string, unknown>> => {
    const res = await fetch(new URL(method, apiUrl), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify(args),
      signal: AbortSignal.timeout(10_000),
    })
    const body = (await res.json().catch(() => ({}))) as Record<string, unknown>
    if (!res.ok || body.ok !== true) {
      throw new AirlockError(
        'AIRLOCK_WEBHOOK_FAILED',
        `Slack ${method} failed: ${String(body.error ?? `HTTP ${res.status}`)}`,
      )
    }
    return body
  }
  return {
    async postMessage(m) {
      const r = await call('chat.postMessage', m)
      return { channel: String(r.channel), ts: String(r.ts) }
    },
    async update(m) {
      await call('chat.update', m)
    },
    async postEphemeral(m) {
      await call('chat.postEphemeral', m)
    },
  }
}
