// The report as pictures: per rule the approval rate and how long decisions took, per approver the decisions and
// the share made faster than a person can read, the queue over time, and what the report suggests changing.
import { html } from 'hono/html'
import { readScope } from '../holds/scope.ts'
import type { Hold } from '../holds/types.ts'
import { barChart, lineChart, stripChart } from './charts.ts'
import { type Seat, shellFor } from './context.ts'
import { duration, type Html, page } from './layout.ts'

const pct = (v: number | null) => (v === null ? '—' : `${Math.round(v * 100)} %`)

/** Pending holds at `steps` moments from the first hold until now. */
export function queueOverTime(holds: Hold[], now: number, steps = 40): { t: number; v: number }[] {
  if (holds.length === 0) return []
  const start = Math.min(...holds.map((h) => h.created_at))
  const end = Math.max(now, start + 1)
  const left = (h: Hold) => (h.state === 'pending' ? Infinity : (h.decided_at ?? h.updated_at))
  return Array.from({ length: steps + 1 }, (_, i) => {
    const t = start + ((end - start) * i) / steps
    return { t, v: holds.filter((h) => h.created_at <= t && left(h) > t).length }
  })
}

export async function reportPage(seat: Seat): Promise<Html> {
  const report = await seat.service.report(seat.approver)
  const holds = await seat.service.store.all(readScope(seat.approver))
  const times = new Map<string, number[]>()
  for (const h of holds) {
    if (h.decided_at === null || h.state === 'expired') continue
    times.set(h.decision.rule, [...(times.get(h.decision.rule) ?? []), h.decided_at - h.created_at])
  }
  const rules = report.rules
  const suggestions = rules.filter((r) => r.suggestion)
  return page(
    shellFor(seat, 'Report', 'report'),
    html`<p>How approvals are really made. Approvals should be few and meaningful: a rule people always approve is a
candidate to relax; one they always deny is a candidate for deny; many fast decisions mean people stopped reading.</p>
<h2>Suggestions</h2>
${
  suggestions.length
    ? html`<ul>${suggestions.map((r) => html`<li><code>${r.rule}</code>: ${r.suggestion}</li>`)}</ul>`
    : html`<p>No suggestion yet (a rule needs ${seat.config.holds.relax_threshold} decisions first).</p>`
}
<h2>Per rule</h2>
${barChart(
  'Approval rate per rule',
  'For each rule, approved (green) and denied (red) holds, with the approval rate.',
  rules.map((r) => ({
    label: r.rule,
    parts: [
      { value: r.approved, color: '#116329', name: 'approved' },
      { value: r.denied, color: '#a40e26', name: 'denied' },
      { value: r.expired, color: '#8c959f', name: 'expired' },
    ],
    text: `${pct(r.approval_rate)} of ${r.approved + r.denied}`,
  })),
  Math.max(1, ...rules.map((r) => r.approved + r.denied + r.expired)),
)}
${stripChart(
  'Time to decide per rule',
  'Each dot is one decided hold: the time from the hold to its decision; the red bar marks the median.',
  [...times].map(([label, values]) => ({ label, values, unit: (v: number) => duration(v) })),
)}
<table><thead><tr><th scope="col">Rule</th><th scope="col">Holds</th><th scope="col">Approved</th><th scope="col">Denied</th><th scope="col">Expired</th>
<th scope="col">Pending</th><th scope="col">Approval rate</th><th scope="col">Median time to decide</th><th scope="col">Fast share</th></tr></thead>
<tbody>${rules.map(
      (
        r,
      ) => html`<tr><td><code>${r.rule}</code></td><td>${r.holds}</td><td>${r.approved}</td><td>${r.denied}</td><td>${r.expired}</td><td>${r.pending}</td>
<td>${pct(r.approval_rate)}</td><td>${duration(r.median_ms_to_decide)}</td><td>${pct(r.fast_share)}</td></tr>`,
    )}</tbody></table>
<h2>Per approver</h2>
${barChart(
  'Decisions per approver',
  'For each approver, decisions made after reading (blue) and decided faster than holds.fast_decision_ms (orange).',
  report.approvers.map((a) => {
    const fast = Math.round((a.fast_share ?? 0) * a.decisions)
    return {
      label: a.approver,
      parts: [
        { value: a.decisions - fast, color: '#0b5cad', name: 'considered' },
        { value: fast, color: '#e59700', name: 'fast' },
      ],
      text: `${a.decisions} (${pct(a.fast_share)} fast)`,
    }
  }),
  Math.max(1, ...report.approvers.map((a) => a.decisions)),
)}
<h2>Queue over time</h2>
${lineChart(
  'Pending holds over time',
  'How many of your groups’ holds were waiting for a decision, from the first hold until now.',
  queueOverTime(holds, seat.now),
  (t) => new Date(t).toISOString().slice(0, 16).replace('T', ' '),
)}
<h2>Review coverage</h2>
${
  report.review.length === 0
    ? html`<p>Nothing yet: no request decided <code>review</code> that you may see has been recorded.</p>`
    : html`<table><thead><tr><th scope="col">Rule</th><th scope="col">Forwarded</th><th scope="col">Sampled</th><th scope="col">Reviewed</th><th scope="col">Flagged</th></tr></thead>
<tbody>${report.review.map((c) => html`<tr><td><code>${c.rule}</code></td><td>${c.forwarded}</td><td>${c.sampled}</td><td>${c.reviewed}</td><td>${c.flagged}</td></tr>`)}</tbody></table>`
}
<p class="hint">Audit chain: ${report.audit.records} records, head <code>${report.audit.head ?? 'none'}</code>.</p>`,
  )
}
