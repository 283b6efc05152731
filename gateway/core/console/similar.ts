// "Make the hard cases visible": earlier holds of the same rule beside the one being decided, with what differs
// field by field, and how this request's values compare with what people approved before (e.g. "amount 500000 —
// the last 20 approved were at most 12000"). Pure functions over stored holds; bodies are read as JSON or form data.
import type { Hold } from '../holds/types.ts'

export type Fields = Map<string, string | number | boolean | null>

const MAX_FIELDS = 200
const APPROVED = new Set(['approved', 'executing', 'executed', 'failed', 'outcome_unknown'])

/** The request as flat fields: method, host, path, query parameters, and the body's JSON or form fields. */
export function fieldsOf(h: Pick<Hold, 'method' | 'url' | 'headers' | 'body'>): Fields {
  const out: Fields = new Map()
  const url = new URL(h.url)
  out.set('method', h.method)
  out.set('host', url.host)
  out.set('path', url.pathname)
  for (const [k, v] of url.searchParams) out.set(`query.${k}`, v)
  if (!h.body?.byteLength) return out
  const type = (new Headers(h.headers).get('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(h.body)
  } catch {
    return out
  }
  const put = (key: string, v: unknown, depth: number) => {
    if (out.size >= MAX_FIELDS) return
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out.set(key, v)
    else if (depth < 6 && typeof v === 'object')
      for (const [k, x] of Object.entries(v as object)) put(`${key}.${k}`, x, depth + 1)
  }
  try {
    if (type === 'application/x-www-form-urlencoded')
      for (const [k, v] of new URLSearchParams(text)) put(`body.${k}`, numeric(v), 0)
    else put('body', JSON.parse(text), 0)
  } catch {
    // not JSON: compared as a whole only by its sha256
  }
  return out
}

/** Form values arrive as text; "500000" compares as a number. */
function numeric(v: string): string | number {
  return /^-?\d+(\.\d+)?$/.test(v) && v.length < 16 ? Number(v) : v
}

export interface FieldChange {
  field: string
  was: string
  now: string
}

export function differences(a: Fields, b: Fields): FieldChange[] {
  const keys = new Set([...a.keys(), ...b.keys()])
  const show = (f: Fields, k: string) => (f.has(k) ? JSON.stringify(f.get(k)) : '(absent)')
  return [...keys].filter((k) => a.get(k) !== b.get(k)).map((k) => ({ field: k, was: show(a, k), now: show(b, k) }))
}

export interface Similar {
  hold: Hold
  sameAgent: boolean
  /** Share of fields with equal values, 0..1. */
  likeness: number
  changes: FieldChange[]
}

export interface Comparison {
  /** Earlier holds of the rule that were looked at (at most `window`). */
  considered: number
  approvedCount: number
  similar: Similar[]
  /** One line per field whose value lies outside what was approved before. */
  unusual: string[]
}

export function compare(current: Hold, all: Hold[], opts: { window?: number; show?: number } = {}): Comparison {
  const window = opts.window ?? 20
  const earlier = all
    .filter(
      (h) => h.id !== current.id && h.decision.rule === current.decision.rule && h.created_at <= current.created_at,
    )
    .sort((a, b) => b.created_at - a.created_at)
    .slice(0, window)
  const mine = fieldsOf(current)
  const scored = earlier.map((h) => {
    const theirs = fieldsOf(h)
    const changes = differences(theirs, mine)
    const keys = new Set([...mine.keys(), ...theirs.keys()]).size || 1
    return { hold: h, sameAgent: h.agent.id === current.agent.id, likeness: 1 - changes.length / keys, changes }
  })
  const similar = [...scored]
    .sort((a, b) => Number(b.sameAgent) - Number(a.sameAgent) || b.likeness - a.likeness)
    .slice(0, opts.show ?? 5)

  const approved = earlier.filter((h) => APPROVED.has(h.state)).map(fieldsOf)
  const unusual: string[] = []
  if (approved.length) {
    for (const [field, value] of mine) {
      const seen = approved.map((f) => f.get(field)).filter((v) => v !== undefined)
      if (typeof value === 'number') {
        const nums = seen.filter((v): v is number => typeof v === 'number')
        if (!nums.length) continue
        const max = Math.max(...nums)
        const min = Math.min(...nums)
        const n = approved.length === 1 ? 'the last approved one was' : `the last ${approved.length} approved were`
        if (value > max) unusual.push(`${field} ${value} — ${n} at most ${max}`)
        else if (value < min) unusual.push(`${field} ${value} — ${n} at least ${min}`)
      } else if (typeof value === 'string' && !seen.includes(value)) {
        // Only a field that approved requests kept to a few values: free text differs every time and says nothing.
        const distinct = [...new Set(seen.map((v) => JSON.stringify(v)))]
        if (seen.length >= 2 && distinct.length <= 3 && seen.length >= 2 * distinct.length) {
          unusual.push(
            `${field} ${JSON.stringify(value)} — the last ${approved.length} approved had only ${distinct.join(', ')}`,
          )
        }
      }
    }
  }
  return { considered: earlier.length, approvedCount: approved.length, similar, unusual }
}
