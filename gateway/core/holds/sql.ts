// The holds state lives in SQLite on both runtimes: node:sqlite on Node, a SQLite-backed Durable Object on Workers.
// The store is written once against this small driver interface; each runtime supplies a driver.
// The driver interface (SqlDriver) is a port, declared in ports.ts.
import type { SqlDriver } from '../ports.ts'

/** Ordered migrations; the index + 1 is the schema version. Never edit one that has shipped: append. */
export const MIGRATIONS: string[] = [
  `CREATE TABLE holds (
     id TEXT PRIMARY KEY,
     state TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     decided_at INTEGER,
     dedupe_key TEXT NOT NULL,
     agent_id TEXT NOT NULL,
     agent_owner TEXT NOT NULL,
     route TEXT NOT NULL,
     method TEXT NOT NULL,
     url TEXT NOT NULL,
     headers TEXT NOT NULL,
     body BLOB,
     body_sha256 TEXT NOT NULL,
     intent TEXT,
     decision TEXT NOT NULL,
     decision_id TEXT NOT NULL,
     policy_revision TEXT NOT NULL,
     groups TEXT NOT NULL,
     approvals TEXT NOT NULL DEFAULT '[]',
     views TEXT NOT NULL DEFAULT '[]',
     denial TEXT,
     response_status INTEGER,
     response_headers TEXT,
     response_body BLOB,
     error TEXT
   );
   CREATE INDEX holds_dedupe ON holds (dedupe_key, created_at);
   CREATE INDEX holds_state ON holds (state, expires_at);
   CREATE TABLE deliveries (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     hold_id TEXT,
     event TEXT NOT NULL,
     grp TEXT NOT NULL,
     hook INTEGER NOT NULL,
     payload TEXT NOT NULL,
     state TEXT NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     next_at INTEGER NOT NULL,
     last_status INTEGER,
     last_error TEXT,
     created_at INTEGER NOT NULL,
     delivered_at INTEGER
   );
   CREATE INDEX deliveries_due ON deliveries (state, next_at);
   CREATE TABLE reviews (
     id TEXT PRIMARY KEY,
     decision_id TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     agent_id TEXT NOT NULL,
     route TEXT NOT NULL,
     rule TEXT NOT NULL,
     summary TEXT NOT NULL,
     context TEXT NOT NULL,
     upstream_status INTEGER NOT NULL,
     state TEXT NOT NULL,
     reviewer TEXT,
     comment TEXT,
     reviewed_at INTEGER
   );
   CREATE INDEX reviews_state ON reviews (state, created_at);
   CREATE TABLE review_counts (
     rule TEXT PRIMARY KEY,
     forwarded INTEGER NOT NULL DEFAULT 0
   );
   CREATE TABLE audit (
     seq INTEGER PRIMARY KEY,
     at INTEGER NOT NULL,
     type TEXT NOT NULL,
     actor TEXT NOT NULL,
     hold_id TEXT,
     record TEXT NOT NULL,
     prev_hash TEXT NOT NULL,
     hash TEXT NOT NULL
   );`,
  // 2: remember when a stored upstream response was cut at the storage cap, so the agent is told.
  `ALTER TABLE holds ADD COLUMN response_truncated INTEGER NOT NULL DEFAULT 0;`,
  // 3: time-boxed approval grants (holds/grants.ts).
  `CREATE TABLE grants (
     id TEXT PRIMARY KEY,
     hold_id TEXT NOT NULL,
     rule TEXT NOT NULL,
     agent_id TEXT NOT NULL,
     route TEXT NOT NULL,
     groups TEXT NOT NULL,
     created_by TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     max_uses INTEGER NOT NULL,
     uses INTEGER NOT NULL DEFAULT 0,
     bounds TEXT NOT NULL DEFAULT '[]',
     revoked_at INTEGER,
     revoked_by TEXT
   );
   CREATE INDEX grants_agent ON grants (agent_id, expires_at);`,
  // 4: which Slack message announced which hold to which group (holds/slack-store.ts). IF NOT EXISTS: before this
  // migration the Slack code created the table itself on first use.
  `CREATE TABLE IF NOT EXISTS slack_messages (
     hold_id TEXT NOT NULL,
     grp TEXT NOT NULL,
     channel TEXT NOT NULL,
     ts TEXT NOT NULL,
     posted_at INTEGER NOT NULL,
     PRIMARY KEY (hold_id, grp)
   );`,
]

/** Brings the schema to the latest version; safe to call on every start. */
export function migrate(db: SqlDriver): void {
  db.run(`CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`)
  const row = db.all<{ version: number }>(`SELECT version FROM schema_version`)[0]
  let version = row?.version ?? 0
  if (!row) db.run(`INSERT INTO schema_version (version) VALUES (0)`)
  while (version < MIGRATIONS.length) {
    const sql = MIGRATIONS[version]!
    db.transaction(() => {
      for (const stmt of sql
        .split(/;\s*$/m)
        .map((s) => s.trim())
        .filter(Boolean))
        db.run(stmt)
      db.run(`UPDATE schema_version SET version = ?`, version + 1)
    })
    version++
  }
}
