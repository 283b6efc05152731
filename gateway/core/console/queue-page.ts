// The queue: pending holds asked of the approver's groups, riskiest first, then soonest to expire.
import { html } from 'hono/html'
import { queueFor } from './access.ts'
import { type Seat, shellFor } from './context.ts'
import { BASE, duration, type Html, page, riskBadge } from './layout.ts'

export async function queuePage(seat: Seat, notice?: { kind: 'error' | 'ok'; text: string }): Promise<Html> {
  const holds = await queueFor(seat.service, seat.approver)
  const reviews = (await seat.service.reviewItems(seat.approver, 'pending')).length
  return page(
    shellFor(seat, 'Holds waiting for you', 'queue', notice),
    html`<p>${holds.length === 0 ? 'Nothing is waiting for your groups.' : `${holds.length} held request(s) need a decision from ${seat.approver.groups.join(', ')}.`}
  ${reviews ? html` <a href="${BASE}/reviews">Reviews</a> has sampled requests to look at.` : ''}</p>
${
  holds.length
    ? html`<table>
  <caption class="hint">Sorted by risk, then by time left. Open a hold to see the request and decide.</caption>
  <thead><tr><th scope="col">Risk</th><th scope="col">Summary</th><th scope="col">Rule</th><th scope="col">Agent</th><th scope="col">Owner</th>
  <th scope="col">Age</th><th scope="col">Time left</th><th scope="col">Approvals</th></tr></thead>
  <tbody>${holds.map(
    (h) => html`<tr>
    <td>${riskBadge(h.decision.risk)}</td>
    <td><a href="${BASE}/holds/${h.id}">${h.decision.summary}</a></td>
    <td><code>${h.decision.rule}</code></td>
    <td>${h.agent.id}</td>
    <td>${h.agent.owner}</td>
    <td>${duration(seat.now - h.created_at)}</td>
    <td>${duration(h.expires_at - seat.now)}</td>
    <td>${h.approvals.length} of ${h.decision.approvals_required}</td>
  </tr>`,
  )}</tbody></table>`
    : ''
}`,
  )
}
