// The Block Kit messages: a hold with what an approver needs before clicking (summary, reason, risk, agent, the
// agent's claimed intent, a compact request preview) and Approve / Deny / Open in console; then, once it is decided,
// expired or run, the same message with the outcome and no buttons. Everything that may come from the agent is
// escaped for mrkdwn (escape.ts). Holds that need a comment, or are critical, get only "Open in console": one click
// would skip the required comment and the console's minimum review time.
import { slackCode, slackText } from '../escape.ts'
import type { Presentation } from '../holds/presentation.ts'
import type { Hold } from '../holds/types.ts'

export const APPROVE = 'airlock_approve'
export const DENY = 'airlock_deny'
export const OPEN = 'airlock_open'

/** Whether a hold may be decided with one click in Slack. */
export function oneClick(hold: Pick<Hold, 'decision'>): boolean {
  return !hold.decision.require_comment && hold.decision.risk !== 'critical'
}

/** The button value: the hold and the hash of what the message showed (checked like the API's context_sha256). */
export const buttonValue = (holdId: string, contextSha256: string) => `${holdId}:${contextSha256}`
export function parseButtonValue(v: string): { holdId: string; contextSha256: string } | undefined {
  const m = /^([A-Za-z0-9-]{1,64}):([0-9a-f]{64})$/.exec(v)
  return m ? { holdId: m[1]!, contextSha256: m[2]! } : undefined
}

const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}…` : s)

function details(p: Presentation): object[] {
  const r = p.request
  const body = r.body_preview ? `\n\`\`\`${slackCode(cut(r.body_preview, 1200))}\`\`\`` : ''
  return [
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Agent*\n${slackText(p.agent.id)} (owner ${slackText(p.agent.owner)})` },
        { type: 'mrkdwn', text: `*Risk*\n${slackText(p.risk)}` },
        { type: 'mrkdwn', text: `*Rule*\n\`${slackCode(p.rule)}\`` },
        { type: 'mrkdwn', text: `*Approvals*\n${p.approvals_required} needed` },
      ],
    },
    { type: 'section', text: { type: 'mrkdwn', text: `*Why it is held*\n${slackText(p.reason)}` } },
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `*The agent says (its claim, not verified)*\n${p.intent ? slackText(cut(p.intent, 500)) : '_no intent given_'}`,
      },
    },
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `*Request*\n\`${slackCode(cut(`${r.method} ${r.url}`, 300))}\`${r.body_truncated ? ' _(body truncated)_' : ''}${body}`,
      },
    },
  ]
}

export function holdMessage(
  hold: Hold,
  p: Presentation,
  contextSha256: string,
  consoleUrl: string | undefined,
): { text: string; blocks: object[] } {
  const open = consoleUrl
    ? [{ type: 'button', action_id: OPEN, text: { type: 'plain_text', text: 'Open in console' }, url: consoleUrl }]
    : []
  const buttons = oneClick(hold)
    ? [
        {
          type: 'button',
          action_id: APPROVE,
          style: 'primary',
          text: { type: 'plain_text', text: 'Approve' },
          value: buttonValue(hold.id, contextSha256),
        },
        {
          type: 'button',
          action_id: DENY,
          style: 'danger',
          text: { type: 'plain_text', text: 'Deny' },
          value: buttonValue(hold.id, contextSha256),
        },
        ...open,
      ]
    : open
  const why = oneClick(hold)
    ? []
    : [
        {
          type: 'context',
          elements: [
            {
              type: 'mrkdwn',
              text:
                hold.decision.risk === 'critical'
                  ? 'Critical: decide in the console.'
                  : 'This hold needs a written comment: decide in the console.',
            },
          ],
        },
      ]
  return {
    text: `Approval needed: ${slackText(p.summary)}`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: cut(`Approval needed: ${p.summary}`, 148) } },
      ...details(p),
      ...why,
      ...(buttons.length ? [{ type: 'actions', block_id: `airlock_${hold.id}`, elements: buttons }] : []),
    ],
  }
}

/** The message after the hold left `pending`: who decided what, and what happened; no buttons. */
export function outcomeMessage(hold: Hold, p: Presentation): { text: string; blocks: object[] } {
  const who = hold.approvals.map((a) => a.approver).join(', ')
  const outcome: Record<string, string> = {
    approved: `Approved by ${who}; sending`,
    executing: `Approved by ${who}; sending`,
    executed: `Approved by ${who}; sent, upstream answered ${hold.response?.status ?? '?'}`,
    failed: `Approved by ${who}; sending failed`,
    outcome_unknown: `Approved by ${who}; outcome unknown, a person must check`,
    denied: `Denied by ${hold.denial?.approver ?? 'an approver'}`,
    expired: 'Expired: nobody decided in time',
  }
  const line = outcome[hold.state] ?? hold.state
  const comment = hold.denial?.comment ?? hold.approvals.find((a) => a.comment)?.comment
  return {
    text: `${line}: ${slackText(p.summary)}`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: cut(`${line}: ${p.summary}`, 148) } },
      ...details(p),
      ...(comment ? [{ type: 'section', text: { type: 'mrkdwn', text: `*Comment*\n${slackText(comment)}` } }] : []),
    ],
  }
}
