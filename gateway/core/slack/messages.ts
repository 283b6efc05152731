// Which Slack message announced which hold to which group, so the message can be updated (chat.update) when the hold
// is decided, expires or runs, and so a click can be checked against when the message was posted. The hold store
// keeps them (holds/slack-store.ts declares what Slack approvals need from it, and the SQLite store's SQL).
import { AirlockError } from '../errors.ts'
import type { SlackMessageStore } from '../holds/slack-store.ts'

export type { PostedMessage, SlackMessageStore } from '../holds/slack-store.ts'

/**
 * The store's Slack messages, or an error naming why there are none: start-up already refuses Slack with a store
 * that has none (gateway/node/store.ts), so this only fails if that check is bypassed.
 */
export function slackMessages(store: object): SlackMessageStore {
  const s = store as Partial<SlackMessageStore>
  if (!s.saveSlackMessage || !s.slackMessage || !s.slackMessageAt) {
    throw new AirlockError('AIRLOCK_CONFIG_INVALID', 'Slack approvals need the SQLite store (store.kind: sqlite)')
  }
  return store as SlackMessageStore
}
