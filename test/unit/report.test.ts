// The approvals report on a scripted history: exact figures, and the suggestions it draws from them.
import { describe, expect, it } from 'vitest'
import { buildReport, median } from '../../gateway/core/holds/report.ts'
import { HoldStore } from '../../gateway/core/holds/store.ts'
import { openSqlite } from '../../gateway/node/sqlite.ts'
import { newHold } from '../conformance/hold-store.case.ts'

function history() {
  const store = new HoldStore(openSqlite(':memory:'))
  const hold = (rule: string, created: number) => {
    const h = newHold({ created_at: created, groups: ['payments'], decision: { ...newHold().decision, rule } })
    store.createOrJoin(h, { payments: 1000 }, 0, () => {})
    return h.id
  }
  const approve = (id: string, approver: string, at: number, msFromView: number, fast: boolean) =>
    store.addApproval(
      id,
      {
        approver,
        at,
        comment: null,
        context_sha256: 'c',
        ms_from_notify: msFromView + 1000,
        ms_from_view: msFromView,
        fast,
      },
      true,
    )

  // stripe.refund: 20 decisions, all approved by bob; half of them in under the fast threshold.
  for (let i = 0; i < 20; i++)
    approve(hold('stripe.refund', 0), 'bob', 10_000 + i * 1000, i < 10 ? 1_000 : 60_000, i < 10)
  // github.delete: 20 decisions, all denied by carol after a minute.
  for (let i = 0; i < 20; i++) {
    const id = hold('github.delete', 0)
    store.transition(id, ['pending'], 'denied', 120_000, {
      decided_at: 120_000,
      denial: { approver: 'carol', at: 120_000, comment: 'no', ms_from_view: 60_000, fast: false },
    })
  }
  // mail.mass: one approved, one denied, one expired, one still pending.
  approve(hold('mail.mass', 0), 'carol', 30_000, 20_000, false)
  store.transition(hold('mail.mass', 0), ['pending'], 'denied', 50_000, {
    decided_at: 50_000,
    denial: { approver: 'bob', at: 50_000, comment: 'spam', ms_from_view: 100, fast: true },
  })
  store.transition(hold('mail.mass', 0), ['pending'], 'expired', 900_000, { decided_at: 900_000 })
  hold('mail.mass', 0)
  // review coverage: 10 forwarded by slack.external, 3 sampled, 2 reviewed, 1 flagged.
  for (let i = 0; i < 10; i++) store.countForwarded('slack.external')
  for (let i = 0; i < 3; i++)
    store.addReview({
      id: `r${i}`,
      decision_id: 'd',
      created_at: i,
      agent_id: 'a',
      route: 'slack',
      rule: 'slack.external',
      summary: 's',
      context: {},
      upstream_status: 200,
    })
  store.markReview('r0', 'ok', 'bob', null, 10)
  store.markReview('r1', 'flagged', 'bob', 'leaked a link', 11)
  store.appendAudit('hold.created', 'policy:x', null, {}, 1)
  return store
}

describe('airlock report', async () => {
  const report = await buildReport(history(), 20)
  const rule = (name: string) => report.rules.find((r) => r.rule === name)!

  it('counts holds and outcomes per rule, with approval rate, median time to decide and fast share', () => {
    expect(rule('stripe.refund')).toMatchObject({
      holds: 20,
      approved: 20,
      denied: 0,
      approval_rate: 1,
      fast_share: 0.5,
      median_ms_to_decide: 19_500,
    })
    expect(rule('github.delete')).toMatchObject({
      holds: 20,
      approved: 0,
      denied: 20,
      approval_rate: 0,
      fast_share: 0,
      median_ms_to_decide: 120_000,
    })
    expect(rule('mail.mass')).toMatchObject({
      holds: 4,
      approved: 1,
      denied: 1,
      expired: 1,
      pending: 1,
      approval_rate: 0.5,
      fast_share: 0.5,
      median_ms_to_decide: 40_000,
    })
  })

  it('suggests relaxing what is always approved and denying what is always refused, only past the threshold', async () => {
    expect(rule('stripe.refund').suggestion).toMatch(/approved 100 % of 20 decisions: a candidate to relax/)
    expect(rule('github.delete').suggestion).toMatch(/denied 100 % of 20 decisions: a candidate for deny/)
    expect(rule('mail.mass').suggestion).toBeNull()
    expect((await buildReport(history(), 21)).rules.every((r) => r.suggestion === null)).toBe(true)
  })

  it('gives per-approver figures', () => {
    const bob = report.approvers.find((a) => a.approver === 'bob')!
    expect(bob).toMatchObject({ decisions: 21, approvals: 20, denials: 1, fast_share: 0.524 })
    expect(bob.median_ms_from_view).toBe(1_000) // 100, ten of 1 s, ten of 60 s
    expect(report.approvers.find((a) => a.approver === 'carol')).toMatchObject({
      decisions: 21,
      approvals: 1,
      denials: 20,
      fast_share: 0,
      median_ms_from_view: 60_000,
    })
  })

  it('reports review coverage per rule and the audit head', () => {
    expect(report.review).toEqual([
      { rule: 'slack.external', forwarded: 10, sampled: 3, reviewed: 2, flagged: 1, coverage: 0.2 },
    ])
    expect(report.audit).toMatchObject({ records: 1, head: expect.stringMatching(/^[0-9a-f]{64}$/) })
  })

  it('median', () => {
    expect(median([])).toBeNull()
    expect(median([3, 1, 2])).toBe(2)
    expect(median([4, 1, 3, 2])).toBe(2.5)
  })
})
