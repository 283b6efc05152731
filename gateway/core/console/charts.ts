// Server-rendered SVG charts (no chart library, no CDN). Each chart is an image with a title and a text description
// for screen readers; the numbers are also in the report's tables.
import { html } from 'hono/html'
import { median } from '../holds/report.ts'
import type { Html } from './layout.ts'

const W = 640
const LABEL = 180
const ROW = 24

export interface Bar {
  label: string
  /** Segments drawn left to right, each a share of `max`. */
  parts: { value: number; color: string; name: string }[]
  text: string
}

export function barChart(title: string, description: string, bars: Bar[], max: number): Html {
  const h = Math.max(1, bars.length) * ROW + 10
  const scale = (v: number) => (max > 0 ? (v / max) * (W - LABEL - 90) : 0)
  return html`<figure><svg role="img" aria-labelledby="${id(title)}-t ${id(title)}-d" width="${W}" height="${h}" viewBox="0 0 ${W} ${h}">
<title id="${id(title)}-t">${title}</title><desc id="${id(title)}-d">${description}</desc>
${bars.map((b, i) => {
  let x = LABEL
  const y = i * ROW + 4
  return html`<text x="${LABEL - 6}" y="${y + 14}" text-anchor="end">${b.label.slice(0, 28)}</text>
${b.parts.map((p) => {
  const w = scale(p.value)
  const r = html`<rect x="${x}" y="${y}" width="${w.toFixed(1)}" height="${ROW - 8}" fill="${p.color}"><title>${p.name}: ${p.value}</title></rect>`
  x += w
  return r
})}
<text x="${x + 6}" y="${y + 14}">${b.text}</text>`
})}
</svg><figcaption>${title}</figcaption></figure>`
}

/** Room right of a strip chart's axis for "median 12 min 34 s". */
const STRIP_RIGHT = 130

/** One row per series: every value as a dot, the median as a bar (a distribution at a glance). */
export function stripChart(
  title: string,
  description: string,
  rows: { label: string; values: number[]; unit: (v: number) => string }[],
): Html {
  const all = rows.flatMap((r) => r.values)
  const max = Math.max(1, ...all)
  const h = Math.max(1, rows.length) * ROW + 26
  const sx = (v: number) => LABEL + (v / max) * (W - LABEL - STRIP_RIGHT)
  return html`<figure><svg role="img" aria-labelledby="${id(title)}-t ${id(title)}-d" width="${W}" height="${h}" viewBox="0 0 ${W} ${h}">
<title id="${id(title)}-t">${title}</title><desc id="${id(title)}-d">${description}</desc>
${rows.map((r, i) => {
  const y = i * ROW + 4
  // The same median as the report's table beside the chart (the mean of the middle two for an even count).
  const med = median(r.values)
  return html`<text x="${LABEL - 6}" y="${y + 14}" text-anchor="end">${r.label.slice(0, 28)}</text>
<line x1="${LABEL}" x2="${W - STRIP_RIGHT}" y1="${y + 8}" y2="${y + 8}" stroke="#d0d7de"/>
${r.values.map((v) => html`<circle cx="${sx(v).toFixed(1)}" cy="${y + 8}" r="4" fill="#0b5cad" fill-opacity="0.5"><title>${r.unit(v)}</title></circle>`)}
${
  med === null
    ? ''
    : html`<rect x="${(sx(med) - 1.5).toFixed(1)}" y="${y}" width="3" height="16" fill="#a40e26"><title>median ${r.unit(med)}</title></rect>
<text x="${W - STRIP_RIGHT + 6}" y="${y + 14}">median ${r.unit(med)}</text>`
}`
})}
<text x="${LABEL}" y="${h - 4}">0</text><text x="${W - STRIP_RIGHT}" y="${h - 4}" text-anchor="end">${rows[0]?.unit(max) ?? ''}</text>
</svg><figcaption>${title}</figcaption></figure>`
}

export function lineChart(
  title: string,
  description: string,
  points: { t: number; v: number }[],
  label: (t: number) => string,
): Html {
  const h = 160
  const maxV = Math.max(1, ...points.map((p) => p.v))
  const t0 = points[0]?.t ?? 0
  const t1 = points.at(-1)?.t ?? 1
  const sx = (t: number) => 40 + ((t - t0) / Math.max(1, t1 - t0)) * (W - 60)
  const sy = (v: number) => h - 24 - (v / maxV) * (h - 40)
  return html`<figure><svg role="img" aria-labelledby="${id(title)}-t ${id(title)}-d" width="${W}" height="${h}" viewBox="0 0 ${W} ${h}">
<title id="${id(title)}-t">${title}</title><desc id="${id(title)}-d">${description}</desc>
<line x1="40" x2="${W - 20}" y1="${h - 24}" y2="${h - 24}" stroke="#57606a"/><line x1="40" x2="40" y1="10" y2="${h - 24}" stroke="#57606a"/>
<text x="34" y="${sy(maxV) + 4}" text-anchor="end">${maxV}</text><text x="34" y="${h - 20}" text-anchor="end">0</text>
<polyline fill="none" stroke="#0b5cad" stroke-width="2" points="${points.map((p) => `${sx(p.t).toFixed(1)},${sy(p.v).toFixed(1)}`).join(' ')}"/>
<text x="40" y="${h - 6}">${points.length ? label(t0) : ''}</text><text x="${W - 20}" y="${h - 6}" text-anchor="end">${points.length ? label(t1) : ''}</text>
</svg><figcaption>${title}</figcaption></figure>`
}

const id = (s: string) =>
  'c-' +
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, 40)
