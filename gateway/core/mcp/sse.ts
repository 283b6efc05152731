// Server-Sent Events as the Streamable HTTP transport uses them: each event's `data` is one JSON-RPC message
// (WHATWG HTML §9.2.6 gives the format: events end at a blank line, `data:` lines join with "\n"). Airlock only reads
// a stream when it must change a message (a filtered tools/list, a held call's result for a retry's new id); every
// other event is passed through byte for byte, as it arrives.

export const SSE_TYPE = 'text/event-stream'

export function isSse(contentType: string | null): boolean {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase() === SSE_TYPE
}

/** One event as the server sent it, and its data (null when it has no data line, e.g. a priming event). */
export interface SseEvent {
  text: string
  data: string | null
}

/** Splits complete events off the front of a buffer; returns them and what is left (an event still arriving). */
export function splitEvents(buffer: string): { events: SseEvent[]; rest: string } {
  const events: SseEvent[] = []
  const boundary = /\r\n\r\n|\n\n|\r\r/g
  let start = 0
  for (let m = boundary.exec(buffer); m; m = boundary.exec(buffer)) {
    const text = buffer.slice(start, m.index + m[0].length)
    events.push({ text, data: dataOf(text) })
    start = m.index + m[0].length
  }
  return { events, rest: buffer.slice(start) }
}

function dataOf(text: string): string | null {
  const lines = text.split(/\r\n|\r|\n/).filter((l) => l.startsWith('data:'))
  if (!lines.length) return null
  return lines.map((l) => l.slice(5).replace(/^ /, '')).join('\n')
}

/** One JSON-RPC message as an SSE event (`event: message` is what the SDKs write and expect). */
export function sseEvent(message: unknown): string {
  return `event: message\ndata: ${JSON.stringify(message)}\n\n`
}

/** Parses a JSON-RPC message out of an event's data; undefined when it is not JSON. */
export function eventMessage(e: SseEvent): unknown {
  if (e.data === null) return undefined
  try {
    return JSON.parse(e.data)
  } catch {
    return undefined
  }
}

/**
 * A stream of events with some messages changed: `change` returns the replacement message, or undefined to pass the
 * event through unchanged. Events go out as soon as they are complete (no buffering beyond one event).
 */
export function mapSse(
  body: ReadableStream<Uint8Array>,
  change: (message: unknown) => Promise<unknown> | unknown,
): ReadableStream<Uint8Array> {
  const decoder = new TextDecoder()
  const encoder = new TextEncoder()
  let buffer = ''
  const emit = async (events: SseEvent[], out: TransformStreamDefaultController<Uint8Array>) => {
    for (const e of events) {
      const message = eventMessage(e)
      const replaced = message === undefined ? undefined : await change(message)
      out.enqueue(encoder.encode(replaced === undefined ? e.text : withData(e.text, replaced)))
    }
  }
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      async transform(chunk, out) {
        const { events, rest } = splitEvents(buffer + decoder.decode(chunk, { stream: true }))
        buffer = rest
        await emit(events, out)
      },
      async flush(out) {
        buffer += decoder.decode()
        if (buffer) out.enqueue(encoder.encode(buffer))
      },
    }),
  )
}

/** The event with its data replaced; its other fields (id for resumption, event name) are kept. */
function withData(text: string, message: unknown): string {
  const kept = text.split(/\r\n|\r|\n/).filter((l) => l && !l.startsWith('data:'))
  return [...kept, `data: ${JSON.stringify(message)}`].join('\n') + '\n\n'
}

/** Every JSON-RPC message in a complete body, JSON (one message or a batch) or SSE. */
export function messagesIn(body: Uint8Array, contentType: string | null): unknown[] {
  const text = new TextDecoder().decode(body)
  if (isSse(contentType)) {
    const { events, rest } = splitEvents(text + (text.endsWith('\n\n') ? '' : '\n\n'))
    void rest
    return events.map(eventMessage).filter((m) => m !== undefined)
  }
  try {
    const v = JSON.parse(text) as unknown
    return Array.isArray(v) ? v : [v]
  } catch {
    return []
  }
}
