// Posted Slack messages in the SQLite hold store (node:sqlite on Node, the Durable Object's SQLite on Workers): the
// HoldStore's Slack methods delegate here. One row per hold and group (migration 4); a re-post replaces it.
import type { SqlDriver } from '../ports.ts'

export interface PostedMessage {
  hold_id: string
  grp: string
  channel: string
  ts: string
  posted_at: number
}

/** What Slack approvals (slack/) need from the hold store: the SQLite store has it; the PostgreSQL store not yet. */
export interface SlackMessageStore {
  saveSlackMessage(m: PostedMessage): void | Promise<void>
  /** The message that announced the hold to the group. */
  slackMessage(holdId: string, grp: string): PostedMessage | undefined | Promise<PostedMessage | undefined>
  /** The message with this ts in the channel (the one a click came from). */
  slackMessageAt(channel: string, ts: string): PostedMessage | undefined | Promise<PostedMessage | undefined>
}

export function saveSlackMessage(db: SqlDriver, m: PostedMessage): void {
  db.run(
    `INSERT OR REPLACE INTO slack_messages (hold_id, grp, channel, ts, posted_at) VALUES (?, ?, ?, ?, ?)`,
    m.hold_id,
    m.grp,
    m.channel,
    m.ts,
    m.posted_at,
  )
}

export function slackMessage(db: SqlDriver, holdId: string, grp: string): PostedMessage | undefined {
  return db.all<PostedMessage>(`SELECT * FROM slack_messages WHERE hold_id = ? AND grp = ?`, holdId, grp)[0]
}

export function slackMessageAt(db: SqlDriver, channel: string, ts: string): PostedMessage | undefined {
  return db.all<PostedMessage>(`SELECT * FROM slack_messages WHERE channel = ? AND ts = ?`, channel, ts)[0]
}
