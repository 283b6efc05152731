// `airlock policy build|test|eval` and the cross-check of the policy against the config (approver groups), which
// `airlock config check` runs too: a hold naming a group the config does not define would otherwise pass the Rego
// tests, the build and the evaluation, and fail only when a request is held.
import { execFile } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { promisify } from 'node:util'
import type { Config } from '../core/config/schema.ts'
import { AirlockError, describeThrown } from '../core/errors.ts'
import { decide } from '../core/pipeline/decide.ts'
import type { PolicyInput } from '../core/pipeline/request.ts'
import type { Flags } from './cli-args.ts'
import { loadPolicyDir } from './policy-files.ts'
import { buildPolicy, testPolicy } from './toolchain/build.ts'
import { findOpa } from './toolchain/opa.ts'

const run = promisify(execFile)

/** file:line, relative to the working directory when the file is under it. */
function where(file: string, row: number): string {
  const rel = relative(process.cwd(), file)
  return `${rel && !rel.startsWith('..') ? rel : file}:${row}`
}
const out = (s: string) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`)

export async function buildCommand(config: Config, flags: Flags): Promise<number> {
  const source = typeof flags.source === 'string' ? flags.source : config.policy.source
  const outDir = typeof flags.out === 'string' ? flags.out : config.policy.dir
  const { revision } = await buildPolicy(source, outDir)
  out(`built ${source} → ${outDir} (revision ${revision.slice(0, 12)})`)
  return 0
}

interface OpaTestResult {
  location: { file: string; row: number }
  package: string
  name: string
  fail?: boolean
  error?: { message?: string; code?: string }
  skip?: boolean
  trace?: { Op: string; Location?: { file: string; row: number } }[]
}

/** The source line a location points at, trimmed (what failed, as the author wrote it). */
function sourceLine(file: string, row: number): string {
  try {
    return readFileSync(file, 'utf8').split('\n')[row - 1]?.trim() ?? ''
  } catch {
    return ''
  }
}

/**
 * `airlock policy test`: failures first, one block each — the test, its file:line, and the expression that failed —
 * then one summary line. `--verbose` prints opa test -v's own report (every test, the trace of each failure).
 */
export async function testCommand(config: Config, flags: Flags): Promise<number> {
  const source = typeof flags.source === 'string' ? flags.source : config.policy.source
  if (flags.verbose) {
    const result = await testPolicy(source, ['-v'])
    process.stdout.write(result.output)
    return result.ok ? 0 : 1
  }
  const result = await testPolicy(source, ['--format', 'json'])
  let tests: OpaTestResult[]
  try {
    tests = JSON.parse(result.stdout)
  } catch {
    // Not a report: OPA could not load the source (a parse or compile error), and says where.
    process.stderr.write(result.output)
    return 1
  }
  const failed = tests.filter((t) => t.fail || t.error)
  for (const [i, t] of failed.entries()) {
    const lines = [`FAIL ${t.package}.${t.name}  (${where(t.location.file, t.location.row)})`]
    if (t.error) lines.push(`  error: ${t.error.message ?? t.error.code ?? 'evaluation error'}`)
    // The expression that made it fail: the last one that failed inside the test file, from a trace of this test
    // alone (the first ten failures; tracing every test would be slow).
    const last = i < 10 ? await failingLine(source, t) : undefined
    if (last) lines.push(`  failed: ${sourceLine(last.file, last.row)}  (${where(last.file, last.row)})`)
    out(lines.join('\n'))
  }
  const skipped = tests.filter((t) => t.skip).length
  const passed = tests.length - failed.length - skipped
  const summary = `${passed}/${tests.length} passed${failed.length ? `, ${failed.length} failed` : ''}${skipped ? `, ${skipped} skipped` : ''}`
  out(
    failed.length ? `\n${summary} (every test, and the trace of each failure: airlock policy test --verbose)` : summary,
  )
  return failed.length || !result.ok ? 1 : 0
}

async function failingLine(source: string, t: OpaTestResult): Promise<{ file: string; row: number } | undefined> {
  const escaped = `${t.package}.${t.name}`.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const traced = await testPolicy(source, ['-v', '--format', 'json', '--run', `^${escaped}$`])
  try {
    const [one] = JSON.parse(traced.stdout) as OpaTestResult[]
    return one?.trace?.filter((e) => e.Op === 'Fail' && e.Location?.file === t.location.file).at(-1)?.Location
  } catch {
    return undefined
  }
}

function unknownGroups(groups: readonly string[], config: Config): string[] {
  return groups.filter((g) => !Object.hasOwn(config.approver_groups, g))
}

const defined = (config: Config) => Object.keys(config.approver_groups).join(', ') || 'none'

export async function evalCommand(config: Config, flags: Flags): Promise<number> {
  const file = flags.input
  if (typeof file !== 'string') {
    throw new AirlockError(
      'AIRLOCK_USAGE',
      'policy eval needs --input <file.json> (a policy input, see docs/policy.md)',
    )
  }
  let input: Record<string, unknown>
  try {
    input = JSON.parse(await readFile(file, 'utf8'))
  } catch (err) {
    throw new AirlockError('AIRLOCK_USAGE', `cannot read policy input ${file}: ${describeThrown(err)}`)
  }
  const now = Date.now()
  input.gateway ??= { now: new Date(now).toISOString(), now_ns: now * 1e6, pending_holds: {} }
  const policy = await loadPolicyDir(config.policy.dir)
  // The gateway's own decision stage, on an input given as is (it may be partial: the policy decides what it needs).
  const decided = decide(
    policy,
    { input: input as unknown as PolicyInput },
    { defaults: { timeout_s: config.holds.timeout_s, sample_rate: config.review.sample_rate } },
  )
  if (!decided.ok) throw decided.error
  const { decision } = decided
  out(JSON.stringify({ revision: policy.revision, decision }, null, 2))
  const missing = decision.action === 'hold' ? unknownGroups(decision.approvers, config) : []
  if (missing.length) {
    process.stderr.write(
      `airlock: [AIRLOCK_CONFIG_MISMATCH] this hold names approver group${missing.length > 1 ? 's' : ''} ${missing.map((g) => `"${g}"`).join(', ')}, ` +
        `which the config does not define (approver_groups: ${defined(config)}); at run time it would fail\n`,
    )
    return 1
  }
  return 0
}

interface AstNode {
  type?: string
  value?: unknown
  location?: { file: string; row: number }
}

function regoFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.rego') && !e.name.endsWith('_test.rego'))
    .map((e) => join(e.parentPath, e.name))
    .sort()
}

/** Every literal `"approvers": [...]` in the policy source, with where it is. */
async function namedGroups(source: string): Promise<{ group: string; where: string }[]> {
  const opa = findOpa()
  const found: { group: string; where: string }[] = []
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item)
      return
    }
    if (!node || typeof node !== 'object') return
    const n = node as AstNode
    if (n.type === 'object' && Array.isArray(n.value)) {
      for (const [key, value] of n.value as [AstNode, AstNode][]) {
        if (key?.type !== 'string' || key.value !== 'approvers' || value?.type !== 'array') continue
        for (const item of value.value as AstNode[]) {
          if (item.type === 'string' && item.location) {
            found.push({ group: String(item.value), where: where(item.location.file, item.location.row) })
          }
        }
      }
    }
    for (const v of Object.values(n)) walk(v)
  }
  for (const file of regoFiles(source)) {
    const { stdout } = await run(opa, ['parse', '--format', 'json', '--json-include', 'locations,-comments', file], {
      maxBuffer: 64 * 1024 * 1024,
    })
    walk(JSON.parse(stdout))
  }
  return found
}

/**
 * Problems between the policy and the config: approver groups the policy's holds name (as literals in the source)
 * that the config does not define. Groups computed at evaluation time are out of reach here; `policy eval` catches
 * those for a given input.
 */
export async function crossCheck(config: Config): Promise<string[]> {
  const named = await namedGroups(config.policy.source)
  return named
    .filter(({ group }) => unknownGroups([group], config).length > 0)
    .map(
      ({ group, where }) =>
        `${where}: a hold names approver group "${group}", which the config does not define (approver_groups: ${defined(config)})`,
    )
}
