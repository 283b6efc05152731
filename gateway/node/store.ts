// Opens the hold store the config names: SQLite in <data_dir>/airlock.db (one gateway, the default) or PostgreSQL
// (any number of gateways sharing it; gateway/node/postgres/). The gateway and `airlock report` / `audit verify`
// open it the same way.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { Config } from '../core/config/schema.ts'
import { AirlockError } from '../core/errors.ts'
import { HoldStore } from '../core/holds/store.ts'
import type { HoldStorePort } from '../core/holds/store-port.ts'
import type { Secrets } from '../core/ports.ts'
import { PgHoldStore } from './postgres/store.ts'
import { openSqlite } from './sqlite.ts'

export interface OpenedStore {
  store: HoldStorePort
  /** The PostgreSQL store, for what only it has (cross-gateway wake-ups, orphaned executions). */
  pg?: PgHoldStore
  close(): Promise<void>
}

export async function openStore(
  config: Config,
  secrets: Secrets,
  opts: { mustExist?: boolean } = {},
): Promise<OpenedStore> {
  const s = config.store
  if (s.kind === 'postgres') {
    const url = secrets(s.url_env)
    if (!url)
      throw new AirlockError(
        'AIRLOCK_CONFIG_INVALID',
        `store.kind is postgres but ${s.url_env} is not set (store.url_env): set it to the database's postgres:// URL`,
      )
    const slack = Object.entries(config.approver_groups)
      .filter(([, g]) => g.slack_channel)
      .map(([name]) => name)
    if (slack.length) {
      throw new AirlockError(
        'AIRLOCK_CONFIG_INVALID',
        `approver group(s) ${slack.join(', ')} post to Slack, which needs the SQLite store for now; with store.kind postgres use webhooks (docs/operations.md)`,
      )
    }
    const pg = await PgHoldStore.open({
      connectionString: url,
      max: s.pool.max,
      connectionTimeoutMs: s.pool.connect_timeout_ms,
      deliveryLeaseMs: s.delivery_lease_s * 1000,
    })
    return { store: pg, pg, close: () => pg.close() }
  }
  const path = join(config.data_dir, 'airlock.db')
  // Opening a missing file would create an empty database and report "0 records, ok": say what is wrong instead.
  if (opts.mustExist && !existsSync(path)) {
    throw new AirlockError(
      'AIRLOCK_DATA_MISSING',
      `no Airlock database at ${path} (data_dir in the config; has the gateway run with it?)`,
    )
  }
  const db = openSqlite(path)
  return { store: new HoldStore(db), close: async () => db.close() }
}
