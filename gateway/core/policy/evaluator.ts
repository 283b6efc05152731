// Loads a policy compiled by `opa build -t wasm` and evaluates the `airlock/decision` entrypoint.
// Runtime-agnostic: Node passes the wasm bytes, Workers pass the WebAssembly.Module wrangler imported.
import { loadPolicy } from '@open-policy-agent/opa-wasm'
import { AirlockError, describeThrown } from '../errors.ts'
import type { PolicyEvaluator } from '../ports.ts'
import { createHostBuiltins } from './builtins.ts'
import { inputJson } from './input-json.ts'

export const ENTRYPOINT = 'airlock/decision'

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
  const call = directCall(policy as unknown as LoadedPolicy, entrypoint)
  return {
    revision: artifacts.revision,
    evaluate(input: { gateway?: { now_ns?: number } }) {
      pinnedNs = input.gateway?.now_ns ?? Date.now() * 1e6
      return call ? call(inputJson(input)) : policy.evaluate(input, entrypoint)
    },
  }
}

/** The parts of opa-wasm's LoadedPolicy its own evaluate() uses for the single-call path (ABI ≥ 1.2). */
interface LoadedPolicy {
  minorVersion: number
  mem: WebAssembly.Memory
  wasmInstance: WebAssembly.Instance
  dataAddr: number
  dataHeapPtr: number
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/**
 * opa-wasm's evaluate() without its copies: the input JSON is encoded straight into wasm memory (the SDK stringifies,
 * encodes into a new buffer, then copies that in) and the result is found with indexOf (the SDK scans for its end in
 * a JS loop). Same ABI call (opa_eval, JSON in and out), same per-evaluation heap reset. Undefined when the wasm is
 * older than ABI 1.2: the SDK's path is used then.
 */
function directCall(p: LoadedPolicy, entrypoint: number): ((json: string) => unknown) | undefined {
  const exports = p.wasmInstance?.exports as { opa_eval?: (...a: number[]) => number } | undefined
  if (!(p.minorVersion >= 2) || typeof exports?.opa_eval !== 'function' || !(p.mem instanceof WebAssembly.Memory))
    return undefined
  const opaEval = exports.opa_eval
  return (json) => {
    const addr = p.dataHeapPtr
    let written = encoder.encodeInto(json, new Uint8Array(p.mem.buffer, addr))
    if (written.read < json.length) {
      const need = addr + encoder.encode(json).byteLength - p.mem.buffer.byteLength
      p.mem.grow(Math.ceil(need / 65536))
      written = encoder.encodeInto(json, new Uint8Array(p.mem.buffer, addr))
    }
    const len = written.written
    const result = opaEval(0, entrypoint, p.dataAddr, addr, len, addr + len, 0)
    const bytes = new Uint8Array(p.mem.buffer)
    return JSON.parse(decoder.decode(bytes.subarray(result, bytes.indexOf(0, result))))
  }
}
