// tools/list filtering: a model should not be offered a tool it can never use. Each listed tool is put to the policy
// as a tools/call of that tool by this agent with empty arguments and `input.mcp.listing == true`; a tool whose
// decision is `deny` (or fails) is removed from the result. A convenience, not the enforcement: every tools/call is
// still decided on its own, with its real arguments (docs/mcp.md).
import type { McpInput } from './jsonrpc.ts'

/** The per-tool query's input.mcp, derived from the tools/list message's own. */
export function listingInput(list: McpInput, tool: string): McpInput {
  return {
    ...list,
    kind: 'request',
    method: 'tools/call',
    id: null,
    tool,
    arguments: {},
    params: { name: tool, arguments: {} },
    listing: true,
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * The tools/list result with the tools `keep` refuses removed; undefined when `message` is not the result of the
 * tools/list request `id` (left unchanged). Also returns how many tools were hidden, for the decision log.
 */
export async function filterToolsResult(
  message: unknown,
  id: unknown,
  keep: (tool: string) => Promise<boolean> | boolean,
): Promise<{ message: unknown; hidden: string[] } | undefined> {
  if (!isObject(message) || message.id !== id || !isObject(message.result) || !Array.isArray(message.result.tools))
    return undefined
  const kept: unknown[] = []
  const hidden: string[] = []
  for (const t of message.result.tools) {
    const name = isObject(t) && typeof t.name === 'string' ? t.name : null
    if (name !== null && (await keep(name))) kept.push(t)
    else hidden.push(name ?? '(unnamed)')
  }
  return { message: { ...message, result: { ...message.result, tools: kept } }, hidden }
}
