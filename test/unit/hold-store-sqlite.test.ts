import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { MIGRATIONS } from '../../gateway/core/holds/sql.ts'
import { HoldStore } from '../../gateway/core/holds/store.ts'
import { openSqlite } from '../../gateway/node/sqlite.ts'
import { runHoldStoreSuite, sqliteSubject } from '../conformance/hold-store.case.ts'

runHoldStoreSuite('node:sqlite (file, WAL)', () =>
  sqliteSubject(openSqlite(join(mkdtempSync(join(tmpdir(), 'airlock-store-')), 'airlock.db'))),
)

describe('posted Slack messages in the SQLite store', () => {
  it('are kept per hold and group, found by the message they are, and a re-post replaces the row', () => {
    const store = new HoldStore(openSqlite(join(mkdtempSync(join(tmpdir(), 'airlock-slack-')), 'airlock.db')))
    store.saveSlackMessage({ hold_id: 'h1', grp: 'ops', channel: 'C1', ts: '1.1', posted_at: 10 })
    store.saveSlackMessage({ hold_id: 'h1', grp: 'payments', channel: 'C2', ts: '2.1', posted_at: 11 })
    expect(store.slackMessage('h1', 'ops')).toEqual({
      hold_id: 'h1',
      grp: 'ops',
      channel: 'C1',
      ts: '1.1',
      posted_at: 10,
    })
    expect(store.slackMessageAt('C2', '2.1')?.grp).toBe('payments')
    expect(store.slackMessage('h1', 'other')).toBeUndefined()
    store.saveSlackMessage({ hold_id: 'h1', grp: 'ops', channel: 'C1', ts: '1.2', posted_at: 12 })
    expect(store.slackMessage('h1', 'ops')?.ts).toBe('1.2')
    expect(store.slackMessageAt('C1', '1.1')).toBeUndefined()
  })

  it('a database whose table the Slack code created before migration 4 keeps its rows', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'airlock-slack-')), 'airlock.db')
    const db = openSqlite(path)
    // A database at schema version 3 (before migration 4).
    for (const sql of MIGRATIONS.slice(0, 3)) db.run(sql)
    db.run(`CREATE TABLE schema_version (version INTEGER NOT NULL)`)
    db.run(`INSERT INTO schema_version (version) VALUES (3)`)
    // As gateway/core/slack/messages.ts created it on first use before the store owned the table.
    db.run(`CREATE TABLE IF NOT EXISTS slack_messages (
      hold_id TEXT NOT NULL, grp TEXT NOT NULL, channel TEXT NOT NULL, ts TEXT NOT NULL, posted_at INTEGER NOT NULL,
      PRIMARY KEY (hold_id, grp))`)
    db.run(`INSERT INTO slack_messages VALUES ('h1', 'ops', 'C1', '1.1', 10)`)
    const store = new HoldStore(db)
    expect(db.all<{ version: number }>(`SELECT version FROM schema_version`)[0]?.version).toBe(MIGRATIONS.length)
    expect(store.slackMessage('h1', 'ops')?.ts).toBe('1.1')
  })
})
