// What the console shows an approver. The rules are the service's (holds/scope.ts: own groups; an auditor reads
// everything and decides only in its own groups), and the store applies them in its queries; this file only adds the
// console's own choices on top: which of those holds are in the queue, and in what order.
import type { ApproverConfig } from '../config/schema.ts'
import { mayDecide, readScope } from '../holds/scope.ts'
import type { HoldService } from '../holds/service.ts'
import type { Hold } from '../holds/types.ts'

export { mayDecide, mayRead } from '../holds/scope.ts'

/** Holds the approver may read (scope.ts), newest first unless a state is given. */
export async function readableHolds(
  service: HoldService,
  approver: ApproverConfig,
  filter: { state?: Hold['state']; limit?: number } = {},
): Promise<Hold[]> {
  return service.store.list({ ...filter, groups: readScope(approver) })
}

/** The queue: pending holds the approver may decide (an auditor's reading rights do not put holds in its queue). */
export async function queueFor(service: HoldService, approver: ApproverConfig): Promise<Hold[]> {
  return (await readableHolds(service, approver, { state: 'pending' }))
    .filter((h) => mayDecide(h.groups, approver))
    .sort(queueOrder)
}

const RISK_ORDER: Record<string, number> = { critical: 0, high: 1, medium: 2, low: 3 }

/** The queue's order: the riskiest first, then the one that expires soonest. */
export function queueOrder(a: Hold, b: Hold): number {
  return (RISK_ORDER[a.decision.risk] ?? 4) - (RISK_ORDER[b.decision.risk] ?? 4) || a.expires_at - b.expires_at
}
