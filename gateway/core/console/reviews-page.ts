// After-the-fact review: sampled requests that were sent, with what went upstream and its status; mark ok or flag.
import { html } from 'hono/html'
import { type Seat, shellFor } from './context.ts'
import { BASE, type Html, isoTime, page } from './layout.ts'

export async function reviewsPage(seat: Seat, notice?: { kind: 'error' | 'ok'; text: string }): Promise<Html> {
  const items = await seat.service.reviewItems(seat.approver, 'pending')
  return page(
    shellFor(seat, 'Sampled requests to review', 'reviews', notice),
    html`<p>These requests were allowed and sent; a sample is kept for a person to check afterwards. Mark each one ok,
or flag it with a note (flags notify the rule's approvers).</p>
${items.length === 0 ? html`<p>Nothing to review.</p>` : ''}
${items.map((r) => {
  const ctx = (r.context ?? {}) as {
    reason?: string
    intent?: string | null
    request?: { method?: string; url?: string; headers?: unknown; body?: unknown }
  }
  return html`<section class="card" aria-labelledby="r-${r.id}"><h2 id="r-${r.id}">${r.summary}</h2>
  <dl class="facts"><dt>When</dt><dd>${isoTime(r.created_at)}</dd><dt>Agent</dt><dd>${r.agent_id}</dd><dt>Rule</dt><dd><code>${r.rule}</code></dd>
  <dt>Reason</dt><dd>${ctx.reason ?? ''}</dd><dt>Agent's stated intent</dt><dd>${ctx.intent ?? 'none'}</dd>
  <dt>Upstream status</dt><dd>${r.upstream_status}</dd></dl>
  <p><code>${ctx.request?.method ?? ''} ${ctx.request?.url ?? ''}</code></p>
  <pre aria-label="Request as forwarded">${JSON.stringify({ headers: ctx.request?.headers, body: ctx.request?.body }, null, 2)}</pre>
  <form method="post" action="${BASE}/reviews/${r.id}">
    <input type="hidden" name="csrf" value="${seat.csrf}">
    <label for="note-${r.id}">Note (required to flag)</label>
    <textarea id="note-${r.id}" name="comment"></textarea>
    <div class="buttons"><button type="submit" name="verdict" value="ok">Looks right</button>
    <button type="submit" name="verdict" value="flag" class="deny">Flag</button></div>
  </form>
</section>`
})}`,
  )
}
