// The shadow policy: a second compiled policy evaluated on the same input after the enforced decision, so a change
// can run against live traffic before it decides anything (Smokescreen's report mode, per request). Its outcome is
// only recorded — in the decision line and, on Node, a disagreement counter — and it can never fail a request: it is
// sampled, decided through the gateway's own decide() (so it cannot drift from the enforced path), and any error it
// raises becomes a recorded "error" outcome.
import { decide } from '../pipeline/decide.ts'
import type { ShadowOutcome } from '../pipeline/decision-log.ts'
import type { PolicyInput } from '../pipeline/request.ts'
import type { PolicySource } from '../ports.ts'
import type { DecisionDefaults } from './decision.ts'

export type { ShadowOutcome }

export interface ShadowOptions {
  /** The shadow policy; undefined or empty (not loaded yet) → nothing is evaluated. */
  policy: PolicySource | undefined
  /** Share of requests also evaluated by the shadow policy (config policy.shadow.sample_rate). */
  sampleRate: number
  defaults: DecisionDefaults
  random?: () => number
  /** Called for every shadow evaluation (Node counts disagreements in Prometheus). */
  observe?: (enforcedAction: string, shadowAction: string) => void
}

export interface ShadowRunner {
  /** Evaluates the shadow policy on the input if this request is sampled; never throws. */
  run(input: PolicyInput, enforcedAction: string): ShadowOutcome | undefined
}

export function createShadow(opts: ShadowOptions): ShadowRunner {
  const random = opts.random ?? Math.random
  return {
    run(input, enforcedAction) {
      try {
        const policy = opts.policy?.current()
        if (!policy) return undefined
        if (opts.sampleRate < 1 && random() >= opts.sampleRate) return undefined
        const t0 = performance.now()
        const decided = decide(policy, { input }, { defaults: opts.defaults })
        const eval_us = Math.round((performance.now() - t0) * 1000)
        const outcome: ShadowOutcome = decided.ok
          ? { action: decided.decision.action, rule: decided.decision.rule, revision: policy.revision, eval_us }
          : {
              action: 'error',
              rule: decided.error.code,
              revision: policy.revision,
              eval_us,
              error: shadowMessage(decided.error.message),
            }
        opts.observe?.(enforcedAction, outcome.action)
        return outcome
      } catch {
        return undefined // a broken observer or random source must not reach the request either
      }
    },
  }
}

/** The stage's messages speak for the enforced path ("…; the request was refused"); a shadow refuses nothing. */
const shadowMessage = (m: string) => `shadow ${m.replace(/; (the request|it) was refused$/, '')}`
