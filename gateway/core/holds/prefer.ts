// RFC 7240 Prefer: `wait=N` (seconds the agent will wait for approval) and `respond-async` (answer 202 at once).
export function parsePrefer(header: string | null): { wait: number | undefined; respondAsync: boolean } {
  let wait: number | undefined
  let respondAsync = false
  for (const part of (header ?? '').split(',')) {
    const [name = '', value] = part
      .split(';')[0]!
      .trim()
      .split('=', 2)
      .map((s) => s.trim().replace(/^"|"$/g, ''))
    if (name.toLowerCase() === 'respond-async') respondAsync = true
    if (name.toLowerCase() === 'wait' && value !== undefined && /^\d+$/.test(value)) wait = Number(value)
  }
  return { wait, respondAsync }
}
