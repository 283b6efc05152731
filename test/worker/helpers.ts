// Shared by the Workers tests (inside workerd): requests to the Worker under test, what the fake network received,
// and the log lines the Worker wrote.
import { exports } from 'cloudflare:workers'
import { vi } from 'vitest'
import { approverTokens, CONTROL, keys } from './fixtures.ts'
import type { Received } from './outbound.ts'

/** A request to the Worker under test, as an agent (or approver) would send it. */
export const gateway = (path: string, init: RequestInit = {}) =>
  exports.default.fetch(`https://airlock.test${path}`, init)

let n = 0
/** A POST through the `api` route; the body carries a marker so a test can find its own requests upstream. */
export const post = (path: string, opts: { marker?: string; body?: string; prefer?: string } = {}) =>
  gateway(`/api${path}`, {
    method: 'POST',
    headers: {
      'airlock-agent-key': keys.billing,
      'content-type': 'application/json',
      'airlock-intent': 'refund a duplicate charge',
      ...(opts.prefer ? { prefer: opts.prefer } : {}),
    },
    body: opts.body ?? JSON.stringify({ marker: opts.marker ?? `m-${++n}-${crypto.randomUUID()}`, amount: 5000 }),
  })

/** The approver API, with an approver's token. */
export const api = (path: string, who: keyof typeof approverTokens, body?: object) =>
  gateway(`/_airlock/api${path}`, {
    method: body ? 'POST' : 'GET',
    headers: { authorization: `Bearer ${approverTokens[who]}`, 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  })

export async function received(host: 'upstream.test' | 'hooks.test' | 'slack.test' | 'mcp.test'): Promise<Received[]> {
  return (await fetch(`${CONTROL}/received/${host}`)).json()
}

/** Upstream requests whose body contains the marker. */
export const toUpstream = async (marker: string) =>
  (await received('upstream.test')).filter((r) => r.body.includes(marker))

/** Webhook deliveries about a hold, parsed. */
export async function hooksFor(holdId: string, event?: string) {
  return (await received('hooks.test'))
    .map((r) => ({ r, body: JSON.parse(r.body) }))
    .filter((x) => x.body.hold?.id === holdId && (!event || x.body.type === event))
}

export async function until(pred: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!(await pred())) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** Captures the JSON lines the Worker and the holds object write to the console. */
export function captureLogs(): { lines: Record<string, any>[]; restore(): void } {
  const lines: Record<string, any>[] = []
  const spies = (['log', 'warn', 'error'] as const).map((m) =>
    vi.spyOn(console, m).mockImplementation((line: unknown) => {
      try {
        lines.push(JSON.parse(String(line)))
      } catch {
        // not one of ours
      }
    }),
  )
  return { lines, restore: () => spies.forEach((s) => s.mockRestore()) }
}
