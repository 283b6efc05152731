// `airlock policy replay LOG… [--source DIR | --policy BUILD] [--holds-db FILE] [--json] [--markdown FILE] [--fail-on …]`
//
// Streams recorded decision lines (JSON lines as the gateway writes them with log.decision_input on; files, .gz, or
// "-" for stdin), evaluates the candidate policy on each recorded input the way the gateway does, joins the holds
// database for what people decided, and prints what would change (gateway/core/replay). Memory stays bounded: one line
// at a time, counters, a few examples, one timestamp per hold.
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { DatabaseSync } from 'node:sqlite'
import type { Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import type { Config } from '../core/config/schema.ts'
import { AirlockError, describeThrown } from '../core/errors.ts'
import { readOutcomes } from '../core/holds/outcomes.ts'
import { decide } from '../core/pipeline/decide.ts'
import { DECISION_PATH } from '../core/pipeline/decision-log.ts'
import type { PolicyInput } from '../core/pipeline/request.ts'
import type { PolicyEvaluator, SqlDriver } from '../core/ports.ts'
import {
  type CandidateOutcome,
  type HumanOutcome,
  type RecordedLine,
  ReplayAnalysis,
  type ReplayReport,
} from '../core/replay/analysis.ts'
import { checkFailOn, renderMarkdown, renderText } from '../core/replay/render.ts'
import { loadPolicyDir } from './policy-files.ts'
import { buildPolicy } from './toolchain/build.ts'

type Flags = Record<string, string | boolean | undefined>

export interface ReplayRun {
  report: ReplayReport
  /** --fail-on thresholds crossed, as sentences. */
  failures: string[]
  holdsDatabase: string | null
}

/** Replays the files against the candidate; throws on usage problems and when nothing usable was read. */
export async function runReplay(config: Config, files: string[], flags: Flags): Promise<ReplayRun> {
  if (files.length === 0)
    throw new AirlockError(
      'AIRLOCK_USAGE',
      'policy replay needs decision log files (JSON lines; "-" reads stdin): airlock policy replay decisions.jsonl',
    )
  for (const f of files)
    if (f !== '-' && !existsSync(f)) throw new AirlockError('AIRLOCK_USAGE', `policy replay: no such log file ${f}`)
  const failOn = typeof flags['fail-on'] === 'string' ? flags['fail-on'] : undefined
  const outcomes = readHoldsDb(config, flags)
  const candidate = await loadCandidate(config, flags)
  try {
    const analysis = new ReplayAnalysis(
      {
        groups: config.approver_groups,
        dedupeWindowMs: config.holds.dedupe_window_s * 1000,
        holdTimeoutMs: config.holds.timeout_s * 1000,
        knownRules: candidate.knownRules,
      },
      outcomes.outcomes,
    )
    const defaults = { timeout_s: config.holds.timeout_s, sample_rate: config.review.sample_rate }
    const progress = new Progress(files)
    for (const file of files) await replayFile(file, candidate.policy, defaults, analysis, progress)
    progress.done()
    const report = analysis.report(candidate.policy.revision)
    if (report.lines.usable === 0) {
      throw new ReplayInputError(
        `nothing to replay: ${report.lines.read} lines read, none a decision with its input (${JSON.stringify(report.lines.bad)}); turn on log.decision_input`,
      )
    }
    return { report, failures: failOn ? checkFailOn(report, failOn) : [], holdsDatabase: outcomes.source }
  } finally {
    await candidate.cleanup()
  }
}

class ReplayInputError extends Error {}

/** Exit codes: 0 ok, 1 a --fail-on threshold was crossed, 2 nothing usable in the input. */
export async function replayCommand(config: Config, files: string[], flags: Flags): Promise<number> {
  let run: ReplayRun
  try {
    run = await runReplay(config, files, flags)
  } catch (err) {
    if (!(err instanceof ReplayInputError)) throw err
    process.stderr.write(`airlock: ${err.message}\n`)
    return 2
  }
  const { report, failures } = run
  if (typeof flags.markdown === 'string') await writeFile(flags.markdown, renderMarkdown(report, failures))
  if (flags.json)
    process.stdout.write(
      JSON.stringify({ ...report, holds_database: run.holdsDatabase, fail_on: failures }, null, 2) + '\n',
    )
  else {
    process.stdout.write(renderText(report))
    if (!run.holdsDatabase)
      process.stdout.write('(no holds database: what people decided is unknown; pass --holds-db)\n')
    for (const f of failures) process.stdout.write(`FAIL: ${f}\n`)
  }
  return failures.length ? 1 : 0
}

async function replayFile(
  file: string,
  policy: PolicyEvaluator,
  defaults: { timeout_s: number; sample_rate: number },
  analysis: ReplayAnalysis,
  progress: Progress,
): Promise<void> {
  const raw: Readable = file === '-' ? process.stdin : createReadStream(file)
  const stream = file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw
  raw.on('data', (chunk) => progress.add(chunk.length))
  for await (const text of createInterface({ input: stream, crlfDelay: Infinity })) {
    if (!text.trim()) continue
    let line: Record<string, unknown>
    try {
      line = JSON.parse(text)
    } catch {
      analysis.bad('unreadable (truncated or not JSON)')
      continue
    }
    if (typeof line !== 'object' || line === null) {
      analysis.bad('unreadable (truncated or not JSON)')
      continue
    }
    const isDecision = line.msg === 'decision' || 'decision_id' in line
    if (!isDecision) {
      analysis.other()
      continue
    }
    if (line.path !== undefined && line.path !== DECISION_PATH) {
      analysis.bad(`another policy's decisions (path ${String(line.path)})`)
      continue
    }
    if (typeof line.input !== 'object' || line.input === null) {
      analysis.bad('decisions without input (log.decision_input off, or refused before the input was built)')
      continue
    }
    if (
      typeof line.decision_id !== 'string' ||
      typeof line.timestamp !== 'string' ||
      Number.isNaN(Date.parse(line.timestamp))
    ) {
      analysis.bad('decisions without decision_id or timestamp')
      continue
    }
    analysis.add(line as unknown as RecordedLine, evaluateRecorded(policy, line.input, defaults))
  }
}

/** The gateway's decision stage (decide()) on a recorded input: evaluate, then validate; any error denies (fail closed). */
export function evaluateRecorded(
  policy: PolicyEvaluator,
  input: unknown,
  defaults: { timeout_s: number; sample_rate: number },
): CandidateOutcome {
  const d = decide(policy, { input: input as PolicyInput }, { defaults })
  return d.ok ? { ok: true, decision: d.decision } : { ok: false, code: d.error.code, message: d.error.message }
}

interface Candidate {
  policy: PolicyEvaluator
  knownRules: string[]
  cleanup(): Promise<void>
}

/** --policy BUILD_DIR (compiled), or --source DIR (built now with the pinned OPA); default: the config's source. */
async function loadCandidate(config: Config, flags: Flags): Promise<Candidate> {
  if (typeof flags.policy === 'string') {
    return { policy: await loadPolicyDir(flags.policy), knownRules: [], cleanup: async () => {} }
  }
  const source = typeof flags.source === 'string' ? flags.source : config.policy.source
  if (!existsSync(source) || !statSync(source).isDirectory())
    throw new AirlockError(
      'AIRLOCK_USAGE',
      `policy replay: the candidate source ${source} is not a folder (use --source DIR or --policy BUILD_DIR)`,
    )
  const dir = await mkdtemp(join(tmpdir(), 'airlock-replay-'))
  try {
    await buildPolicy(source, dir)
    return {
      policy: await loadPolicyDir(dir),
      knownRules: literalRuleIds(source),
      cleanup: () => rm(dir, { recursive: true, force: true }),
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true })
    throw err
  }
}

/** Rule ids written as literals ("rule": "stripe.read") in the candidate's Rego, tests and the library excluded. */
export function literalRuleIds(source: string): string[] {
  const ids = new Set<string>()
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name)
      if (e.isDirectory()) {
        if (e.name !== 'lib') walk(p)
      } else if (e.name.endsWith('.rego') && !e.name.endsWith('_test.rego')) {
        for (const m of readFileSync(p, 'utf8').matchAll(/"rule":\s*"([^"]+)"/g)) ids.add(m[1]!)
      }
    }
  }
  walk(source)
  return [...ids].sort()
}

/** The holds database, opened read-only (a copy of production's is fine; nothing is migrated or written). */
function readHoldsDb(config: Config, flags: Flags): { source: string | null; outcomes: HumanOutcome[] } {
  const path = typeof flags['holds-db'] === 'string' ? flags['holds-db'] : join(config.data_dir, 'airlock.db')
  if (!existsSync(path)) {
    if (typeof flags['holds-db'] === 'string')
      throw new AirlockError('AIRLOCK_DATA_MISSING', `policy replay: no holds database at ${path}`)
    return { source: null, outcomes: [] }
  }
  const db = new DatabaseSync(path, { readOnly: true })
  try {
    const driver: SqlDriver = {
      all: <T>(sql: string, ...params: never[]) => db.prepare(sql).all(...params) as T[],
      run: () => {
        throw new Error('the holds database is opened read-only for replay')
      },
      transaction: (fn) => fn(),
    }
    return { source: path, outcomes: readOutcomes(driver) }
  } catch (err) {
    throw new AirlockError(
      'AIRLOCK_DATA_MISSING',
      `policy replay: cannot read the holds database ${path}: ${describeThrown(err)}`,
    )
  } finally {
    db.close()
  }
}

/** A progress bar on stderr when it is a terminal: bytes read of the files' total size. */
class Progress {
  readonly #total: number
  #read = 0
  #last = 0
  readonly #tty = process.stderr.isTTY === true
  constructor(files: string[]) {
    this.#total = files.reduce((s, f) => s + (f === '-' || f.endsWith('.gz') ? 0 : statSync(f).size), 0)
  }
  add(bytes: number): void {
    this.#read += bytes
    if (!this.#tty) return
    const now = Date.now()
    if (now - this.#last < 200) return
    this.#last = now
    const share = this.#total ? Math.min(1, this.#read / this.#total) : 0
    const width = 30
    const bar = this.#total ? '#'.repeat(Math.round(share * width)).padEnd(width, '.') : ''
    process.stderr.write(
      `\rreplaying [${bar}] ${this.#total ? `${(share * 100).toFixed(0)} %` : ''} ${(this.#read / 1e6).toFixed(0)} MB`,
    )
  }
  done(): void {
    if (this.#tty) process.stderr.write('\n')
  }
}
