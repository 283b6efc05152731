// The decision stage: policy input → evaluate → validate, the one place a request is decided (opa-envoy-plugin's
// request.go → evaluation.go → response.go). The gateway, `airlock policy eval`, the decision benchmark, and anything
// that decides without forwarding (shadow policies, replay) call this function, so they cannot drift apart.
//
// It returns rather than throws, so a caller that only records decisions needs no try/catch, and so the timing and
// log fields of a failed evaluation (how long the policy ran before it threw) are not lost. Errors deny: a caller
// that enforces throws `error`.
import { AirlockError, describeThrown, toAirlockError } from '../errors.ts'
import { type Decision, type DecisionDefaults, toDecision } from '../policy/decision.ts'
import type { PolicyEvaluator } from '../ports.ts'
import type { DecisionLogLine } from './decision-log.ts'
import { buildInput, type InputParts } from './input.ts'
import type { PolicyInput } from './request.ts'

/** Where the input comes from: a request's parts (the gateway, the bench), or a ready input (policy eval, replay). */
export type DecideFrom = { parts: InputParts } | { input: PolicyInput }

/** Microseconds spent in each step, unrounded (input_us is 0 for a ready input). */
export interface DecisionTiming {
  input_us: number
  eval_us: number
  validate_us: number
}

/** The decision-log fields this stage produces. */
export type DecideLog = Pick<
  DecisionLogLine,
  'input' | 'eval_us' | 'metrics' | 'result' | 'action' | 'reason' | 'rule' | 'risk'
>

interface Outcome {
  timing: DecisionTiming
  log: DecideLog
  /** Undefined only when building the input itself failed. */
  input: PolicyInput | undefined
}

export type Decided =
  | (Outcome & { ok: true; input: PolicyInput; decision: Decision })
  | (Outcome & { ok: false; error: AirlockError })

export interface DecideOptions {
  /** Defaults for fields the policy leaves out (config holds.timeout_s, review.sample_rate). */
  defaults: DecisionDefaults
  /** Put the (already redacted) input in the log fields: config log.decision_input. */
  logInput?: boolean
  /** The summary when the policy gives none (default: method, host and path; an MCP message names its tool). */
  fallbackSummary?: string | undefined
}

export function decide(policy: PolicyEvaluator, from: DecideFrom, options: DecideOptions): Decided {
  const timing: DecisionTiming = { input_us: 0, eval_us: 0, validate_us: 0 }
  const log: DecideLog = {}
  let input: PolicyInput | undefined
  try {
    const t0 = performance.now()
    input = 'input' in from ? from.input : buildInput(from.parts)
    const t1 = performance.now()
    if ('parts' in from) timing.input_us = (t1 - t0) * 1000
    if (options.logInput) log.input = input

    let raw: unknown
    try {
      raw = policy.evaluate(input)
    } catch (err) {
      throw new AirlockError(
        'AIRLOCK_POLICY_ERROR',
        `policy evaluation failed: ${describeThrown(err)}; the request was refused`,
      )
    } finally {
      const t2 = performance.now()
      timing.eval_us = (t2 - t1) * 1000
      const ns = Math.round((t2 - t1) * 1e6)
      log.eval_us = Math.round(ns / 1000)
      log.metrics = { timer_rego_query_eval_ns: ns }
    }

    const t3 = performance.now()
    const r = input.request
    const decision = toDecision(
      raw,
      options.defaults,
      options.fallbackSummary ?? `${r?.method ?? ''} ${r?.host ?? ''}${r?.path ?? ''}`,
    )
    timing.validate_us = (performance.now() - t3) * 1000
    log.result = decision
    log.action = decision.action
    log.reason = decision.reason
    log.rule = decision.rule
    log.risk = decision.risk
    return { ok: true, input, decision, timing, log }
  } catch (err) {
    return { ok: false, error: toAirlockError(err), input, timing, log }
  }
}
