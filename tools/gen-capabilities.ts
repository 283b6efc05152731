// Generates policies/capabilities.json: OPA's capabilities (`opa capabilities --current`) cut down to the built-ins
// Airlock can execute, so `opa build --capabilities policies/capabilities.json` rejects a policy that calls anything
// else, naming the built-in and its file:line, instead of the policy failing at evaluation time.
//
// A built-in is kept when it is
//   (a) compiled into the wasm by OPA. The authoritative list is `builtinsFunctions` in OPA's
//       internal/compiler/wasm/wasm.go; rather than parse Go, this asks the compiler: it builds one probe policy that
//       calls every built-in and reads the wasm's `builtins` export, which lists exactly the calls the module leaves
//       to the host. Everything else is native (for OPA v1.22.2 this equals builtinsFunctions, plus `print`, which
//       `opa build` erases, and rego.metadata.*, which the compiler rewrites to constants);
//   (b) implemented by the JS SDK (@open-policy-agent/opa-wasm src/builtins: sprintf, regex.split, yaml.*, …);
//   (c) implemented on the host (HOST_BUILTINS in gateway/core/policy/builtins.ts);
//   or (d) part of the language itself (=, :=, `in`, template strings, print).
// Deprecated built-ins are dropped: Rego v1 rejects them anyway.
//
// Usage: node tools/gen-capabilities.ts [out]      (default policies/capabilities.json)
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { extract } from 'tar'
import { HOST_BUILTINS } from '../gateway/core/policy/builtins.ts'
import { findOpa, repoRoot } from '../gateway/node/toolchain/opa.ts'

const run = promisify(execFile)

export const CAPABILITIES_PATH = join(repoRoot, 'policies/capabilities.json')

/** Built-ins the language compiles to, not callable by name: kept whatever the probe says. */
const LANGUAGE_BUILTINS = [
  'assign',
  'eq',
  'internal.member_2',
  'internal.member_3',
  'internal.print',
  'internal.template_string',
]
/** Only meaningful to `opa test`, which does not use this file. */
const DROPPED = ['internal.test_case']

/** The wasm ABI versions @open-policy-agent/opa-wasm 1.x loads (1.2 adds the single-call opa_eval it prefers). */
const WASM_ABI_VERSIONS = [
  { version: 1, minor_version: 1 },
  { version: 1, minor_version: 2 },
]

interface Builtin {
  name: string
  decl: { args?: unknown[]; result?: unknown; variadic?: unknown; type: string }
  infix?: string
  relation?: boolean
  nondeterministic?: boolean
  deprecated?: boolean
  [key: string]: unknown
}

export interface Capabilities {
  builtins: Builtin[]
  future_keywords: string[]
  wasm_abi_versions: { version: number; minor_version: number }[]
  features: string[]
}

export interface BuiltinSources {
  /** Executed inside the wasm module (including language built-ins). */
  native: string[]
  /** Provided by the opa-wasm SDK. */
  sdk: string[]
  /** Implemented by Airlock on the host. */
  host: string[]
  /** Known to OPA but not executable by Airlock: a policy using one fails `opa build`. */
  unavailable: string[]
}

/** OPA's capabilities, trimmed to what Airlock can execute, in a stable order. */
export async function generateCapabilities(opaPath: string): Promise<Capabilities> {
  return (await analyse(opaPath)).capabilities
}

/** Which built-ins run where (each name in exactly one list; native wins over SDK wins over host). */
export async function classifyBuiltins(opaPath: string): Promise<BuiltinSources> {
  return (await analyse(opaPath)).sources
}

/** The file's text: two-space JSON and a final newline. */
export function formatCapabilities(capabilities: Capabilities): string {
  return JSON.stringify(capabilities, null, 2) + '\n'
}

async function analyse(opaPath: string): Promise<{ capabilities: Capabilities; sources: BuiltinSources }> {
  const { stdout } = await run(opaPath, ['capabilities', '--current'], { maxBuffer: 64 * 1024 * 1024 })
  const current = JSON.parse(stdout) as Capabilities
  const known = new Set(current.builtins.map((b) => b.name))
  if (!current.features.includes('rego_v1')) throw new Error(`${opaPath} does not report the rego_v1 feature`)

  const usable = current.builtins.filter((b) => !b.deprecated && !DROPPED.includes(b.name))
  const probed = usable.filter((b) => !LANGUAGE_BUILTINS.includes(b.name))
  const external = await externalBuiltins(opaPath, probed)
  const native = new Set([
    ...LANGUAGE_BUILTINS.filter((n) => known.has(n)),
    ...probed.map((b) => b.name).filter((n) => !external.has(n)),
  ])
  const sdk = new Set(sdkBuiltins().filter((n) => known.has(n) && !native.has(n)))
  const host = new Set(HOST_BUILTINS.filter((n) => known.has(n) && !native.has(n) && !sdk.has(n)))
  const unavailable = usable.map((b) => b.name).filter((n) => !native.has(n) && !sdk.has(n) && !host.has(n))
  const sorted = (s: Iterable<string>) => [...s].sort(compare)
  const keep = new Set([...native, ...sdk, ...host])
  const capabilities: Capabilities = {
    builtins: current.builtins
      .filter((b) => keep.has(b.name))
      .map(minimal)
      .sort((a, b) => compare(a.name, b.name)),
    future_keywords: sorted(current.future_keywords),
    wasm_abi_versions: WASM_ABI_VERSIONS,
    features: sorted(current.features),
  }
  return {
    capabilities,
    sources: { native: sorted(native), sdk: sorted(sdk), host: sorted(host), unavailable: sorted(unavailable) },
  }
}

/** Compiles a policy calling every given built-in and returns the ones the wasm module imports from its host. */
async function externalBuiltins(opaPath: string, builtins: Builtin[]): Promise<Set<string>> {
  const lines = ['package probe', '']
  const refs: string[] = []
  builtins.forEach((b, i) => {
    const arity = b.decl.variadic ? 1 : (b.decl.args?.length ?? 0)
    const args = Array.from({ length: arity }, (_, k) => `input.a${k}`).join(', ')
    // Arguments come from `input`, so nothing is constant-folded away and every call type-checks. The module is never
    // evaluated: the entrypoint only has to reach every rule so that every call is compiled.
    lines.push(b.decl.result ? `r${i} := ${b.name}(${args})` : `r${i} if ${b.name}(${args})`)
    refs.push(`r${i}`)
  })
  lines.push('', `calls := [${refs.join(', ')}]`, '')

  const work = await mkdtemp(join(tmpdir(), 'airlock-capabilities-'))
  try {
    await writeFile(join(work, 'probe.rego'), lines.join('\n'))
    const bundle = join(work, 'bundle.tar.gz')
    await run(opaPath, ['build', '-t', 'wasm', '-e', 'probe/calls', '-o', bundle, join(work, 'probe.rego')], {
      maxBuffer: 16 * 1024 * 1024,
    })
    await extract({ file: bundle, cwd: work, filter: (p) => p.replace(/^\/+/, '') === 'policy.wasm' })
    return new Set(Object.keys(await wasmBuiltins(await readFile(join(work, 'policy.wasm')))))
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

/** The module's `builtins` export: {name: id} of every built-in it calls through opa_builtin0..4. */
async function wasmBuiltins(bytes: Uint8Array): Promise<Record<string, number>> {
  const memory = new WebAssembly.Memory({ initial: 5 })
  const fail = () => {
    throw new Error('the capabilities probe must not evaluate')
  }
  const env = {
    memory,
    opa_abort: fail,
    opa_println: fail,
    opa_builtin0: fail,
    opa_builtin1: fail,
    opa_builtin2: fail,
    opa_builtin3: fail,
    opa_builtin4: fail,
  }
  const { instance } = await WebAssembly.instantiate(bytes as Uint8Array<ArrayBuffer>, { env })
  const exports = instance.exports as { builtins(): number; opa_json_dump(addr: number): number }
  const addr = exports.opa_json_dump(exports.builtins())
  const heap = new Uint8Array(memory.buffer)
  const end = heap.indexOf(0, addr)
  return JSON.parse(new TextDecoder().decode(heap.subarray(addr, end))) as Record<string, number>
}

/** Names the SDK implements (its package exports only the loader, so read the file next to it). */
function sdkBuiltins(): string[] {
  const require = createRequire(import.meta.url)
  const entry = require.resolve('@open-policy-agent/opa-wasm') // …/src/index.cjs
  return Object.keys(require(join(dirname(entry), 'builtins/index.js')) as Record<string, unknown>)
}

/** A capabilities entry as OPA stores them (capabilities/v*.json): types only, no descriptions or categories. */
function minimal(b: Builtin): Builtin {
  const out: Record<string, unknown> = { name: b.name, decl: stripDocs(b.decl) }
  for (const key of ['infix', 'relation', 'nondeterministic'] as const) if (b[key] !== undefined) out[key] = b[key]
  return out as Builtin
}

/** Drops `description` and `name` (argument names) at any depth of a type declaration. */
function stripDocs(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripDocs)
  if (v === null || typeof v !== 'object') return v
  return Object.fromEntries(
    Object.entries(v)
      .filter(([k]) => k !== 'description' && k !== 'name')
      .map(([k, x]) => [k, stripDocs(x)]),
  )
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

if (import.meta.main) {
  const out = resolve(process.argv[2] ?? CAPABILITIES_PATH)
  const { capabilities, sources: s } = await analyse(findOpa())
  await writeFile(out, formatCapabilities(capabilities))
  process.stderr.write(
    `wrote ${out}: ${capabilities.builtins.length} built-ins ` +
      `(${s.native.length} native, ${s.sdk.length} SDK, ${s.host.length} host; ${s.unavailable.length} unavailable)\n`,
  )
}
