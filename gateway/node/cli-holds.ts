// `airlock holds|reviews …` talk to a running gateway's approver API, as the approver whose token is in
// AIRLOCK_APPROVER_TOKEN (an environment variable, never a flag: flags show up in `ps`). `airlock report` and
// `airlock audit verify` read the data folder directly, so they work with the gateway stopped.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { Config } from '../core/config/schema.ts'
import { verifyChain } from '../core/holds/audit.ts'
import type { Presentation } from '../core/holds/presentation.ts'
import { buildReport } from '../core/holds/report.ts'
import { HoldStore } from '../core/holds/store.ts'
import { openSqlite } from './sqlite.ts'
import { terminalText } from '../core/escape.ts'

type Flags = Record<string, string | boolean | undefined>
const out = (s: string) => process.stdout.write(s.endsWith('\n') ? s : s + '\n')
/** Agent-controlled text (intent, URL, body, summaries quoting them) printed with escape sequences made visible. */
const show = (s: string) => out(terminalText(s))

function baseUrl(config: Config, flags: Flags): string {
  if (typeof flags.url === 'string') return flags.url.replace(/\/$/, '')
  if (process.env.AIRLOCK_URL) return process.env.AIRLOCK_URL.replace(/\/$/, '')
  return `http://${config.server.host}:${config.server.port}`
}

async function callApi<T>(config: Config, flags: Flags, path: string, body?: object): Promise<T> {
  const token = process.env.AIRLOCK_APPROVER_TOKEN
  if (!token) throw new Error('set AIRLOCK_APPROVER_TOKEN to your approver token')
  const url = `${baseUrl(config, flags)}/_airlock/api${path}`
  let res: Response
  try {
    res = await fetch(url, {
      method: body ? 'POST' : 'GET',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    })
  } catch (err) {
    throw new Error(`cannot reach ${url}: ${(err as Error).message} (is the gateway running? set --url or AIRLOCK_URL)`)
  }
  const json: unknown = await res.json().catch(() => ({}))
  if (!res.ok) {
    const { error } = json as { error?: { code?: string; message?: string } }
    throw new Error(`${res.status} ${error?.code ?? ''}: ${error?.message ?? res.statusText}`)
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
}

function table(rows: Record<string, unknown>[], columns: string[]): string {
  const cells = rows.map((r) => columns.map((c) => terminalText(String(r[c] ?? ''), { multiline: false })))
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)))
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd()
  return [line(columns), ...cells.map(line)].join('\n')
}

export async function holdsCommand(config: Config, args: string[], flags: Flags): Promise<number> {
  const [verb, id] = args
  const comment = typeof flags.comment === 'string' ? flags.comment : undefined
  const need = () => {
    if (!id) throw new Error(`airlock holds ${verb} needs a hold id`)
    return id
  }
  switch (verb) {
    case 'list': {
      const q = new URLSearchParams()
      q.set('state', typeof flags.state === 'string' ? flags.state : 'pending')
      if (typeof flags.group === 'string') q.set('group', flags.group)
      const { holds } = await callApi<{ holds: HoldRow[] }>(config, flags, `/holds?${q}`)
      out(holds.length ? table(holds.map((h) => ({ ...h, agent: h.agent.id, groups: h.groups.join(',') })), ['id', 'state', 'risk', 'agent', 'groups', 'summary', 'expires_at']) : 'no holds')
      return 0
    }
    case 'show':
      show(JSON.stringify(await callApi(config, flags, `/holds/${need()}`), null, 2))
      return 0
    case 'approve':
    case 'deny': {
      // Viewing first records what this approver was shown, and its hash goes with the decision.
      const view = await callApi<HoldView>(config, flags, `/holds/${need()}`)
      const one = (v: unknown) => terminalText(String(v), { multiline: false })
      const h = view.hold
      out(`${one(h.summary)}\n  why: ${one(h.reason)}\n  agent: ${one(h.agent.id)} (owner ${one(h.agent.owner)}); intent: ${one(h.intent ?? 'none given')}\n  ${one(h.request.method)} ${one(h.request.url)}`)
      const result = await callApi<{ hold: { state: string } }>(config, flags, `/holds/${id}/${verb}`, { comment: comment ?? null, context_sha256: view.context_sha256 })
      out(`${verb === 'approve' ? 'approved' : 'denied'}: hold ${id} is now ${result.hold.state}`)
      return 0
    }
    default:
      throw new Error('usage: airlock holds list [--state S] [--group G] | show ID | approve ID [--comment C] | deny ID [--comment C]')
  }
}

export async function reviewsCommand(config: Config, args: string[], flags: Flags): Promise<number> {
  const [verb, id] = args
  if (verb === 'list') {
    const { reviews } = await callApi<{ reviews: Record<string, unknown>[] }>(config, flags, `/reviews?state=${typeof flags.state === 'string' ? flags.state : 'pending'}`)
    out(reviews.length ? table(reviews, ['id', 'rule', 'agent_id', 'upstream_status', 'summary']) : 'no review items')
    return 0
  }
  if ((verb === 'ok' || verb === 'flag') && id) {
    await callApi(config, flags, `/reviews/${id}`, { verdict: verb, comment: typeof flags.comment === 'string' ? flags.comment : null })
    out(`review ${id}: ${verb === 'ok' ? 'ok' : 'flagged'}`)
    return 0
  }
  throw new Error('usage: airlock reviews list | ok ID | flag ID --comment C')
}

function openStore(config: Config): { store: HoldStore; close(): void } {
  const path = join(config.data_dir, 'airlock.db')
  // Opening a missing file would create an empty database and report "0 records, ok": say what is wrong instead.
  if (!existsSync(path)) throw new Error(`no Airlock database at ${path} (data_dir in the config; has the gateway run with it?)`)
  const db = openSqlite(path)
  return { store: new HoldStore(db), close: () => db.close() }
}

export function reportCommand(config: Config, flags: Flags): number {
  const { store, close } = openStore(config)
  try {
    const report = buildReport(store, config.holds.relax_threshold)
    if (flags.json) {
      out(JSON.stringify(report, null, 2))
      return 0
    }
    const pct = (v: number | null) => (v === null ? '-' : `${Math.round(v * 100)}%`)
    const secs = (v: number | null) => (v === null ? '-' : `${(v / 1000).toFixed(1)}s`)
    out('Holds by rule')
    out(table(report.rules.map((r) => ({ ...r, approval_rate: pct(r.approval_rate), median_to_decide: secs(r.median_ms_to_decide), fast: pct(r.fast_share) })), ['rule', 'holds', 'approved', 'denied', 'expired', 'pending', 'approval_rate', 'median_to_decide', 'fast']))
    out('\nApprovers')
    out(table(report.approvers.map((a) => ({ ...a, median_from_view: secs(a.median_ms_from_view), fast: pct(a.fast_share) })), ['approver', 'decisions', 'approvals', 'denials', 'median_from_view', 'fast']))
    out('\nReview after the fact')
    out(table(report.review.map((r) => ({ ...r, coverage: pct(r.coverage) })), ['rule', 'forwarded', 'sampled', 'reviewed', 'flagged', 'coverage']))
    const suggestions = report.rules.filter((r) => r.suggestion)
    out('\nSuggestions')
    out(suggestions.length ? suggestions.map((r) => `  ${r.rule}: ${r.suggestion}`).join('\n') : '  none yet')
    out(`\nAudit log: ${report.audit.records} records, head ${report.audit.head ?? '-'}`)
    return 0
  } finally {
    close()
  }
}

export function auditVerifyCommand(config: Config): number {
  const { store, close } = openStore(config)
  try {
    const result = verifyChain(store.auditRecords())
    if (result.ok) {
      out(`audit log ok: ${result.records} records, head ${result.head}`)
      return 0
    }
    out(`audit log BROKEN (${result.problems.length} problems in ${result.records} records):\n${result.problems.map((p) => `  - ${p}`).join('\n')}`)
    return 1
  } finally {
    close()
  }
}
