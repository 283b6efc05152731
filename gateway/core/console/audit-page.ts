// The audit chain as the approver sees it: its head (to compare with a copy kept elsewhere), a verify button, the
// last records, and any hold's own timeline (also shown on the hold's page).
import { html } from 'hono/html'
import type { AuditRecord } from '../holds/audit.ts'
import { type Seat, shellFor } from './context.ts'
import { BASE, type Html, isoTime, page } from './layout.ts'

const LAST = 50

export function timeline(records: AuditRecord[]): Html {
  if (records.length === 0) return html`<p>No audit records.</p>`
  return html`<ol class="timeline">${records.map((r) => html`<li>${isoTime(r.at)} <strong>${r.type}</strong> by ${r.actor}${detail(r)}</li>`)}</ol>`
}

function detail(r: AuditRecord): Html | string {
  const rec = (r.record ?? {}) as Record<string, unknown>
  const bits: string[] = []
  if (typeof rec.comment === 'string') bits.push(`“${rec.comment}”`)
  if (typeof rec.ms_from_view === 'number')
    bits.push(`looked ${Math.round(rec.ms_from_view / 100) / 10} s before deciding`)
  if (rec.fast === true) bits.push('fast: possible rubber stamp')
  if (typeof rec.status === 'number') bits.push(`upstream ${rec.status}`)
  if (typeof rec.error === 'string') bits.push(rec.error)
  if (typeof rec.context_sha256 === 'string') bits.push(`shown context ${rec.context_sha256.slice(0, 12)}…`)
  if (typeof rec.via === 'string') bits.push(`via ${rec.via}`)
  return bits.length ? html` — ${bits.join('; ')}` : ''
}

export async function auditPage(seat: Seat, opts: { verify: boolean; holdId?: string | undefined }): Promise<Html> {
  // The records about the approver's groups (all for an auditor); the head and verification cover the whole chain.
  const records = await seat.service.auditRecords(seat.approver)
  const chain = await seat.service.verifyAudit()
  const v = opts.verify ? chain : undefined
  const head = chain.records ? chain.head : null
  const shown = opts.holdId ? records.filter((r) => r.hold_id === opts.holdId) : records.slice(-LAST).reverse()
  return page(
    shellFor(
      seat,
      'Audit',
      'audit',
      v
        ? {
            kind: v.ok ? 'ok' : 'error',
            text: v.ok
              ? `The chain of ${v.records} records verifies.`
              : `The chain does not verify: ${v.problems.slice(0, 3).join('; ')}`,
          }
        : undefined,
    ),
    html`<section class="card" aria-labelledby="head"><h2 id="head">Chain head</h2>
  <dl class="facts"><dt>Records</dt><dd>${chain.records} in the chain, ${records.length} about your groups</dd><dt>Head hash</dt><dd><code>${head ?? 'none yet'}</code></dd></dl>
  <p class="hint">Keep a copy of the head elsewhere: a chain cut short is only detectable against it.</p>
  <form method="get" action="${BASE}/audit"><input type="hidden" name="verify" value="1"><button type="submit">Verify the chain</button></form>
</section>
<form method="get" action="${BASE}/audit"><label for="hold">A hold's timeline (hold id)</label>
  <input id="hold" name="hold" value="${opts.holdId ?? ''}"> <button type="submit">Show</button></form>
${
  opts.holdId
    ? html`<h2>Timeline of hold <code>${opts.holdId}</code></h2>${timeline(shown)}`
    : html`<h2>The last ${shown.length} records</h2>
<table><thead><tr><th scope="col">Seq</th><th scope="col">When</th><th scope="col">Event</th><th scope="col">Actor</th><th scope="col">Hold</th><th scope="col">Hash</th></tr></thead>
<tbody>${shown.map(
        (r) => html`<tr><td>${r.seq}</td><td>${isoTime(r.at)}</td><td>${r.type}${detail(r)}</td><td>${r.actor}</td>
<td>${r.hold_id ? html`<a href="${BASE}/audit?hold=${r.hold_id}">${r.hold_id.slice(0, 8)}</a>` : ''}</td><td><code>${r.hash.slice(0, 12)}…</code></td></tr>`,
      )}</tbody></table>`
}`,
  )
}
