// Turns a raw result set into a Decision. "Undefined" (empty result set), more than one result, or a result that is
// not a well-formed decision are errors — and errors deny (fail closed), as in opa-envoy-plugin.
import { z } from 'zod'
import { AirlockError } from '../errors.ts'

export const actions = ['allow', 'review', 'hold', 'deny'] as const
export type Action = (typeof actions)[number]

const decisionSchema = z.object({
  action: z.enum(actions),
  reason: z.string().min(1),
  rule: z.string().min(1).default('unnamed'),
  risk: z.enum(['low', 'medium', 'high', 'critical']).optional(),
  summary: z.string().optional(),
  approvers: z.array(z.string()).default([]),
  approvals_required: z.number().int().min(1).max(10).default(1),
  require_comment: z.boolean().default(false),
  timeout_s: z.number().int().positive().optional(),
  sample_rate: z.number().min(0).max(1).optional(),
  matched: z.array(z.string()).optional(),
  /** A hold an approver may add a grant to (the folding library: every winning element grantable, none critical). */
  grantable: z.boolean().optional(),
  /** The grant that allowed this request (rule "grant:<id>"); the gateway takes one use before forwarding. */
  grant: z.string().min(1).optional(),
})

export interface DecisionDefaults {
  timeout_s: number
  sample_rate: number
}

export type Decision = Omit<z.output<typeof decisionSchema>, 'risk' | 'summary' | 'timeout_s' | 'sample_rate'> & {
  risk: 'low' | 'medium' | 'high' | 'critical'
  summary: string
  timeout_s: number
  sample_rate: number
}

const defaultRisk = { allow: 'low', review: 'medium', hold: 'high', deny: 'high' } as const

export function toDecision(resultSet: unknown, defaults: DecisionDefaults, fallbackSummary: string): Decision {
  if (!Array.isArray(resultSet) || resultSet.length === 0) {
    throw new AirlockError(
      'AIRLOCK_POLICY_UNDEFINED',
      'the policy returned no decision for this request; it was refused',
    )
  }
  if (resultSet.length > 1) {
    throw new AirlockError('AIRLOCK_POLICY_MALFORMED', 'the policy returned more than one decision; it was refused')
  }
  const parsed = decisionSchema.safeParse((resultSet[0] as { result?: unknown })?.result)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new AirlockError(
      'AIRLOCK_POLICY_MALFORMED',
      `the policy returned a malformed decision (${issue ? `${issue.path.join('.') || 'decision'}: ${issue.message}` : 'invalid'}); it was refused`,
    )
  }
  const d = parsed.data
  return {
    ...d,
    risk: d.risk ?? defaultRisk[d.action],
    summary: d.summary ?? fallbackSummary,
    timeout_s: d.timeout_s ?? defaults.timeout_s,
    sample_rate: d.sample_rate ?? defaults.sample_rate,
  }
}
