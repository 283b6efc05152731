// How approvals are really made: per rule and per approver, how many holds, how often approved, how fast, how
// many decided faster than a person can read (possible rubber stamps), and review coverage — with suggestions
// to relax rules people always approve or to deny what they always refuse. Approvals should be few and meaningful.
import type { ReadScope } from './scope.ts'
import type { HoldStorePort } from './store-port.ts'

export interface RuleFigures {
  rule: string
  holds: number
  approved: number
  denied: number
  expired: number
  pending: number
  approval_rate: number | null
  median_ms_to_decide: number | null
  fast_share: number | null
  suggestion: string | null
}

export interface ApproverFigures {
  approver: string
  decisions: number
  approvals: number
  denials: number
  median_ms_from_view: number | null
  fast_share: number | null
}

export interface CoverageFigures {
  rule: string
  forwarded: number
  sampled: number
  reviewed: number
  flagged: number
  coverage: number | null
}

/** One grant: its uses are requests that were allowed without a new hold (the holds it saved). */
export interface GrantFigures {
  id: string
  rule: string
  agent: string
  created_by: string
  state: 'live' | 'used_up' | 'expired' | 'revoked'
  uses: number
  max_uses: number
  expires_at: string
}

export interface Report {
  rules: RuleFigures[]
  /** Grants (docs/approvals.md "Grants"), newest first; holds_saved sums their uses. */
  grants: { holds_saved: number; grants: GrantFigures[] }
  approvers: ApproverFigures[]
  review: CoverageFigures[]
  audit: { records: number; head: string | null }
}

export function median(values: number[]): number | null {
  if (values.length === 0) return null
  const s = [...values].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

const ratio = (a: number, b: number) => (b === 0 ? null : Math.round((a / b) * 1000) / 1000)

/**
 * The report over every hold and review, or over a reader's scope (scope.ts): then the rules, approvers and review
 * coverage come only from the holds and review items of its groups. The audit figures (length and head hash of the
 * whole chain) carry no content and are always of the whole log.
 */
export async function buildReport(store: HoldStorePort, minDecisions: number, scope?: ReadScope): Promise<Report> {
  const byRule = new Map<string, RuleFigures & { times: number[]; fast: number }>()
  const byApprover = new Map<string, ApproverFigures & { times: number[]; fast: number }>()
  const approver = (id: string) => {
    let a = byApprover.get(id)
    if (!a)
      byApprover.set(
        id,
        (a = {
          approver: id,
          decisions: 0,
          approvals: 0,
          denials: 0,
          median_ms_from_view: null,
          fast_share: null,
          times: [],
          fast: 0,
        }),
      )
    return a
  }
  for (const h of await store.all(scope)) {
    const rule = h.decision.rule
    let r = byRule.get(rule)
    if (!r)
      byRule.set(
        rule,
        (r = {
          rule,
          holds: 0,
          approved: 0,
          denied: 0,
          expired: 0,
          pending: 0,
          approval_rate: null,
          median_ms_to_decide: null,
          fast_share: null,
          suggestion: null,
          times: [],
          fast: 0,
        }),
      )
    r.holds++
    const approvedStates = ['approved', 'executing', 'executed', 'failed', 'outcome_unknown']
    if (approvedStates.includes(h.state)) r.approved++
    else if (h.state === 'denied') r.denied++
    else if (h.state === 'expired') r.expired++
    else r.pending++
    if (h.decided_at !== null && h.state !== 'expired') r.times.push(h.decided_at - h.created_at)
    const decisive = h.state === 'denied' ? h.denial : h.approvals.at(-1)
    if (decisive && (decisive as { fast?: boolean }).fast && h.state !== 'expired') r.fast++
    for (const a of h.approvals) {
      const f = approver(a.approver)
      f.decisions++
      f.approvals++
      if (a.ms_from_view !== null) f.times.push(a.ms_from_view)
      if (a.fast) f.fast++
    }
    if (h.denial?.approver) {
      const f = approver(h.denial.approver)
      f.decisions++
      f.denials++
      if (h.denial.ms_from_view != null) f.times.push(h.denial.ms_from_view)
      if (h.denial.fast) f.fast++
    }
  }
  const rules = [...byRule.values()].map(({ times, fast, ...r }) => {
    const decided = r.approved + r.denied
    const rate = ratio(r.approved, decided)
    let suggestion: string | null = null
    if (decided >= minDecisions && rate !== null && rate >= 0.95)
      suggestion = `approved ${Math.round(rate * 100)} % of ${decided} decisions: a candidate to relax to review or allow`
    if (decided >= minDecisions && rate !== null && rate <= 0.05)
      suggestion = `denied ${Math.round((1 - rate) * 100)} % of ${decided} decisions: a candidate for deny`
    return {
      ...r,
      approval_rate: rate,
      median_ms_to_decide: median(times),
      fast_share: ratio(fast, decided),
      suggestion,
    }
  })
  const approvers = [...byApprover.values()].map(({ times, fast, ...a }) => ({
    ...a,
    median_ms_from_view: median(times),
    fast_share: ratio(fast, a.decisions),
  }))

  const forwarded = await store.forwardedCounts()
  const coverage = new Map<string, CoverageFigures>()
  const cov = (rule: string) => {
    let c = coverage.get(rule)
    if (!c)
      coverage.set(
        rule,
        (c = { rule, forwarded: forwarded[rule] ?? 0, sampled: 0, reviewed: 0, flagged: 0, coverage: null }),
      )
    return c
  }
  const items = await store.reviews(undefined, scope)
  // A scoped reader sees the forwarded counts of the rules whose sampled items it can see, not other teams' rules.
  for (const rule of scope ? new Set(items.map((i) => i.rule)) : Object.keys(forwarded)) cov(rule)
  for (const item of items) {
    const c = cov(item.rule)
    c.sampled++
    if (item.state !== 'pending') c.reviewed++
    if (item.state === 'flagged') c.flagged++
  }
  const review = [...coverage.values()].map((c) => ({ ...c, coverage: ratio(c.reviewed, c.forwarded) }))
  const now = Date.now()
  const grants = (await store.grants(scope, 10_000)).map(
    (g): GrantFigures => ({
      id: g.id,
      rule: g.rule,
      agent: g.agent_id,
      created_by: g.created_by,
      state:
        g.revoked_at !== null ? 'revoked' : g.uses >= g.max_uses ? 'used_up' : g.expires_at <= now ? 'expired' : 'live',
      uses: g.uses,
      max_uses: g.max_uses,
      expires_at: new Date(g.expires_at).toISOString(),
    }),
  )
  const audit = await store.auditRecords()
  return {
    rules: rules.sort((a, b) => b.holds - a.holds),
    grants: { holds_saved: grants.reduce((n, g) => n + g.uses, 0), grants },
    approvers: approvers.sort((a, b) => b.decisions - a.decisions),
    review: review.sort((a, b) => b.forwarded - a.forwarded),
    audit: { records: audit.length, head: audit.at(-1)?.hash ?? null },
  }
}
