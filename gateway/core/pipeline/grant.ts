// Taking a grant's use (docs/approvals.md "Grants"). The folding library turned a hold into an allow naming a grant
// (rule "grant:<id>", decision.grant); before the request is forwarded the gateway takes one use of that grant in the
// hold store, atomically. If the use is refused — the grant was revoked, expired or used up since the policy saw it —
// the request is decided again without grants, so it is held as it would have been (fail closed).
import { AirlockError } from '../errors.ts'
import type { Decision } from '../policy/decision.ts'
import type { HoldGate } from '../ports.ts'
import type { DecisionLogLine } from './decision-log.ts'

/** The grant an allow was given by, or undefined. */
export function grantIdOf(d: Decision): string | undefined {
  if (d.action !== 'allow' || d.grant === undefined) return undefined
  if (d.rule !== `grant:${d.grant}`) {
    throw new AirlockError(
      'AIRLOCK_POLICY_MALFORMED',
      `the policy allowed by grant ${d.grant} under rule "${d.rule}" (expected "grant:${d.grant}"); the request was refused`,
    )
  }
  return d.grant
}

/** Takes one use; the log field either way, and whether it was taken. */
export async function takeGrantUse(
  holds: HoldGate | undefined,
  id: string,
  use: { agent_id: string; route: string; decision_id: string },
): Promise<{ taken: boolean; log: NonNullable<DecisionLogLine['grant']> }> {
  const used = holds ? await holds.useGrant(id, use) : undefined
  return used
    ? { taken: true, log: { id, use: used.uses, max_uses: used.max_uses } }
    : { taken: false, log: { id, refused: true } }
}
