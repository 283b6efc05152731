// The page shell every console page shares: header, navigation, sign-out form, and a status region for messages.
// Pages are hono `html` templates (escaped by default) rather than .tsx: Node runs Airlock's TypeScript by type
// stripping, which does not compile JSX, and the same files must run unbuilt on Node and bundled on Workers.
import { html } from 'hono/html'
import type { HtmlEscapedString } from 'hono/utils/html'

export type Html = HtmlEscapedString | Promise<HtmlEscapedString>

export const BASE = '/_airlock/console'

export interface Shell {
  title: string
  /** The signed-in approver, if any (the sign-in page has none). */
  approver?: { id: string; groups: string[]; csrf: string } | undefined
  current?: 'queue' | 'reviews' | 'report' | 'audit' | undefined
  /** A message shown at the top, announced to screen readers. */
  notice?: { kind: 'error' | 'ok'; text: string } | undefined
}

const NAV: [NonNullable<Shell['current']>, string, string][] = [
  ['queue', 'Queue', `${BASE}`],
  ['reviews', 'Reviews', `${BASE}/reviews`],
  ['report', 'Report', `${BASE}/report`],
  ['audit', 'Audit', `${BASE}/audit`],
]

export function page(shell: Shell, body: Html): Html {
  const a = shell.approver
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${shell.title} · Airlock console</title>
<link rel="stylesheet" href="${BASE}/assets/console.css">
<script src="${BASE}/assets/console.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <span class="brand">Airlock · approver console</span>
  ${
    a
      ? html`<nav aria-label="Console">
        <ul>${NAV.map(([key, label, href]) => html`<li><a href="${href}"${key === shell.current ? html` aria-current="page"` : ''}>${label}</a></li>`)}</ul>
      </nav>
      <form method="post" action="${BASE}/logout" class="whoami">
        <span>Signed in as <strong>${a.id}</strong> (${a.groups.join(', ')})</span>
        <input type="hidden" name="csrf" value="${a.csrf}">
        <button type="submit">Sign out</button>
      </form>`
      : ''
  }
</header>
<main id="main" tabindex="-1">
<h1>${shell.title}</h1>
<div role="status" aria-live="polite">${shell.notice ? html`<p class="notice ${shell.notice.kind}">${shell.notice.text}</p>` : ''}</div>
${body}
</main>
</body>
</html>`
}

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—'
  const s = Math.round(Math.abs(ms) / 1000)
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`
}

export function isoTime(ms: number): Html {
  const iso = new Date(ms).toISOString()
  return html`<time datetime="${iso}">${iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}</time>`
}

export function riskBadge(risk: string): Html {
  return html`<span class="risk risk-${risk}">${risk}</span>`
}

export function stateBadge(state: string): Html {
  return html`<span class="state state-${state}">${state.replace('_', ' ')}</span>`
}
