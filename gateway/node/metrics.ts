// Prometheus metrics on Node. Error codes are the AIRLOCK_* codes (undici's lesson: one stable code, reused as a label).
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client'
import type { Metrics } from '../core/ports.ts'

export interface PromMetrics extends Metrics {
  registry: Registry
  /** One shadow evaluation: counted when the shadow policy's action differs from the enforced one. */
  shadow(enforcedAction: string, shadowAction: string): void
}

export function createMetrics(): PromMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'airlock_' })
  const decisions = new Counter({
    name: 'airlock_decisions_total',
    help: 'Policy decisions by action and rule',
    labelNames: ['action', 'rule'],
    registers: [registry],
  })
  const evalSeconds = new Histogram({
    name: 'airlock_policy_eval_seconds',
    help: 'Policy evaluation time',
    buckets: [5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 5e-3, 1e-2],
    registers: [registry],
  })
  const upstreamSeconds = new Histogram({
    name: 'airlock_upstream_seconds',
    help: 'Upstream time to response headers, by route and status class',
    labelNames: ['route', 'status_class'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  })
  const errors = new Counter({
    name: 'airlock_errors_total',
    help: 'Refusals and failures by AIRLOCK_* code',
    labelNames: ['code'],
    registers: [registry],
  })
  const shadowDisagreements = new Counter({
    name: 'airlock_shadow_disagreements_total',
    help: 'Requests where the shadow policy decided another action than the enforced policy (shadow_action "error": it failed)',
    labelNames: ['enforced_action', 'shadow_action'],
    registers: [registry],
  })
  return {
    registry,
    shadow(enforced, shadow) {
      if (enforced !== shadow) shadowDisagreements.inc({ enforced_action: enforced, shadow_action: shadow })
    },
    decision(action, rule, s) {
      decisions.inc({ action, rule })
      evalSeconds.observe(s)
    },
    upstream(route, status, s) {
      upstreamSeconds.observe({ route, status_class: `${Math.floor(status / 100)}xx` }, s)
    },
    error(code) {
      errors.inc({ code })
    },
  }
}
