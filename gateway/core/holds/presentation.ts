// What an approver is shown: the proposed action, its context and the policy's reasoning. The same presentation
// goes into webhooks and the API, and its hash is recorded with every decision ("having seen what").

import { sha256HexSync } from '../digest.ts'
import { redactHeaders, redactUrl } from '../redact.ts'
import { canonicalJson } from './audit.ts'
import type { Hold } from './types.ts'

export interface Presentation {
  id: string
  summary: string
  reason: string
  rule: string
  risk: string
  agent: { id: string; owner: string }
  intent: string | null
  route: string
  request: {
    method: string
    url: string
    headers: Record<string, string>
    body_preview: string | null
    body_size: number
    body_sha256: string
    body_truncated: boolean
  }
  approvers: string[]
  approvals_required: number
  require_comment: boolean
  created_at: string
  expires_at: string
  policy_revision: string
  decision_id: string
  /** A held MCP message (a JSON-RPC body): its method, and for tools/call the tool and its arguments. */
  mcp?: { method: string; tool: string | null; arguments: unknown } | undefined
}

/** A readable body: pretty-printed JSON or form data, text as is, binary as a size; cut at `limit` bytes. */
export function bodyPreview(
  body: Uint8Array | null,
  contentType: string | undefined,
  limit: number,
): { text: string | null; truncated: boolean } {
  if (!body || body.byteLength === 0) return { text: null, truncated: false }
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body)
  } catch {
    return { text: `<${body.byteLength} bytes of binary data>`, truncated: false }
  }
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase()
  try {
    if (type === 'application/json' || type.endsWith('+json')) text = JSON.stringify(JSON.parse(text), null, 2)
    else if (type === 'application/x-www-form-urlencoded')
      text = JSON.stringify(Object.fromEntries(new URLSearchParams(text)), null, 2)
  } catch {
    // not what it claims to be: show it as it came
  }
  const bytes = new TextEncoder().encode(text)
  if (bytes.byteLength <= limit) return { text, truncated: false }
  return { text: new TextDecoder().decode(bytes.slice(0, limit)).replace(/\uFFFD$/, '') + '…', truncated: true }
}

export function present(hold: Hold, previewBytes: number): Presentation {
  const headers = new Headers(hold.headers)
  const preview = bodyPreview(hold.body, headers.get('content-type') ?? undefined, previewBytes)
  const d = hold.decision
  return {
    id: hold.id,
    summary: d.summary,
    reason: d.reason,
    rule: d.rule,
    risk: d.risk,
    agent: hold.agent,
    intent: hold.intent,
    route: hold.route,
    request: {
      method: hold.method,
      url: redactUrl(new URL(hold.url)),
      headers: redactHeaders(headers),
      body_preview: preview.text,
      body_size: hold.body?.byteLength ?? 0,
      body_sha256: hold.body_sha256,
      body_truncated: preview.truncated,
    },
    approvers: hold.groups,
    approvals_required: d.approvals_required,
    require_comment: d.require_comment,
    created_at: new Date(hold.created_at).toISOString(),
    expires_at: new Date(hold.expires_at).toISOString(),
    policy_revision: hold.policy_revision,
    decision_id: hold.decision_id,
    ...mcpMessage(hold.body),
  }
}

/** The JSON-RPC message of a held MCP call, for approvers (docs/mcp.md); nothing for any other body. */
function mcpMessage(body: Uint8Array | null): { mcp: Presentation['mcp'] } | object {
  if (!body || body.byteLength === 0 || body[0] !== 0x7b) return {}
  try {
    const m = JSON.parse(new TextDecoder().decode(body)) as {
      jsonrpc?: unknown
      method?: unknown
      params?: { name?: unknown; arguments?: unknown }
    }
    if (m.jsonrpc !== '2.0' || typeof m.method !== 'string') return {}
    const call = m.method === 'tools/call'
    return {
      mcp: {
        method: m.method,
        tool: call && typeof m.params?.name === 'string' ? m.params.name : null,
        arguments: call ? (m.params?.arguments ?? {}) : null,
      },
    }
  } catch {
    return {}
  }
}

export function contextHash(p: Presentation): string {
  return sha256HexSync(canonicalJson(p))
}
