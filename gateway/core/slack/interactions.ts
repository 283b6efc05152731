// POST /_airlock/slack/interactions: Slack's request when someone clicks Approve or Deny. The request is verified as
// Slack signs it (signature.ts); the Slack user must be a configured approver (approvers[].slack_user_id); the
// decision goes through HoldService.approve/deny, so the API's rules apply unchanged (groups, owner ≠ approver,
// two-person rule, required comment, expiry, the context the message showed). Anything refused is told to the clicker
// alone (an ephemeral message) and changes nothing; a replayed or double click finds the hold already decided.
// Slack wants an answer within 3 seconds: deciding is a few SQLite statements, and the upstream call and the
// message update run afterwards (the hold's execution and the notifier's queue).
import type { Hono } from 'hono'
import type { ApproverConfig, Config } from '../config/schema.ts'
import { dwellLeft } from '../console/dwell.ts'
import { describeForLog, secretValues } from '../credentials.ts'
import { AirlockError } from '../errors.ts'
import type { HoldService } from '../holds/service.ts'
import type { Logger, Secrets } from '../ports.ts'
import { APPROVE, DENY, oneClick, parseButtonValue } from './blocks.ts'
import { slackMessages } from './messages.ts'
import { slackClient } from './poster.ts'
import { verifySlackRequest } from './signature.ts'

export const INTERACTIONS_PATH = '/_airlock/slack/interactions'

interface BlockActions {
  type: string
  user?: { id?: string }
  channel?: { id?: string }
  container?: { channel_id?: string; message_ts?: string }
  message?: { ts?: string }
  actions?: { action_id?: string; value?: string }[]
}

export interface SlackInteractionDeps {
  service: HoldService
  config: Config
  secrets: Secrets
  logger: Logger
  /** Keeps work going after the answer (Workers: the object's waitUntil); default: the promise just runs. */
  background?: ((work: Promise<unknown>) => void) | undefined
}

export function mountSlackInteractions(app: Hono, deps: SlackInteractionDeps): void {
  const { service, config, logger } = deps
  const slack = config.slack
  if (!slack) return
  // Posted messages are kept by the SQLite store; start-up refuses Slack with a PostgreSQL store (node/store.ts).
  const messages = slackMessages(service.store)

  app.post(INTERACTIONS_PATH, async (c) => {
    const secret = deps.secrets(slack.signing_secret_env)
    const raw = await c.req.text()
    if (!secret) {
      logger.error(
        { event: 'slack_interaction' },
        `Slack signing secret ${slack.signing_secret_env} is not set; clicks are refused`,
      )
      return c.text('signing secret not configured', 503)
    }
    if (!(await verifySlackRequest(secret, c.req.raw.headers, raw, Math.floor(service.deps.clock.now() / 1000)))) {
      logger.warn({ event: 'slack_interaction_refused' }, 'Slack interaction with a bad signature or a stale timestamp')
      return c.text('invalid signature', 401)
    }
    let payload: BlockActions
    try {
      payload = JSON.parse(new URLSearchParams(raw).get('payload') ?? '') as BlockActions
    } catch {
      return c.text('payload is not JSON', 400)
    }
    const action = payload.actions?.[0]
    if (payload.type !== 'block_actions' || !action || (action.action_id !== APPROVE && action.action_id !== DENY))
      return c.body(null, 200) // e.g. "Open in console"
    const user = payload.user?.id ?? ''
    const channel = payload.channel?.id ?? payload.container?.channel_id ?? ''
    // Told after answering Slack: its 3-second limit covers the answer, not this call.
    const tell = (text: string) => {
      const work = slackClient({ ...service.deps })
        .postEphemeral({ channel, user, text })
        .catch((err) => {
          logger.warn(
            { event: 'slack_ephemeral_failed', error: describeForLog(err, secretValues(config, deps.secrets)) },
            'could not tell the Slack user why their click was refused',
          )
        })
      ;(deps.background ?? (() => {}))(work)
    }
    const approver = config.approvers.find((a) => a.slack_user_id === user)
    const target = parseButtonValue(action.value ?? '')
    if (!approver || !target) {
      logger.warn(
        { event: 'slack_interaction_refused', slack_user: user },
        'Slack click by a user who is not a configured approver',
      )
      tell(
        'You are not an Airlock approver, so your click changed nothing. Ask the operator to add your Slack user id to approvers.',
      )
      return c.body(null, 200)
    }
    try {
      await decide(action.action_id, target, approver, payload.message?.ts ?? payload.container?.message_ts, channel)
    } catch (err) {
      if (!(err instanceof AirlockError)) throw err
      tell(`Nothing changed: ${err.message}`)
    }
    return c.body(null, 200)
  })

  async function decide(
    verb: string,
    target: { holdId: string; contextSha256: string },
    approver: ApproverConfig,
    ts: string | undefined,
    channel: string,
  ) {
    const hold = await service.store.get(target.holdId)
    if (hold && verb === APPROVE && !oneClick(hold)) {
      throw new AirlockError(
        'AIRLOCK_BAD_REQUEST',
        'this hold needs a written comment or is critical: open it in the console to decide',
      )
    }
    if (hold && verb === APPROVE) {
      // The console's minimum review time, counted from when the message was posted to this channel.
      const posted = ts ? await messages.slackMessageAt(channel, ts) : undefined
      const seen = { ...hold, views: [{ approver: approver.id, at: posted?.posted_at ?? service.deps.clock.now() }] }
      const left = dwellLeft(seen, config, approver.id, service.deps.clock.now())
      if (left > 0)
        throw new AirlockError(
          'AIRLOCK_CONFLICT',
          `this is a ${hold.decision.risk}-risk hold: read it for ${Math.ceil(left / 1000)} more second(s) before approving`,
        )
    }
    const body = { comment: null, context_sha256: target.contextSha256 }
    if (verb === APPROVE) await service.approve(target.holdId, approver, body)
    else await service.deny(target.holdId, approver, body)
    await service.audit('slack.clicked', `approver:${approver.id}`, target.holdId, {
      action: verb === APPROVE ? 'approve' : 'deny',
      via: 'slack',
      message_ts: ts ?? null,
    })
  }
}
