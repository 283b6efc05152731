// Loads a policy compiled by `opa build -t wasm` and evaluates the `airlock/decision` entrypoint.
// Runtime-agnostic: Node passes the wasm bytes, Workers pass the WebAssembly.Module wrangler imported.
import { loadPolicy } from '@open-policy-agent/opa-wasm'
import { AirlockError, describeThrown } from '../errors.ts'
import { createHostBuiltins } from './builtins.ts'

export const ENTRYPOINT = 'airlock/decision'

/** What the pipeline needs from a policy; tests may inject their own. */
export interface PolicyEvaluator {
  /** Identifies the compiled policy and data (sha256), logged with every decision. */
  readonly revision: string
  /** Evaluates the decision entrypoint and returns its raw result set. Synchronous, never re-entered. */
  evaluate(input: unknown): unknown
}

export interface PolicyArtifacts {
  wasm: BufferSource | WebAssembly.Module
  data: unknown
  revision: string
}

// Memory grows with the input (bodies up to the configured limit are parsed into it); the cap keeps a hostile body
// from taking the process down with it: past it evaluation throws and the request fails closed.
const MEMORY = { initial: 16, maximum: 4096 } // 1 MiB .. 256 MiB in 64 KiB pages

export async function loadWasmPolicy(artifacts: PolicyArtifacts): Promise<PolicyEvaluator> {
  // time.now_ns is pinned once per evaluation so every call in one decision sees the same instant (OPA semantics).
  let pinnedNs = 0
  let policy: Awaited<ReturnType<typeof loadPolicy>>
  try {
    policy = await loadPolicy(artifacts.wasm, MEMORY, createHostBuiltins({ nowNs: () => pinnedNs }))
  } catch (err) {
    throw new AirlockError('AIRLOCK_POLICY_ERROR', `policy wasm failed to load: ${describeThrown(err)}`)
  }
  if (!Object.hasOwn(policy.entrypoints, ENTRYPOINT)) {
    throw new AirlockError(
      'AIRLOCK_POLICY_ERROR',
      `policy has no "${ENTRYPOINT}" entrypoint (has: ${Object.keys(policy.entrypoints).join(', ') || 'none'}); build it with -e ${ENTRYPOINT}`,
    )
  }
  try {
    if (artifacts.data !== undefined) policy.setData(artifacts.data as object)
  } catch (err) {
    throw new AirlockError('AIRLOCK_POLICY_ERROR', `policy data failed to load: ${describeThrown(err)}`)
  }
  const entrypoint = policy.entrypoints[ENTRYPOINT] as number
  return {
    revision: artifacts.revision,
    evaluate(input: { gateway?: { now_ns?: number } }) {
      pinnedNs = input.gateway?.now_ns ?? Date.now() * 1e6
      return policy.evaluate(input, entrypoint)
    },
  }
}
