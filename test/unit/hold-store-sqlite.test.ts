import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openSqlite } from '../../gateway/node/sqlite.ts'
import { runHoldStoreSuite, sqliteSubject } from '../conformance/hold-store.case.ts'

runHoldStoreSuite('node:sqlite (file, WAL)', () => sqliteSubject(openSqlite(join(mkdtempSync(join(tmpdir(), 'airlock-store-')), 'airlock.db'))))
