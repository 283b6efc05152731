// Who may see and decide what, for every reader of the approver side (the HTTP API, the CLI through it, the web
// console): an approver sees and decides the holds and reviews of its own groups; an `auditor` reads everything and
// still decides only in its own groups. The rules live here, and the store applies the read scope in its queries
// (so a listing's LIMIT counts only what the reader may see), so no caller can forget them.
import type { ApproverConfig } from '../config/schema.ts'
import { AirlockError } from '../errors.ts'
import type { Review } from './types.ts'

/** The groups whose items a reader may see; undefined means every group (an auditor). */
export type ReadScope = readonly string[] | undefined

export function readScope(approver: ApproverConfig): ReadScope {
  return approver.role === 'auditor' ? undefined : approver.groups
}

const meets = (groups: readonly string[], mine: readonly string[]) => groups.some((g) => mine.includes(g))

export function mayRead(groups: readonly string[], approver: ApproverConfig): boolean {
  return approver.role === 'auditor' || meets(groups, approver.groups)
}

export function mayDecide(groups: readonly string[], approver: ApproverConfig): boolean {
  return meets(groups, approver.groups)
}

/**
 * The groups a sampled review belongs to: the approver groups its rule named. A review rule that names none
 * belongs to every group (a flag on it notifies every group, notifier.ts), so any approver may see and mark it.
 */
export function reviewGroups(review: Pick<Review, 'context'>, allGroups: readonly string[]): readonly string[] {
  const named = (review.context as { approvers?: unknown } | null)?.approvers
  return Array.isArray(named) && named.length ? (named as string[]) : allGroups
}

/**
 * Outside a reader's scope an item does not exist for it: the same 404 as an unknown id, so ids and group names of
 * other teams' work are not confirmed. Inside the read scope but outside the decide scope (an auditor) is a 403.
 */
export function assertMayDecide(what: string, id: string, groups: readonly string[], approver: ApproverConfig): void {
  if (!mayRead(groups, approver)) throw notFound(what, id)
  if (!mayDecide(groups, approver)) {
    throw new AirlockError(
      'AIRLOCK_FORBIDDEN',
      `approver "${approver.id}" may read ${what} ${id} (role auditor) but is not in the group(s) asked to decide it (${groups.join(', ')})`,
    )
  }
}

export function notFound(what: string, id: string): AirlockError {
  return new AirlockError('AIRLOCK_HOLD_NOT_FOUND', `no ${what} with id ${id} in your approver groups`)
}
