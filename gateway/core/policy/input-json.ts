// The policy input as JSON text, written once per decision. A JSON body is spliced in as the agent's own text (already
// validated by JSON.parse in the body stage) instead of being serialised again from its parsed value.

/** A raw body spliced into the input JSON in place of this marker (see withRawBody). */
const RAW_BODY = Symbol('airlock.rawJsonBody')
const MARKER = `"\\u0000airlock-raw-body-${Math.random().toString(36).slice(2)}"`
const MARKER_VALUE = JSON.parse(MARKER) as string

/**
 * Marks an input whose request.body was parsed from `text` (valid JSON, checked by the caller): the policy then reads
 * the agent's own bytes instead of a re-serialisation of the parsed value (a 64 KiB body was parsed in JS, serialised
 * again and parsed a second time inside wasm).
 */
export function withRawBody<T extends object>(input: T, text: string): T {
  Object.defineProperty(input, RAW_BODY, { value: text, enumerable: false })
  return input
}

export function inputJson(input: object): string {
  const raw = (input as { [RAW_BODY]?: string })[RAW_BODY]
  const request = (input as { request?: { body?: unknown } }).request
  if (raw === undefined || !request) return JSON.stringify(input)
  const json = JSON.stringify({ ...input, request: { ...request, body: MARKER_VALUE } })
  const at = json.indexOf(MARKER)
  return json.slice(0, at) + raw + json.slice(at + MARKER.length)
}
