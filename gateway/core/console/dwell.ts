// Dwell time: a high or critical hold's approve button works only after the approver has had it open for a while
// (approver_groups.<g>.min_dwell_s, default 5 s; the longest of the hold's groups applies). Enforced by the server;
// the page's script only counts down.
import type { Config } from '../config/schema.ts'
import type { Hold } from '../holds/types.ts'

export function dwellMs(hold: Hold, config: Config): number {
  if (hold.decision.risk !== 'high' && hold.decision.risk !== 'critical') return 0
  return Math.max(0, ...hold.groups.map((g) => (config.approver_groups[g]?.min_dwell_s ?? 5) * 1000))
}

/** Milliseconds until this approver may approve; 0 when they may now. Without a recorded view, the full dwell. */
export function dwellLeft(hold: Hold, config: Config, approverId: string, now: number): number {
  const need = dwellMs(hold, config)
  if (need === 0) return 0
  const view = hold.views.find((v) => v.approver === approverId)
  return view ? Math.max(0, view.at + need - now) : need
}
