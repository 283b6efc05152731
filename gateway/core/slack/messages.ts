// Which Slack message announced which hold to which group, so the message can be updated (chat.update) when the hold
// is decided, expires or runs, and so a click can be checked against when the message was posted. Its own table,
// created on first use, over the holds store's SQL driver (node:sqlite, or the Durable Object's SQLite).
import type { SqlDriver } from '../ports.ts'

export interface PostedMessage {
  hold_id: string
  grp: string
  channel: string
  ts: string
  posted_at: number
}

export class SlackMessages {
  readonly #db: SqlDriver
  constructor(db: SqlDriver) {
    this.#db = db
    db.run(`CREATE TABLE IF NOT EXISTS slack_messages (
      hold_id TEXT NOT NULL, grp TEXT NOT NULL, channel TEXT NOT NULL, ts TEXT NOT NULL, posted_at INTEGER NOT NULL,
      PRIMARY KEY (hold_id, grp))`)
  }

  save(m: PostedMessage): void {
    this.#db.run(`INSERT OR REPLACE INTO slack_messages (hold_id, grp, channel, ts, posted_at) VALUES (?, ?, ?, ?, ?)`, m.hold_id, m.grp, m.channel, m.ts, m.posted_at)
  }

  find(holdId: string, grp: string): PostedMessage | undefined {
    return this.#db.all<PostedMessage>(`SELECT * FROM slack_messages WHERE hold_id = ? AND grp = ?`, holdId, grp)[0]
  }

  byMessage(channel: string, ts: string): PostedMessage | undefined {
    return this.#db.all<PostedMessage>(`SELECT * FROM slack_messages WHERE channel = ? AND ts = ?`, channel, ts)[0]
  }
}
