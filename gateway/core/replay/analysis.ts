// Replay's arithmetic: given each recorded decision, what the candidate policy decides for the same input, and what
// people did with the holds, it answers "what changes if I merge this?": decisions that change (grouped, with
// examples), the approval load per group before and after, the share decided by policy alone, dead and
// always-overridden rules, and — first, as red flags — requests that were refused and would now go through.
//
// Streaming: `add` is called once per line and keeps only counters, a few examples per group, and one timestamp per
// hold (holds are rare, that is the point of them), so memory does not grow with the size of the history.
import type { Decision } from '../policy/decision.ts'

export interface RecordedLine {
  decision_id: string
  timestamp: string
  agent?: string
  method: string
  host?: string
  url_path: string
  action?: string
  rule?: string
  hold_id?: string
  input: { agent?: { id?: string }; request?: { method?: string; url?: string; body_sha256?: string } }
  result?: { action?: string; rule?: string; approvers?: string[]; matched?: string[]; summary?: string }
}

/** What people did with a hold, read from the holds database. */
export interface HumanOutcome {
  hold_id: string
  decision_id: string
  /** approved (also executing/executed/failed/outcome_unknown), denied, expired or pending. */
  outcome: 'approved' | 'denied' | 'expired' | 'pending'
  groups: string[]
  created_at: number
  decided_at: number | null
}

/** The candidate's answer: a decision, or the error code that would have refused the request. */
export type CandidateOutcome = { ok: true; decision: Decision } | { ok: false; code: string; message: string }

export interface ReplayOptions {
  groups: Record<string, { max_pending: number }>
  /** A retry of an identical request within this window joins the open hold (config holds.dedupe_window_s). */
  dedupeWindowMs: number
  /** How long a hold nobody decides stays pending (config holds.timeout_s). */
  holdTimeoutMs: number
  /** Rule ids the candidate's source names literally (dead-rule detection); empty for a build folder. */
  knownRules?: string[]
  examplesPerGroup?: number
}

export interface Example {
  decision_id: string
  timestamp: string
  agent: string
  request: string
  before_rule: string
  after_rule: string
  summary: string
}

export interface ChangeGroup {
  before: string
  after: string
  rule: string
  count: number
  examples: Example[]
}

export interface GroupLoad {
  group: string
  max_pending: number
  holds_before: number
  holds_after: number
  holds_per_day_before: number
  holds_per_day_after: number
  /** Holds in this group people approved or denied per day in the history. */
  human_decisions_per_day: number
  /** Most holds waiting at once, assuming each waits as long as this group's median time to decide. */
  peak_pending_before: number
  peak_pending_after: number
}

export interface ReplayReport {
  lines: { read: number; usable: number; other_log_lines: number; bad: Record<string, number> }
  span: { from: string | null; to: string | null; days: number }
  candidate: { revision: string; errors: number }
  red_flags: {
    /** The recorded policy denied it (or failed, which refused it); the candidate allows or reviews it. */
    denied_now_allowed: { count: number; examples: Example[] }
    /** A person denied the hold; the candidate allows or reviews it without asking. */
    human_denied_now_allowed: { count: number; examples: Example[] }
  }
  changed: { count: number; groups: ChangeGroup[] }
  /** Holds people decided, by what they did and what the candidate would do. */
  human_holds: Record<'approved' | 'denied', Record<string, number>>
  load: GroupLoad[]
  policy_alone: { before: number; after: number }
  holds: { before: number; after: number }
  rules: {
    dead: string[]
    no_longer_matched: string[]
    always_overridden: { rule: string; matches: number; overridden_by: string[] }[]
  }
}

const ALLOWING = new Set(['allow', 'review'])
const round = (n: number, digits = 4) => Math.round(n * 10 ** digits) / 10 ** digits

export class ReplayAnalysis {
  readonly #o: Required<ReplayOptions>
  readonly #outcomes: Map<string, HumanOutcome>
  readonly #bad: Record<string, number> = {}
  #read = 0
  #usable = 0
  #other = 0
  #errors = 0
  #first = Infinity
  #last = -Infinity
  #holdDecisionsBefore = 0
  #holdDecisionsAfter = 0
  readonly #changes = new Map<string, ChangeGroup>()
  #changed = 0
  readonly #denied = { count: 0, examples: [] as Example[] }
  readonly #humanDenied = { count: 0, examples: [] as Example[] }
  readonly #human: ReplayReport['human_holds'] = { approved: {}, denied: {} }
  /** Per group, the time each hold started (before: recorded holds; after: predicted, deduplicated). */
  readonly #holdsBefore = new Map<string, number[]>()
  readonly #holdsAfter = new Map<string, number[]>()
  readonly #seenBefore = new Set<string>()
  readonly #openAfter = new Map<string, number>()
  #distinctAfter = 0
  readonly #matchedBefore = new Set<string>()
  readonly #matches = new Map<string, { matches: number; wins: number; by: Map<string, number> }>()

  constructor(options: ReplayOptions, outcomes: Iterable<HumanOutcome>) {
    this.#o = { knownRules: [], examplesPerGroup: 3, ...options }
    this.#outcomes = new Map([...outcomes].map((o) => [o.decision_id, o]))
  }

  /** A line that is not a usable decision: counted by kind, reported, never fatal. */
  bad(kind: string): void {
    this.#read++
    this.#bad[kind] = (this.#bad[kind] ?? 0) + 1
  }

  /** A log line that is not a decision (hold events, startup): expected in a log, not an error. */
  other(): void {
    this.#read++
    this.#other++
  }

  add(line: RecordedLine, after: CandidateOutcome): void {
    this.#read++
    this.#usable++
    const at = Date.parse(line.timestamp)
    if (at < this.#first) this.#first = at
    if (at > this.#last) this.#last = at
    const before = line.action ?? line.result?.action ?? 'error'
    const beforeRule = line.rule ?? line.result?.rule ?? 'error'
    for (const id of line.result?.matched ?? []) this.#matchedBefore.add(id)
    const afterAction = after.ok ? after.decision.action : 'deny'
    const afterRule = after.ok ? after.decision.rule : `error:${after.code}`
    if (!after.ok) this.#errors++
    const example = (): Example => ({
      decision_id: line.decision_id,
      timestamp: line.timestamp,
      agent: line.agent ?? line.input.agent?.id ?? '',
      request: `${line.method} ${line.host ?? ''}${line.url_path}`,
      before_rule: beforeRule,
      after_rule: afterRule,
      summary: (after.ok ? after.decision.summary : line.result?.summary) ?? '',
    })

    // Before: a hold decision is one hold per hold id (retries joined it); one without an id created no hold (the
    // group's queue was full, or holds were off), so it weighed on nobody.
    if (before === 'hold') {
      this.#holdDecisionsBefore++
      const key = line.hold_id
      if (key && !this.#seenBefore.has(key)) {
        this.#seenBefore.add(key)
        for (const g of line.result?.approvers ?? []) push(this.#holdsBefore, g, at)
      }
    }
    // After: an identical request while a predicted hold is open (or within the dedupe window) joins it.
    if (afterAction === 'hold' && after.ok) {
      this.#holdDecisionsAfter++
      const r = line.input.request ?? {}
      const key = [line.input.agent?.id, r.method, r.url, r.body_sha256].join('\n')
      const open = this.#openAfter.get(key)
      if (open === undefined || at - open > Math.max(this.#o.dedupeWindowMs, this.#o.holdTimeoutMs)) {
        this.#openAfter.set(key, at)
        this.#distinctAfter++
        for (const g of after.decision.approvers) push(this.#holdsAfter, g, at)
      }
    }

    if (before !== afterAction) {
      this.#changed++
      const k = `${before}\n${afterAction}\n${afterRule}`
      let g = this.#changes.get(k)
      if (!g) this.#changes.set(k, (g = { before, after: afterAction, rule: afterRule, count: 0, examples: [] }))
      g.count++
      if (g.examples.length < this.#o.examplesPerGroup) g.examples.push(example())
      // A policy error refused the request as surely as a deny (fail closed).
      if ((before === 'deny' || before === 'error') && ALLOWING.has(afterAction))
        flag(this.#denied, example, this.#o.examplesPerGroup)
    }

    const human = this.#outcomes.get(line.decision_id)
    if (human && (human.outcome === 'approved' || human.outcome === 'denied')) {
      const row = this.#human[human.outcome]
      row[afterAction] = (row[afterAction] ?? 0) + 1
      if (human.outcome === 'denied' && ALLOWING.has(afterAction))
        flag(this.#humanDenied, example, this.#o.examplesPerGroup)
    }

    if (after.ok) {
      const winner = after.decision.rule
      for (const id of after.decision.matched ?? [winner]) {
        let m = this.#matches.get(id)
        if (!m) this.#matches.set(id, (m = { matches: 0, wins: 0, by: new Map() }))
        m.matches++
        if (id === winner) m.wins++
        else m.by.set(winner, (m.by.get(winner) ?? 0) + 1)
      }
    }
  }

  report(revision: string): ReplayReport {
    const span = this.#usable ? this.#last - this.#first : 0
    // A history shorter than an hour is still "per day" over at least an hour, so a few minutes do not extrapolate wildly.
    const days = Math.max(span, 3_600_000) / 86_400_000
    const decidedTimes = new Map<string, number[]>()
    const humanPerGroup = new Map<string, number>()
    for (const o of this.#outcomes.values()) {
      if (o.decided_at === null || (o.outcome !== 'approved' && o.outcome !== 'denied')) continue
      for (const g of o.groups) {
        push(decidedTimes, g, o.decided_at - o.created_at)
        humanPerGroup.set(g, (humanPerGroup.get(g) ?? 0) + 1)
      }
    }
    const groups = new Set([...Object.keys(this.#o.groups), ...this.#holdsBefore.keys(), ...this.#holdsAfter.keys()])
    const load: GroupLoad[] = [...groups].sort().map((group) => {
      const wait = median(decidedTimes.get(group) ?? []) ?? this.#o.holdTimeoutMs
      return {
        group,
        max_pending: this.#o.groups[group]?.max_pending ?? 0,
        holds_before: this.#holdsBefore.get(group)?.length ?? 0,
        holds_after: this.#holdsAfter.get(group)?.length ?? 0,
        holds_per_day_before: round((this.#holdsBefore.get(group)?.length ?? 0) / days, 1),
        holds_per_day_after: round((this.#holdsAfter.get(group)?.length ?? 0) / days, 1),
        human_decisions_per_day: round((humanPerGroup.get(group) ?? 0) / days, 1),
        peak_pending_before: peak(this.#holdsBefore.get(group) ?? [], wait),
        peak_pending_after: peak(this.#holdsAfter.get(group) ?? [], wait),
      }
    })
    const matched = new Set(this.#matches.keys())
    const share = (holds: number) => (this.#usable ? round(1 - holds / this.#usable) : 0)
    return {
      lines: { read: this.#read, usable: this.#usable, other_log_lines: this.#other, bad: { ...this.#bad } },
      span: {
        from: this.#usable ? new Date(this.#first).toISOString() : null,
        to: this.#usable ? new Date(this.#last).toISOString() : null,
        days: round(span / 86_400_000, 3),
      },
      candidate: { revision, errors: this.#errors },
      red_flags: { denied_now_allowed: this.#denied, human_denied_now_allowed: this.#humanDenied },
      changed: { count: this.#changed, groups: [...this.#changes.values()].sort((a, b) => b.count - a.count) },
      human_holds: this.#human,
      load,
      policy_alone: { before: share(this.#holdDecisionsBefore), after: share(this.#holdDecisionsAfter) },
      holds: { before: this.#seenBefore.size, after: this.#distinctAfter },
      rules: {
        dead: this.#o.knownRules.filter((r) => !matched.has(r)).sort(),
        no_longer_matched: [...this.#matchedBefore].filter((r) => !matched.has(r) && !r.startsWith('airlock.')).sort(),
        always_overridden: [...this.#matches]
          .filter(([, m]) => m.wins === 0)
          .map(([rule, m]) => ({
            rule,
            matches: m.matches,
            overridden_by: [...m.by].sort((a, b) => b[1] - a[1]).map(([r]) => r),
          }))
          .sort((a, b) => b.matches - a.matches),
      },
    }
  }
}

function push(m: Map<string, number[]>, k: string, v: number): void {
  const a = m.get(k)
  if (a) a.push(v)
  else m.set(k, [v])
}

function flag(f: { count: number; examples: Example[] }, example: () => Example, max: number): void {
  f.count++
  if (f.examples.length < max) f.examples.push(example())
}

function median(values: number[]): number | null {
  if (!values.length) return null
  const s = [...values].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/** Most intervals [start, start + wait) open at once. */
function peak(starts: number[], wait: number): number {
  const s = [...starts].sort((a, b) => a - b)
  let best = 0
  let lo = 0
  for (let hi = 0; hi < s.length; hi++) {
    while (s[lo]! + wait <= s[hi]!) lo++
    best = Math.max(best, hi - lo + 1)
  }
  return best
}
