// The approver console at /_airlock/console, mounted by the holds API next to its JSON routes (so on Workers it is
// served from the holds Durable Object, like the API). Every decision goes through the same HoldService methods as
// the API — groups, owner ≠ approver, two-person rule, required comment, expiry, context hash, conflicts — and the
// console adds what only a page can: a session, CSRF tokens, and a minimum dwell time for high-risk holds.
// Routes are registered in the order they always were (assets, sign-in, queue, holds, reviews, report, audit).
import type { Hono } from 'hono'
import { type ConsoleDeps, consoleGate } from './gate.ts'
import { mountHoldRoutes } from './hold-routes.ts'
import { mountAssets, mountQueue, mountReadPages } from './page-routes.ts'
import { mountReviewRoutes } from './review-routes.ts'
import { mountSignIn } from './sign-in-routes.ts'

export type { ConsoleDeps } from './gate.ts'

export function mountConsole(app: Hono, deps: ConsoleDeps): void {
  const gate = consoleGate(deps)
  mountAssets(app)
  mountSignIn(app, deps, gate)
  mountQueue(app, gate)
  mountHoldRoutes(app, deps, gate)
  mountReviewRoutes(app, deps, gate)
  mountReadPages(app, gate)
}
