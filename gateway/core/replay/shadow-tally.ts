// The shadow section of `airlock report`: from decision lines carrying `shadow` (policy.shadow), how often the shadow
// policy disagreed with the enforced one, in which direction, on which rules, and what it cost. Counters only, so it
// streams over any amount of log.

export interface ShadowPair {
  enforced_action: string
  shadow_action: string
  count: number
}

export interface ShadowRuleFigures {
  /** The enforced decision's rule. */
  rule: string
  disagreements: number
  /** What the shadow policy decided instead, most common first. */
  shadow: string[]
}

export interface ShadowSection {
  decisions: number
  /** Decisions the shadow policy also evaluated. */
  evaluated: number
  disagreements: number
  disagreement_share: number | null
  errors: number
  revisions: string[]
  mean_eval_us: number | null
  pairs: ShadowPair[]
  top_rules: ShadowRuleFigures[]
}

interface Line {
  action?: string
  rule?: string
  shadow?: { action?: string; rule?: string; revision?: string; eval_us?: number }
}

export class ShadowTally {
  #decisions = 0
  #evaluated = 0
  #disagreements = 0
  #errors = 0
  #evalUs = 0
  readonly #revisions = new Set<string>()
  readonly #pairs = new Map<string, number>()
  readonly #rules = new Map<string, Map<string, number>>()

  add(line: Line): void {
    this.#decisions++
    const s = line.shadow
    if (!s || typeof s.action !== 'string') return
    this.#evaluated++
    this.#evalUs += typeof s.eval_us === 'number' ? s.eval_us : 0
    if (typeof s.revision === 'string') this.#revisions.add(s.revision)
    if (s.action === 'error') this.#errors++
    const enforced = line.action ?? 'error'
    if (enforced === s.action) return
    this.#disagreements++
    const pair = `${enforced}\n${s.action}`
    this.#pairs.set(pair, (this.#pairs.get(pair) ?? 0) + 1)
    const rule = line.rule ?? '(none)'
    let r = this.#rules.get(rule)
    if (!r) this.#rules.set(rule, (r = new Map()))
    const what = `${s.action} (${s.rule ?? '?'})`
    r.set(what, (r.get(what) ?? 0) + 1)
  }

  section(top = 10): ShadowSection {
    const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0)
    return {
      decisions: this.#decisions,
      evaluated: this.#evaluated,
      disagreements: this.#disagreements,
      disagreement_share: this.#evaluated ? Math.round((this.#disagreements / this.#evaluated) * 10000) / 10000 : null,
      errors: this.#errors,
      revisions: [...this.#revisions],
      mean_eval_us: this.#evaluated ? Math.round(this.#evalUs / this.#evaluated) : null,
      pairs: [...this.#pairs]
        .map(([k, count]) => {
          const [enforced_action, shadow_action] = k.split('\n') as [string, string]
          return { enforced_action, shadow_action, count }
        })
        .sort((a, b) => b.count - a.count),
      top_rules: [...this.#rules]
        .map(([rule, m]) => ({
          rule,
          disagreements: sum(m),
          shadow: [...m].sort((a, b) => b[1] - a[1]).map(([w]) => w),
        }))
        .sort((a, b) => b.disagreements - a.disagreements)
        .slice(0, top),
    }
  }
}
