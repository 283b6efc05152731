// One hold: everything the decision needs on one screen. What the agent proposes (the request exactly as it will be
// sent, credentials redacted), why the policy held it, the agent's own claim of intent (marked as a claim), how it
// compares with earlier holds of the rule, what the agent did recently, and the decision form. The form posts the
// context_sha256 of the presentation rendered here, so the audit records what the approver was shown.
import { html } from 'hono/html'
import type { Presentation } from '../holds/presentation.ts'
import type { Hold, Review } from '../holds/types.ts'
import { mayDecide, readableHolds } from './access.ts'
import { timeline } from './audit-page.ts'
import { type Seat, shellFor } from './context.ts'
import { dwellLeft, dwellMs } from './dwell.ts'
import { BASE, duration, type Html, isoTime, page, riskBadge, stateBadge } from './layout.ts'
import { compare } from './similar.ts'

export interface HoldPageInput {
  seat: Seat
  hold: Hold
  presentation: Presentation
  contextSha256: string
  notice?: { kind: 'error' | 'ok'; text: string } | undefined
  comment?: string | undefined
}

const ACTIVITY = 10

export async function holdPage(input: HoldPageInput): Promise<Html> {
  const { seat, hold, presentation: p } = input
  const holds = await readableHolds(seat.service, seat.approver, { limit: 500 })
  const reviews = await seat.service.reviewItems(seat.approver)
  const records = await seat.service.auditRecords(seat.approver)
  return page(
    shellFor(seat, p.summary, 'queue', input.notice),
    html`<p><a href="${BASE}">← Back to the queue</a></p>
<div class="grid">
  <div>
    ${why(p)}
    ${request(p)}
    ${similar(holds, hold)}
  </div>
  <div>
    ${decision(input)}
    ${agent(seat, hold)}
    ${activity(holds, reviews, hold)}
    <section class="card" aria-labelledby="tl"><h2 id="tl">Timeline</h2>${timeline(records.filter((r) => r.hold_id === hold.id))}</section>
  </div>
</div>`,
  )
}

function why(p: Presentation): Html {
  return html`<section class="card" aria-labelledby="why"><h2 id="why">Why it is held</h2>
  <dl class="facts">
    <dt>Policy's reason</dt><dd>${p.reason}</dd>
    <dt>Rule</dt><dd><code>${p.rule}</code></dd>
    <dt>Risk</dt><dd>${riskBadge(p.risk)}</dd>
    <dt>Policy revision</dt><dd><code>${p.policy_revision}</code></dd>
  </dl>
  <h3>The agent's stated intent</h3>
  <p class="claim"><span class="hint">The agent's own claim, not verified by Airlock:</span><br>${p.intent ?? 'The agent gave no intent.'}</p>
</section>`
}

function request(p: Presentation): Html {
  const r = p.request
  return html`<section class="card" aria-labelledby="req"><h2 id="req">The request as it will be sent</h2>
  <p><code>${r.method} ${r.url}</code></p>
  <table><caption class="hint">Headers (credentials redacted; Airlock adds the route's credential when it sends)</caption>
    <tbody>${Object.entries(r.headers).map(([k, v]) => html`<tr><th scope="row">${k}</th><td><code>${v}</code></td></tr>`)}</tbody></table>
  <h3>Body</h3>
  ${r.body_preview === null ? html`<p>No body.</p>` : html`<pre aria-label="Request body">${r.body_preview}</pre>`}
  ${r.body_truncated ? html`<p class="notice error">Truncated: only the start of the ${r.body_size}-byte body is shown; the whole body is sent.</p>` : ''}
  <dl class="facts"><dt>Body size</dt><dd>${r.body_size} bytes</dd><dt>Body SHA-256</dt><dd><code>${r.body_sha256}</code></dd></dl>
</section>`
}

function similar(readable: Hold[], hold: Hold): Html {
  const c = compare(
    hold,
    readable.filter((h) => h.decision.rule === hold.decision.rule),
  )
  return html`<section class="card" aria-labelledby="sim"><h2 id="sim">Compared with earlier holds of this rule</h2>
  ${
    c.considered === 0
      ? html`<p>This is the first hold of rule <code>${hold.decision.rule}</code>: nothing to compare with.</p>`
      : html`${
          c.unusual.length
            ? html`<ul class="unusual">${c.unusual.map((u) => html`<li class="diff-unusual">${u}</li>`)}</ul>`
            : c.approvedCount === 0
              ? html`<p>None of the last ${c.considered} earlier hold(s) of this rule was approved, so there is no approved range to compare this one with.</p>`
              : html`<p>Nothing here lies outside what was approved before (${c.approvedCount} of the last ${c.considered} were approved).</p>`
        }
      <table><caption class="hint">The most similar earlier holds (same agent first) and what differs from this one</caption>
      <thead><tr><th scope="col">When</th><th scope="col">Agent</th><th scope="col">Outcome</th><th scope="col">Differences (then → now)</th></tr></thead>
      <tbody>${c.similar.map(
        (s) => html`<tr${s.hold.state === 'denied' ? html` class="denial"` : ''}>
        <td><a href="${BASE}/holds/${s.hold.id}">${isoTime(s.hold.created_at)}</a></td>
        <td>${s.hold.agent.id}</td><td>${stateBadge(s.hold.state)}</td>
        <td>${s.changes.length === 0 ? 'identical fields' : html`<ul>${s.changes.slice(0, 8).map((d) => html`<li><code>${d.field}</code>: ${d.was} → ${d.now}</li>`)}</ul>`}</td>
      </tr>`,
      )}</tbody></table>`
  }
</section>`
}

function decision(input: HoldPageInput): Html {
  const { seat, hold, presentation: p } = input
  const approvals = hold.approvals
  const left = dwellLeft(hold, seat.config, seat.approver.id, seat.now)
  const owner =
    seat.approver.id === hold.agent.owner || seat.approver.email?.toLowerCase() === hold.agent.owner.toLowerCase()
  const already = approvals.some((a) => a.approver === seat.approver.id)
  return html`<section class="card" aria-labelledby="dec"><h2 id="dec">Decision</h2>
  <dl class="facts">
    <dt>State</dt><dd>${stateBadge(hold.state)}</dd>
    <dt>Approvals</dt><dd>${approvals.length} of ${p.approvals_required} required${approvals.length ? html`: ${approvals.map((a, i) => html`${i ? ', ' : ''}${a.approver} (${isoTime(a.at)}${a.comment ? html`, “${a.comment}”` : ''})`)}` : ''}</dd>
    <dt>Asked of</dt><dd>${p.approvers.join(', ')}</dd>
    <dt>Time left</dt><dd>${hold.state === 'pending' ? duration(hold.expires_at - seat.now) : '—'} (expires ${isoTime(hold.expires_at)})</dd>
    ${hold.denial ? html`<dt>Denied by</dt><dd>${hold.denial.approver ?? 'system'}${hold.denial.comment ? html`: “${hold.denial.comment}”` : ''}</dd>` : ''}
    ${hold.response ? html`<dt>Upstream answered</dt><dd>${hold.response.status}</dd>` : ''}
    ${hold.error ? html`<dt>Error</dt><dd>${hold.error}</dd>` : ''}
  </dl>
  ${
    !mayDecide(hold.groups, seat.approver)
      ? html`<p>You may read this hold (auditor) but not decide it: it is asked of ${hold.groups.join(', ')}.</p>`
      : hold.state === 'outcome_unknown'
        ? resolveForm(seat, hold)
        : hold.state !== 'pending'
          ? html`<p>This hold is ${hold.state.replace('_', ' ')}; there is nothing left to decide.</p>`
          : html`<form class="decide" method="post" action="${BASE}/holds/${hold.id}/decide">
    <input type="hidden" name="csrf" value="${seat.csrf}">
    <input type="hidden" name="context_sha256" value="${input.contextSha256}">
    <label for="comment">Comment${p.require_comment ? ' (required to approve)' : ' (optional; recorded in the audit)'}</label>
    <textarea id="comment" name="comment" aria-describedby="comment-hint">${input.comment ?? ''}</textarea>
    <p id="comment-hint" class="hint">Say why it is right (or wrong) to send this. The agent receives a denial's comment.</p>
    ${!owner && !already ? grantFieldset(input) : ''}
    <div class="buttons">
      ${
        owner
          ? html`<p class="hint">You own the agent ${hold.agent.id}: someone else must approve its requests. You may deny.</p>`
          : already
            ? html`<p class="hint">You have approved; it needs ${p.approvals_required} different approvers.</p>`
            : html`<button type="submit" name="verb" value="approve" class="approve" aria-describedby="approve-hint"${left > 0 ? html` disabled data-dwell-ms="${left}"` : ''}>Approve and send</button>`
      }
      <button type="submit" name="verb" value="deny" class="deny">Deny</button>
    </div>
    ${
      !owner && !already
        ? html`<p id="approve-hint" class="hint">${
            left > 0
              ? `High-risk hold: approve is available ${Math.ceil(left / 1000)} s after you opened it (minimum review time ${dwellMs(hold, seat.config) / 1000} s). Reload the page if scripts are off.`
              : p.require_comment
                ? 'The policy asks for a comment before approval.'
                : 'Approving sends the request above exactly as shown.'
          }</p>`
        : ''
    }
  </form>`
  }
</section>`
}

/**
 * The optional grant (docs/approvals.md "Grants"): offered only where the service would accept one — the policy marked
 * the hold grantable, it needs one approval, and one of the approver's groups on it allows grants.
 */
function grantFieldset(input: HoldPageInput): Html | '' {
  const { seat, hold } = input
  const max = Math.max(
    0,
    ...hold.groups
      .filter((g) => seat.approver.groups.includes(g))
      .map((g) => seat.config.approver_groups[g]?.max_grant_minutes ?? 0),
  )
  if (hold.decision.grantable !== true || hold.decision.approvals_required > 1 || max < 1) return ''
  return html`<fieldset class="grant"><legend>Also allow the same for a while (optional grant)</legend>
    <p class="hint">Requests from ${hold.agent.id} that this rule (${hold.decision.rule}) would hold are allowed without asking,
    until the minutes or the uses run out. Leave empty to approve this request only.</p>
    <label for="grant-minutes">Minutes (at most ${max})</label>
    <input type="number" id="grant-minutes" name="grant_minutes" min="1" max="${max}">
    <label for="grant-uses">Uses (requests it may allow)</label>
    <input type="number" id="grant-uses" name="grant_uses" min="1" max="1000">
    <label for="grant-same">Fields that must keep this request's value (comma-separated, optional)</label>
    <input type="text" id="grant-same" name="grant_same">
    <label for="grant-max">Numeric fields that may not exceed this request's value (optional)</label>
    <input type="text" id="grant-max" name="grant_max">
  </fieldset>`
}

/** outcome_unknown: the gateway stopped or timed out mid-send; a person checks the upstream and records what happened. */
function resolveForm(seat: Seat, hold: Hold): Html {
  return html`<p>Airlock cannot tell whether the upstream received this request (it was never re-sent). Check the
  upstream, then record what happened.</p>
  <form class="decide" method="post" action="${BASE}/holds/${hold.id}/resolve">
    <input type="hidden" name="csrf" value="${seat.csrf}">
    <fieldset><legend>What happened upstream?</legend>
      <label><input type="radio" name="outcome" value="executed" required> It was carried out</label>
      <label><input type="radio" name="outcome" value="failed"> It was not carried out</label>
    </fieldset>
    <label for="resolve-comment">How you checked</label>
    <textarea id="resolve-comment" name="comment"></textarea>
    <div class="buttons"><button type="submit">Record the outcome</button></div>
  </form>`
}

function agent(seat: Seat, hold: Hold): Html {
  const labels = seat.config.agents.find((a) => a.id === hold.agent.id)?.labels ?? {}
  return html`<section class="card" aria-labelledby="ag"><h2 id="ag">Agent</h2>
  <dl class="facts"><dt>Agent</dt><dd>${hold.agent.id}</dd><dt>Owner</dt><dd>${hold.agent.owner}</dd>
  <dt>Labels</dt><dd>${Object.entries(labels).map(([k, v]) => html`<code>${k}=${String(v)}</code> `)}${Object.keys(labels).length ? '' : 'none'}</dd></dl>
</section>`
}

/** The agent's recent activity that Airlock keeps: its holds (denials highlighted) and its sampled reviews. */
function activity(readable: Hold[], reviewItems: Review[], hold: Hold): Html {
  const holds = readable.filter((h) => h.agent.id === hold.agent.id && h.id !== hold.id).slice(0, ACTIVITY)
  const reviews = reviewItems
    .filter((r) => r.agent_id === hold.agent.id)
    .slice(-ACTIVITY)
    .reverse()
  return html`<section class="card" aria-labelledby="act"><h2 id="act">The agent's recent activity</h2>
  ${holds.length === 0 && reviews.length === 0 ? html`<p>No earlier holds or sampled requests from ${hold.agent.id}.</p>` : ''}
  ${
    holds.length
      ? html`<table><caption class="hint">Its last ${holds.length} held request(s)</caption>
    <thead><tr><th scope="col">When</th><th scope="col">Summary</th><th scope="col">Outcome</th></tr></thead>
    <tbody>${holds.map((h) => html`<tr${h.state === 'denied' ? html` class="denial"` : ''}><td>${isoTime(h.created_at)}</td><td><a href="${BASE}/holds/${h.id}">${h.decision.summary}</a></td><td>${stateBadge(h.state)}${h.denial?.comment ? html` “${h.denial.comment}”` : ''}</td></tr>`)}</tbody></table>`
      : ''
  }
  ${
    reviews.length
      ? html`<table><caption class="hint">Its sampled requests (sent, then reviewed)</caption>
    <thead><tr><th scope="col">When</th><th scope="col">Summary</th><th scope="col">Upstream</th><th scope="col">Review</th></tr></thead>
    <tbody>${reviews.map((r) => html`<tr${r.state === 'flagged' ? html` class="denial"` : ''}><td>${isoTime(r.created_at)}</td><td>${r.summary}</td><td>${r.upstream_status}</td><td>${r.state}</td></tr>`)}</tbody></table>`
      : ''
  }
  <p class="hint">Allowed and denied requests are in the gateway's decision log, not here.</p>
</section>`
}
