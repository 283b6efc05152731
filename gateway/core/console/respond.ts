// How every console response is written: HTML pages and redirects carry the same security headers (a strict CSP, no
// caching, no referrer), and errors are a page with the notice, never a bare body.
import type { Context } from 'hono'
import { html } from 'hono/html'
import type { Seat } from './context.ts'
import { type Html, page } from './layout.ts'

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
}

export async function send(_c: Context, body: Html, status = 200, cookies: string[] = []): Promise<Response> {
  const headers = new Headers({ ...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8' })
  for (const k of cookies) headers.append('set-cookie', k)
  return new Response(String(await body), { status, headers })
}

export function redirect(to: string, cookies: string[] = []): Response {
  const headers = new Headers({ ...SECURITY_HEADERS, location: to })
  for (const k of cookies) headers.append('set-cookie', k)
  return new Response(null, { status: 303, headers })
}

export function errorPage(c: Context, seat: Seat | undefined, status: number, text: string): Promise<Response> {
  return send(
    c,
    page(
      {
        title: status === 404 ? 'Not found' : 'Not allowed',
        notice: { kind: 'error', text },
        approver: seat && { id: seat.approver.id, groups: seat.approver.groups, csrf: seat.csrf },
      },
      html``,
    ),
    status,
  )
}

/** The posted form's string fields (Hono caches the parsed body, so reading it twice is fine). */
export async function form(c: Context): Promise<(k: string) => string | undefined> {
  const body = await c.req.parseBody()
  const str = (k: string) => (typeof body[k] === 'string' ? (body[k] as string) : undefined)
  return str
}
