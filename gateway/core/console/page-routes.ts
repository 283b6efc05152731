// The console's read-only pages (queue, report, audit) and its static assets: nothing here changes a hold.
import type { Hono } from 'hono'
import { CSS, JS } from './assets.ts'
import { auditPage } from './audit-page.ts'
import type { Gate } from './gate.ts'
import { BASE } from './layout.ts'
import { queuePage } from './queue-page.ts'
import { reportPage } from './report-page.ts'
import { redirect, send } from './respond.ts'

export function mountAssets(app: Hono): void {
  app.get(
    `${BASE}/assets/console.css`,
    () => new Response(CSS, { headers: { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'max-age=300' } }),
  )
  app.get(
    `${BASE}/assets/console.js`,
    () =>
      new Response(JS, {
        headers: { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'max-age=300' },
      }),
  )
}

export function mountQueue(app: Hono, gate: Gate): void {
  app.get(
    BASE,
    gate.signedIn(async (c, seat, cookies) => send(c, await queuePage(seat), 200, cookies)),
  )
  app.get(`${BASE}/`, () => redirect(BASE))
}

export function mountReadPages(app: Hono, gate: Gate): void {
  const { signedIn } = gate
  app.get(
    `${BASE}/report`,
    signedIn(async (c, seat, cookies) => send(c, await reportPage(seat), 200, cookies)),
  )
  app.get(
    `${BASE}/audit`,
    signedIn(async (c, seat, cookies) =>
      send(
        c,
        await auditPage(seat, { verify: c.req.query('verify') === '1', holdId: c.req.query('hold') || undefined }),
        200,
        cookies,
      ),
    ),
  )
}
