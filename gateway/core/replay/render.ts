// Replay's outputs: a terminal report and a Markdown one (for a pull-request comment) with the same content and order
// — red flags first, because a request that was refused and would now go through is the one thing nobody should
// merge by accident — and the `--fail-on` thresholds that make replay a CI gate.
import { AirlockError } from '../errors.ts'
import type { Example, ReplayReport } from './analysis.ts'

const pct = (x: number) => `${(x * 100).toFixed(2)} %`
const n = (x: number) => x.toLocaleString('en-US')

function exampleText(e: Example): string {
  return `${e.timestamp} ${e.agent} ${e.request} (${e.before_rule} → ${e.after_rule})${e.summary ? ` "${e.summary}"` : ''} [${e.decision_id}]`
}

interface Section {
  title: string
  lines: string[]
  table?: { head: string[]; rows: string[][] }
}

function sections(r: ReplayReport): Section[] {
  const out: Section[] = []
  const flags = r.red_flags
  const red: string[] = []
  if (flags.denied_now_allowed.count) {
    red.push(`would now allow ${n(flags.denied_now_allowed.count)} requests the recorded policy denied`)
    for (const e of flags.denied_now_allowed.examples) red.push(`  e.g. ${exampleText(e)}`)
  }
  if (flags.human_denied_now_allowed.count) {
    red.push(`would now allow ${n(flags.human_denied_now_allowed.count)} requests that approvers denied`)
    for (const e of flags.human_denied_now_allowed.examples) red.push(`  e.g. ${exampleText(e)}`)
  }
  out.push({ title: 'Red flags', lines: red.length ? red : ['none: nothing that was refused would now go through'] })

  out.push({
    title: 'Summary',
    lines: [
      `${n(r.lines.usable)} recorded decisions from ${r.span.from ?? '-'} to ${r.span.to ?? '-'} (${r.span.days} days), candidate ${r.candidate.revision.slice(0, 12)}`,
      `decided by policy alone: ${pct(r.policy_alone.before)} → ${pct(r.policy_alone.after)}`,
      `holds: ${n(r.holds.before)} → ${n(r.holds.after)}`,
      `decisions that change: ${n(r.changed.count)} (${r.lines.usable ? pct(r.changed.count / r.lines.usable) : '0 %'})`,
      ...(r.candidate.errors
        ? [`the candidate failed to decide ${n(r.candidate.errors)} requests (they would be refused)`]
        : []),
    ],
  })

  out.push({
    title: 'Decisions that change',
    lines: r.changed.groups.length
      ? r.changed.groups.flatMap((g) => [
          `${g.before} → ${g.after}: ${n(g.count)} requests, rule ${g.rule}`,
          ...g.examples.map((e) => `  e.g. ${exampleText(e)}`),
        ])
      : ['none'],
  })

  out.push({
    title: 'Approval load (holds per day)',
    lines: [],
    table: {
      head: [
        'group',
        'before',
        'after',
        'decided by people/day',
        'peak pending before',
        'peak pending after',
        'max_pending',
      ],
      rows: r.load.map((l) => [
        l.group,
        String(l.holds_per_day_before),
        String(l.holds_per_day_after),
        String(l.human_decisions_per_day),
        String(l.peak_pending_before),
        `${l.peak_pending_after}${l.max_pending && l.peak_pending_after >= l.max_pending ? ' (over the cap)' : ''}`,
        String(l.max_pending || '-'),
      ]),
    },
  })

  const human = (k: 'approved' | 'denied') =>
    Object.entries(r.human_holds[k])
      .map(([a, c]) => `${a} ${n(c)}`)
      .join(', ') || 'none'
  out.push({
    title: 'Holds people decided, as the candidate would decide them',
    lines: [`approved by people: ${human('approved')}`, `denied by people: ${human('denied')}`],
  })

  out.push({
    title: 'Rules',
    lines: [
      `never matched (dead): ${r.rules.dead.join(', ') || 'none'}`,
      `matched before, never by the candidate: ${r.rules.no_longer_matched.join(', ') || 'none'}`,
      ...(r.rules.always_overridden.length
        ? r.rules.always_overridden.map(
            (o) => `always overridden: ${o.rule} (${n(o.matches)} matches, won by ${o.overridden_by.join(', ')})`,
          )
        : ['always overridden: none']),
    ],
  })

  const bad = Object.entries(r.lines.bad)
  out.push({
    title: 'Input',
    lines: [
      `${n(r.lines.read)} lines read: ${n(r.lines.usable)} usable decisions, ${n(r.lines.other_log_lines)} other log lines`,
      bad.length ? `skipped: ${bad.map(([k, c]) => `${n(c)} ${k}`).join(', ')}` : 'skipped: none',
    ],
  })
  return out
}

export function renderText(r: ReplayReport): string {
  const parts: string[] = []
  for (const s of sections(r)) {
    parts.push(`== ${s.title}`)
    parts.push(...s.lines)
    if (s.table) {
      const all = [s.table.head, ...s.table.rows]
      const widths = s.table.head.map((_, i) => Math.max(...all.map((row) => row[i]!.length)))
      for (const row of all)
        parts.push(
          row
            .map((c, i) => c.padEnd(widths[i]!))
            .join('  ')
            .trimEnd(),
        )
    }
    parts.push('')
  }
  return parts.join('\n')
}

export function renderMarkdown(r: ReplayReport, failures: string[] = []): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|')
  const parts = ['## Airlock policy replay', '']
  if (failures.length) parts.push(`**Fails the gate:** ${failures.map(esc).join('; ')}`, '')
  for (const s of sections(r)) {
    parts.push(`### ${s.title}`, '')
    for (const l of s.lines) parts.push(l.startsWith('  e.g. ') ? `  - ${esc(l.slice(7))}` : `- ${esc(l)}`)
    if (s.table) {
      parts.push(`| ${s.table.head.join(' | ')} |`, `|${s.table.head.map(() => '---').join('|')}|`)
      for (const row of s.table.rows) parts.push(`| ${row.map(esc).join(' | ')} |`)
    }
    parts.push('')
  }
  return parts.join('\n')
}

/**
 * `--fail-on` thresholds, comma-separated:
 *   denied-now-allowed             anything the recorded policy or a person denied would now be allowed or reviewed
 *   holds-per-day>N                predicted holds per day, all groups, above N
 *   holds-per-day:GROUP>N          predicted holds per day for one approver group above N
 *   over-capacity                  a group's predicted peak of pending holds reaches its max_pending
 *   policy-alone<X                 share decided by policy alone below X (0..1)
 *   changed>N                      more than N decisions change
 * Returns the violated ones as sentences; throws on a threshold it does not understand.
 */
export function checkFailOn(r: ReplayReport, spec: string): string[] {
  const failures: string[] = []
  const perDay = (group?: string) =>
    r.load.filter((l) => !group || l.group === group).reduce((s, l) => s + l.holds_per_day_after, 0)
  for (const raw of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    let m: RegExpMatchArray | null
    if (raw === 'denied-now-allowed') {
      const c = r.red_flags.denied_now_allowed.count + r.red_flags.human_denied_now_allowed.count
      if (c > 0) failures.push(`${c} previously denied requests would now be allowed`)
    } else if ((m = raw.match(/^holds-per-day(?::([\w.-]+))?>(\d+(?:\.\d+)?)$/))) {
      const v = m[1] ? perDay(m[1]) : Math.round(r.load.reduce((s, l) => s + l.holds_per_day_after, 0) * 10) / 10
      if (m[1] && !r.load.some((l) => l.group === m![1]))
        throw new AirlockError(
          'AIRLOCK_USAGE',
          `--fail-on ${raw}: no approver group "${m[1]}" in the config or the history`,
        )
      if (v > Number(m[2])) failures.push(`${v} holds per day${m[1] ? ` for ${m[1]}` : ''} (threshold ${m[2]})`)
    } else if (raw === 'over-capacity') {
      for (const l of r.load)
        if (l.max_pending && l.peak_pending_after >= l.max_pending)
          failures.push(`${l.group} would reach ${l.peak_pending_after} pending holds (max_pending ${l.max_pending})`)
    } else if ((m = raw.match(/^policy-alone<(0(?:\.\d+)?|1(?:\.0+)?)$/))) {
      if (r.policy_alone.after < Number(m[1]))
        failures.push(`decided by policy alone ${pct(r.policy_alone.after)} (threshold ${pct(Number(m[1]))})`)
    } else if ((m = raw.match(/^changed>(\d+)$/))) {
      if (r.changed.count > Number(m[1])) failures.push(`${r.changed.count} decisions change (threshold ${m[1]})`)
    } else {
      throw new AirlockError(
        'AIRLOCK_USAGE',
        `--fail-on: unknown threshold "${raw}" (known: denied-now-allowed, holds-per-day>N, holds-per-day:GROUP>N, over-capacity, policy-alone<X, changed>N)`,
      )
    }
  }
  return failures
}
