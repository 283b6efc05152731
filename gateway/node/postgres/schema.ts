// The hold store's schema on PostgreSQL: the same tables as the SQLite one (holds/sql.ts), in PostgreSQL's types.
// Several gateways may start at once against one database, so migrations run under a session advisory lock: the
// first gateway migrates, the others wait for it and then find nothing to do.
import type pg from 'pg'

/** Advisory lock keys (two-int form: namespace, key) shared by every Airlock gateway on one database. */
export const LOCK_NS = 0x41_49 // 'AI'
export const LOCK = { migrate: 1, create: 2, audit: 3 } as const
/** Namespace of the session locks each gateway holds for its lifetime (key: its executor id): held = alive. */
export const GATEWAY_NS = 0x41_4a
/** The channel a hold's id is sent on whenever its state changes (any gateway): waiting agents look again. */
export const HOLDS_CHANNEL = 'airlock_holds'

/** Ordered migrations; the index + 1 is the schema version. Never edit one that has shipped: append. */
export const PG_MIGRATIONS: string[] = [
  `CREATE TABLE holds (
     id TEXT PRIMARY KEY,
     state TEXT NOT NULL,
     created_at BIGINT NOT NULL,
     updated_at BIGINT NOT NULL,
     expires_at BIGINT NOT NULL,
     decided_at BIGINT,
     dedupe_key TEXT NOT NULL,
     agent_id TEXT NOT NULL,
     agent_owner TEXT NOT NULL,
     route TEXT NOT NULL,
     method TEXT NOT NULL,
     url TEXT NOT NULL,
     headers TEXT NOT NULL,
     body BYTEA,
     body_sha256 TEXT NOT NULL,
     intent TEXT,
     decision TEXT NOT NULL,
     decision_id TEXT NOT NULL,
     policy_revision TEXT NOT NULL,
     groups JSONB NOT NULL,
     approvals TEXT NOT NULL DEFAULT '[]',
     views TEXT NOT NULL DEFAULT '[]',
     denial TEXT,
     response_status INTEGER,
     response_headers TEXT,
     response_body BYTEA,
     response_truncated INTEGER NOT NULL DEFAULT 0,
     error TEXT
   );
   CREATE INDEX holds_dedupe ON holds (dedupe_key, created_at);
   CREATE INDEX holds_state ON holds (state, expires_at);
   CREATE TABLE deliveries (
     id BIGSERIAL PRIMARY KEY,
     hold_id TEXT,
     event TEXT NOT NULL,
     grp TEXT NOT NULL,
     hook INTEGER NOT NULL,
     payload TEXT NOT NULL,
     state TEXT NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     next_at BIGINT NOT NULL,
     last_status INTEGER,
     last_error TEXT,
     created_at BIGINT NOT NULL,
     delivered_at BIGINT
   );
   CREATE INDEX deliveries_due ON deliveries (state, next_at);
   CREATE TABLE reviews (
     id TEXT PRIMARY KEY,
     ord BIGSERIAL NOT NULL,
     decision_id TEXT NOT NULL,
     created_at BIGINT NOT NULL,
     agent_id TEXT NOT NULL,
     route TEXT NOT NULL,
     rule TEXT NOT NULL,
     summary TEXT NOT NULL,
     context JSONB NOT NULL,
     upstream_status INTEGER NOT NULL,
     state TEXT NOT NULL,
     reviewer TEXT,
     comment TEXT,
     reviewed_at BIGINT
   );
   CREATE INDEX reviews_state ON reviews (state, created_at);
   CREATE TABLE review_counts (
     rule TEXT PRIMARY KEY,
     forwarded BIGINT NOT NULL DEFAULT 0
   );
   CREATE TABLE audit (
     seq BIGINT PRIMARY KEY,
     at BIGINT NOT NULL,
     type TEXT NOT NULL,
     actor TEXT NOT NULL,
     hold_id TEXT,
     record TEXT NOT NULL,
     prev_hash TEXT NOT NULL,
     hash TEXT NOT NULL
   )`,
  // 2: time-boxed approval grants (core/holds/grants.ts).
  `CREATE TABLE grants (
     id TEXT PRIMARY KEY,
     hold_id TEXT NOT NULL,
     rule TEXT NOT NULL,
     agent_id TEXT NOT NULL,
     route TEXT NOT NULL,
     groups JSONB NOT NULL,
     created_by TEXT NOT NULL,
     created_at BIGINT NOT NULL,
     expires_at BIGINT NOT NULL,
     max_uses INTEGER NOT NULL,
     uses INTEGER NOT NULL DEFAULT 0,
     bounds JSONB NOT NULL DEFAULT '[]',
     revoked_at BIGINT,
     revoked_by TEXT
   );
   CREATE INDEX grants_agent ON grants (agent_id, expires_at)`,
  // 3: which gateway is sending an approved hold (its executor id, whose session lock it holds while alive), and a
  // notification on every state change, delivered at commit to the gateways that LISTEN.
  `ALTER TABLE holds ADD COLUMN executor INTEGER;
   CREATE FUNCTION airlock_hold_changed() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     PERFORM pg_notify('airlock_holds', NEW.id);
     RETURN NULL;
   END $$;
   CREATE TRIGGER holds_changed AFTER UPDATE OF state ON holds FOR EACH ROW
     WHEN (OLD.state IS DISTINCT FROM NEW.state) EXECUTE FUNCTION airlock_hold_changed()`,
  // 4: per-agent rate buckets shared by every gateway (rates.ts).
  `CREATE TABLE rate_buckets (
     key TEXT PRIMARY KEY,
     tokens DOUBLE PRECISION NOT NULL,
     at BIGINT NOT NULL
   )`,
]

/** Brings the schema to the latest version; safe when several gateways call it at the same moment. */
export async function migratePg(pool: pg.Pool): Promise<number> {
  const c = await pool.connect()
  try {
    await c.query('SELECT pg_advisory_lock($1, $2)', [LOCK_NS, LOCK.migrate])
    try {
      await c.query('CREATE TABLE IF NOT EXISTS airlock_schema_version (version INTEGER NOT NULL)')
      const row = (await c.query<{ version: number }>('SELECT version FROM airlock_schema_version')).rows[0]
      if (!row) await c.query('INSERT INTO airlock_schema_version (version) VALUES (0)')
      let version = row?.version ?? 0
      while (version < PG_MIGRATIONS.length) {
        await c.query('BEGIN')
        try {
          await c.query(PG_MIGRATIONS[version]!) // PostgreSQL runs a multi-statement string as one unit
          await c.query('UPDATE airlock_schema_version SET version = $1', [version + 1])
          await c.query('COMMIT')
        } catch (err) {
          await c.query('ROLLBACK')
          throw err
        }
        version++
      }
      return version
    } finally {
      await c.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_NS, LOCK.migrate])
    }
  } finally {
    c.release()
  }
}
