// What people decided about holds, read for replay: one read-only query over the holds table, here beside the schema
// (sql.ts) so no adapter runs SQL against the core's tables.

import type { SqlDriver } from '../ports.ts'
import type { HumanOutcome } from '../replay/analysis.ts'

const APPROVED = new Set(['approved', 'executing', 'executed', 'failed', 'outcome_unknown'])

export function readOutcomes(db: SqlDriver): HumanOutcome[] {
  const rows = db.all<{
    id: string
    decision_id: string
    state: string
    groups: string
    created_at: number
    decided_at: number | null
  }>(`SELECT id, decision_id, state, groups, created_at, decided_at FROM holds`)
  return rows.map((r) => ({
    hold_id: r.id,
    decision_id: r.decision_id,
    outcome: APPROVED.has(r.state)
      ? 'approved'
      : r.state === 'denied'
        ? 'denied'
        : r.state === 'expired'
          ? 'expired'
          : 'pending',
    groups: JSON.parse(r.groups) as string[],
    created_at: Number(r.created_at),
    decided_at: r.decided_at === null ? null : Number(r.decided_at),
  }))
}
