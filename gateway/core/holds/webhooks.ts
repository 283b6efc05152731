// Approval webhooks: JSON (or a Slack incoming-webhook message) signed Stripe-style with HMAC-SHA256 over
// "<timestamp>.<body>" in `Airlock-Signature: t=<unix seconds>,v1=<hex>`, so a receiver can verify the sender and
// reject replays. Deliveries are stored first and retried with backoff; a receiver that is down loses nothing.
import { constantTimeEqual, hmacSha256Hex } from '../digest.ts'
import { slackCode, slackText } from '../escape.ts'
import type { Presentation } from './presentation.ts'

export const SIGNATURE_HEADER = 'airlock-signature'
/** The event's id (also `id` in a JSON body, and in a Slack message's last context line): de-duplicate on it. */
export const EVENT_ID_HEADER = 'airlock-event-id'

export async function signPayload(secret: string, body: string, timestampS: number): Promise<string> {
  return `t=${timestampS},v1=${await hmacSha256Hex(secret, `${timestampS}.${body}`)}`
}

/** Receiver-side check, also used by the tests and shown in docs/approvals.md. */
export async function verifySignature(
  secret: string,
  body: string,
  header: string | null,
  nowS: number,
  toleranceS = 300,
): Promise<boolean> {
  if (!header) return false
  const parts = Object.fromEntries(header.split(',').map((p) => p.split('=', 2) as [string, string]))
  const t = Number(parts.t)
  if (!Number.isFinite(t) || Math.abs(nowS - t) > toleranceS || !parts.v1) return false
  return constantTimeEqual(await hmacSha256Hex(secret, `${t}.${body}`), parts.v1)
}

/** Backoff for attempt n (1-based): 2, 4, 8 … seconds, capped at 10 minutes. */
export function retryDelayMs(attempt: number): number {
  return Math.min(2 ** attempt * 1000, 600_000)
}
export const MAX_ATTEMPTS = 12

export interface EventPayload {
  type: string
  id: string
  created: number
  hold?:
    | (Presentation & {
        state: string
        approvals?: unknown
        denial?: unknown
        response_status?: number | null
        error?: string | null
      })
    | undefined
  review?: unknown
  links?: Record<string, string> | undefined
}

/**
 * A Slack Block Kit message with what an approver needs before they click through. Every string that may carry
 * agent-controlled text (intent, URL, body, and the policy's summary and reason, which often quote them) is escaped
 * for mrkdwn (gateway/core/escape.ts): no `<!channel>`, no disguised link, no breaking out of a code block.
 */
export function slackMessage(event: EventPayload): object {
  const h = event.hold
  const eventContext = { type: 'context', elements: [{ type: 'mrkdwn', text: `event \`${slackCode(event.id)}\`` }] }
  if (!h) {
    const review = JSON.stringify(event.review, null, 2).slice(0, 2500)
    return {
      text: `Airlock ${slackText(event.type)}`,
      blocks: [
        {
          type: 'section',
          text: { type: 'mrkdwn', text: `*${slackText(event.type)}*\n\`\`\`${slackCode(review)}\`\`\`` },
        },
        eventContext,
      ],
    }
  }
  const title =
    {
      'hold.created': 'Approval needed',
      'hold.decided': `Hold ${h.state}`,
      'hold.expired': 'Hold expired',
      'hold.executed': 'Hold executed',
    }[event.type] ?? event.type
  const body = h.request.body_preview ? `\n\`\`\`${slackCode(h.request.body_preview.slice(0, 2500))}\`\`\`` : ''
  const intent = h.intent === null ? '_none given_' : slackText(h.intent)
  return {
    // The notification text is mrkdwn too; the header block is plain_text (no markup is parsed there).
    text: `${title}: ${slackText(h.summary)}`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: `${title}: ${h.summary}`.slice(0, 150) } },
      {
        type: 'section',
        fields: [
          { type: 'mrkdwn', text: `*Agent*\n${slackText(h.agent.id)} (owner ${slackText(h.agent.owner)})` },
          { type: 'mrkdwn', text: `*Risk*\n${slackText(h.risk)}` },
          { type: 'mrkdwn', text: `*Rule*\n\`${slackCode(h.rule)}\`` },
          { type: 'mrkdwn', text: `*Expires*\n${slackText(h.expires_at)}` },
        ],
      },
      {
        type: 'section',
        text: { type: 'mrkdwn', text: `*Why it is held*\n${slackText(h.reason)}\n*Agent's stated intent*\n${intent}` },
      },
      {
        type: 'section',
        text: { type: 'mrkdwn', text: `*Request*\n\`${slackCode(`${h.request.method} ${h.request.url}`)}\`${body}` },
      },
      ...(event.links?.console || event.links?.view
        ? [
            {
              type: 'context',
              elements: [
                { type: 'mrkdwn', text: `Review and decide: ${slackText((event.links.console ?? event.links.view)!)}` },
              ],
            },
          ]
        : []),
      eventContext,
    ],
  }
}
