// `airlock holds|reviews …` talk to a running gateway's approver API, as the approver whose token is in
// AIRLOCK_APPROVER_TOKEN (an environment variable, never a flag: flags show up in `ps`). `airlock report` and
// `airlock audit verify` read the data folder directly, so they work with the gateway stopped.
import { createReadStream, existsSync } from 'node:fs'
import { createInterface } from 'node:readline/promises'
import type { Config } from '../core/config/schema.ts'
import { AirlockError, type ErrorCode, errorStatus } from '../core/errors.ts'
import { terminalText } from '../core/escape.ts'
import { verifyChain } from '../core/holds/audit.ts'
import type { Presentation } from '../core/holds/presentation.ts'
import { buildReport } from '../core/holds/report.ts'
import type { Approval } from '../core/holds/types.ts'
import { type ShadowSection, ShadowTally } from '../core/replay/shadow-tally.ts'
import type { Flags } from './cli-args.ts'
import { openStore } from './store.ts'

const out = (s: string) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`)
/** Agent-controlled text (intent, URL, body, summaries quoting them) printed with escape sequences made visible. */
const show = (s: string) => out(terminalText(s))

function baseUrl(config: Config, flags: Flags): string {
  if (typeof flags.url === 'string') return flags.url.replace(/\/$/, '')
  if (process.env.AIRLOCK_URL) return process.env.AIRLOCK_URL.replace(/\/$/, '')
  return `http://${config.server.host}:${config.server.port}`
}

async function callApi<T>(config: Config, flags: Flags, path: string, body?: object): Promise<T> {
  const token = process.env.AIRLOCK_APPROVER_TOKEN
  if (!token) throw new AirlockError('AIRLOCK_UNAUTHORIZED', 'set AIRLOCK_APPROVER_TOKEN to your approver token')
  const url = `${baseUrl(config, flags)}/_airlock/api${path}`
  let res: Response
  try {
    res = await fetch(url, {
      method: body ? 'POST' : 'GET',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    })
  } catch (err) {
    throw new AirlockError(
      'AIRLOCK_GATEWAY_UNREACHABLE',
      `cannot reach ${url}: ${(err as Error).message} (is the gateway running? set --url or AIRLOCK_URL)`,
    )
  }
  const json: unknown = await res.json().catch(() => ({}))
  if (!res.ok) {
    const { error } = json as { error?: { code?: string; message?: string } }
    const code = error?.code && error.code in errorStatus ? (error.code as ErrorCode) : 'AIRLOCK_INTERNAL'
    throw new AirlockError(code, `the gateway answered ${res.status}: ${error?.message ?? res.statusText}`)
  }
  return json as T
}

/** What the approver API answers (gateway/core/holds/api.ts), as far as the CLI reads it. */
interface HoldRow {
  id: string
  state: string
  risk: string
  agent: { id: string }
  groups: string[]
  summary: string
  expires_at: string
}
interface HoldView {
  hold: Presentation
  context_sha256: string
  state: string
  approvals: Approval[]
}
interface DecisionResult {
  grant?: { id: string; max_uses: number; expires_at: string }
  hold: { state: string }
  approvals: Approval[]
  denial: { ms_from_view: number | null; fast: boolean } | null
}

function table(rows: Record<string, unknown>[], columns: string[]): string {
  const cells = rows.map((r) => columns.map((c) => terminalText(String(r[c] ?? ''), { multiline: false })))
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)))
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd()
  return [line(columns), ...cells.map(line)].join('\n')
}

/** What an approver needs in order to decide, agent-controlled text escaped for the terminal. */
function describeHold(view: HoldView): string {
  const one = (v: unknown) => terminalText(String(v), { multiline: false })
  const h = view.hold
  const lines = [
    one(h.summary),
    `  why: ${one(h.reason)} (rule ${one(h.rule)}, risk ${one(h.risk)})`,
    `  agent: ${one(h.agent.id)} (owner ${one(h.agent.owner)}); intent: ${one(h.intent ?? 'none given')}`,
    `  ${one(h.request.method)} ${one(h.request.url)}`,
  ]
  if (h.request.body_preview !== null) {
    const body = terminalText(h.request.body_preview).split('\n')
    const shown = body.slice(0, 20).map((l) => `    ${l}`)
    if (body.length > 20 || h.request.body_truncated)
      shown.push(`    … (${h.request.body_size} bytes in all: airlock holds show ${one(h.id)})`)
    lines.push('  body:', ...shown)
  }
  lines.push(
    `  state: ${one(view.state)}; approvals ${view.approvals.length} of ${h.approvals_required}; expires ${one(h.expires_at)}`,
  )
  return lines.join('\n')
}

/** Asks on the terminal; true only for an explicit "yes". */
async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr })
  try {
    return /^\s*yes\s*$/i.test(await rl.question(question))
  } finally {
    rl.close()
  }
}

/** --grant-minutes N --grant-uses M [--grant-same a,b] [--grant-max c]: the approve body's grant, or undefined. */
export function grantFlags(flags: Flags): object | undefined {
  const minutes = flags['grant-minutes']
  const uses = flags['grant-uses']
  if (minutes === undefined && uses === undefined) return undefined
  const int = (v: unknown, name: string) => {
    const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN
    if (!Number.isSafeInteger(n) || n < 1)
      throw new AirlockError(
        'AIRLOCK_USAGE',
        `--${name} needs a whole number >= 1 (a grant needs both --grant-minutes and --grant-uses)`,
      )
    return n
  }
  const list = (v: unknown) =>
    typeof v === 'string'
      ? v
          .split(',')
          .map((f) => f.trim())
          .filter(Boolean)
      : undefined
  const same = list(flags['grant-same'])
  const max = list(flags['grant-max'])
  return {
    minutes: int(minutes, 'grant-minutes'),
    max_uses: int(uses, 'grant-uses'),
    ...(same || max ? { bounds: { same, max } } : {}),
  }
}

const seconds = (ms: number | null) =>
  ms === null ? 'no recorded view' : `${(ms / 1000).toFixed(1)} s after your first view`

export async function holdsCommand(
  config: Config,
  verb: string,
  id: string | undefined,
  flags: Flags,
): Promise<number> {
  const comment = typeof flags.comment === 'string' ? flags.comment : null
  switch (verb) {
    case 'list': {
      const q = new URLSearchParams()
      q.set('state', typeof flags.state === 'string' ? flags.state : 'pending')
      if (typeof flags.group === 'string') q.set('group', flags.group)
      const { holds } = await callApi<{ holds: HoldRow[] }>(config, flags, `/holds?${q}`)
      out(
        holds.length
          ? table(
              holds.map((h) => ({ ...h, agent: h.agent.id, groups: h.groups.join(',') })),
              ['id', 'state', 'risk', 'agent', 'groups', 'summary', 'expires_at'],
            )
          : 'no holds',
      )
      return 0
    }
    case 'show':
      show(JSON.stringify(await callApi(config, flags, `/holds/${id}`), null, 2))
      return 0
    case 'approve':
    case 'deny': {
      // Viewing first records what this approver was shown (the first view starts "time to decide"), and the hash of
      // what was shown goes with the decision.
      const view = await callApi<HoldView>(config, flags, `/holds/${id}`)
      out(describeHold(view))
      // An approval is confirmed by a person: on a terminal, by typing "yes" after reading the above; otherwise by
      // --yes after a separate `holds show`. Denying needs no confirmation: it is the safe direction.
      if (verb === 'approve' && flags.yes !== true) {
        if (!process.stdin.isTTY) {
          throw new AirlockError(
            'AIRLOCK_USAGE',
            `nothing was approved: there is no terminal to confirm on. Review the hold with \`airlock holds show ${id}\`, then run \`airlock holds approve ${id} --yes\``,
          )
        }
        if (!(await confirm('Approve this request? Type "yes" to approve: '))) {
          out(`not approved: hold ${id} is still ${view.state}`)
          return 1
        }
      }
      const grant = verb === 'approve' ? grantFlags(flags) : undefined
      const result = await callApi<DecisionResult>(config, flags, `/holds/${id}/${verb}`, {
        comment,
        context_sha256: view.context_sha256,
        ...(grant ? { grant } : {}),
      })
      const timing = verb === 'approve' ? result.approvals.at(-1) : result.denial
      const fast = timing?.fast ? '; recorded as a fast decision (a possible rubber stamp: see airlock report)' : ''
      out(
        `${verb === 'approve' ? 'approved' : 'denied'}: hold ${id} is now ${result.hold.state} (${seconds(timing?.ms_from_view ?? null)}${fast})`,
      )
      // "approved" is not "done": the request is sent after this answer, and sending can still fail.
      if (result.hold.state === 'approved')
        out(`it is being sent upstream now; \`airlock holds show ${id}\` gives the outcome (executed or failed)`)
      if (result.grant)
        out(
          `grant ${result.grant.id}: ${result.grant.max_uses} uses until ${result.grant.expires_at} (revoke: DELETE /_airlock/api/grants/${result.grant.id})`,
        )
      return 0
    }
  }
  throw new AirlockError('AIRLOCK_USAGE', `unknown command "airlock holds ${verb}"`)
}

export async function reviewsCommand(
  config: Config,
  verb: string,
  id: string | undefined,
  flags: Flags,
): Promise<number> {
  if (verb === 'list') {
    const { reviews } = await callApi<{ reviews: Record<string, unknown>[] }>(
      config,
      flags,
      `/reviews?state=${typeof flags.state === 'string' ? flags.state : 'pending'}`,
    )
    out(reviews.length ? table(reviews, ['id', 'rule', 'agent_id', 'upstream_status', 'summary']) : 'no review items')
    return 0
  }
  await callApi(config, flags, `/reviews/${id}`, {
    verdict: verb,
    comment: typeof flags.comment === 'string' ? flags.comment : null,
  })
  out(`review ${id}: ${verb === 'ok' ? 'ok' : 'flagged'}`)
  return 0
}

export async function reportCommand(config: Config, flags: Flags): Promise<number> {
  const shadow = typeof flags.log === 'string' ? await shadowSection(flags.log.split(',')) : undefined
  const { store, close } = await openStore(config, (name) => process.env[name], { mustExist: true })
  try {
    const report = await buildReport(store, config.holds.relax_threshold)
    if (flags.json) {
      out(JSON.stringify(shadow ? { ...report, shadow } : report, null, 2))
      return 0
    }
    const pct = (v: number | null) => (v === null ? '-' : `${Math.round(v * 100)}%`)
    const secs = (v: number | null) => (v === null ? '-' : `${(v / 1000).toFixed(1)}s`)
    out('Holds by rule')
    out(
      table(
        report.rules.map((r) => ({
          ...r,
          approval_rate: pct(r.approval_rate),
          median_to_decide: secs(r.median_ms_to_decide),
          fast: pct(r.fast_share),
        })),
        ['rule', 'holds', 'approved', 'denied', 'expired', 'pending', 'approval_rate', 'median_to_decide', 'fast'],
      ),
    )
    out('\nApprovers')
    out(
      table(
        report.approvers.map((a) => ({ ...a, median_from_view: secs(a.median_ms_from_view), fast: pct(a.fast_share) })),
        ['approver', 'decisions', 'approvals', 'denials', 'median_from_view', 'fast'],
      ),
    )
    out('\nReview after the fact')
    out(
      table(
        report.review.map((r) => ({ ...r, coverage: pct(r.coverage) })),
        ['rule', 'forwarded', 'sampled', 'reviewed', 'flagged', 'coverage'],
      ),
    )
    out(`\nGrants (${report.grants.holds_saved} holds saved)`)
    out(
      report.grants.grants.length
        ? table(
            report.grants.grants.map((g) => ({ ...g, uses: `${g.uses}/${g.max_uses}` })),
            ['id', 'state', 'rule', 'agent', 'created_by', 'uses', 'expires_at'],
          )
        : '  none',
    )
    const suggestions = report.rules.filter((r) => r.suggestion)
    out('\nSuggestions')
    out(suggestions.length ? suggestions.map((r) => `  ${r.rule}: ${r.suggestion}`).join('\n') : '  none yet')
    out(`\nAudit log: ${report.audit.records} records, head ${report.audit.head ?? '-'}`)
    if (shadow) out(`\n${shadowText(shadow)}`)
    return 0
  } finally {
    await close()
  }
}

export async function auditVerifyCommand(config: Config): Promise<number> {
  const { store, close } = await openStore(config, (name) => process.env[name], { mustExist: true })
  try {
    const result = verifyChain(await store.auditRecords())
    if (result.ok) {
      out(`audit log ok: ${result.records} records, head ${result.head}`)
      return 0
    }
    out(
      `audit log BROKEN (${result.problems.length} problems in ${result.records} records):\n${result.problems.map((p) => `  - ${p}`).join('\n')}`,
    )
    return 1
  } finally {
    await close()
  }
}

/** The shadow section from decision log files (JSON lines; other log lines are skipped). */
async function shadowSection(files: string[]): Promise<ShadowSection> {
  const tally = new ShadowTally()
  for (const file of files) {
    if (!existsSync(file)) throw new Error(`report --log: no such file ${file}`)
    for await (const text of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
      if (!text.includes('"decision_id"')) continue
      try {
        tally.add(JSON.parse(text))
      } catch {
        // a truncated line: the counters are about the lines that can be read
      }
    }
  }
  return tally.section()
}

function shadowText(s: ShadowSection): string {
  const pct = (v: number | null) => (v === null ? '-' : `${(v * 100).toFixed(2)}%`)
  const lines = [
    'Shadow policy',
    `  ${s.evaluated} of ${s.decisions} decisions also evaluated by the shadow policy (${s.revisions.map((r) => r.slice(0, 12)).join(', ') || 'none'}), mean ${s.mean_eval_us ?? '-'} µs`,
    `  disagreed on ${s.disagreements} (${pct(s.disagreement_share)}), failed on ${s.errors}`,
  ]
  if (s.pairs.length)
    lines.push(table(s.pairs as unknown as Record<string, unknown>[], ['enforced_action', 'shadow_action', 'count']))
  if (s.top_rules.length) {
    lines.push('  Top enforced rules where it disagreed:')
    for (const r of s.top_rules) lines.push(`    ${r.rule}: ${r.disagreements} → ${r.shadow.slice(0, 3).join(', ')}`)
  }
  return lines.join('\n')
}
