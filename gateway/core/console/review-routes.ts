// The after-the-fact reviews page: the list of sampled auto-allowed calls and an approver's verdict on one of them.
import type { Hono } from 'hono'
import { AirlockError } from '../errors.ts'
import type { ConsoleDeps, Gate } from './gate.ts'
import { BASE } from './layout.ts'
import { form, send } from './respond.ts'
import { reviewsPage } from './reviews-page.ts'

export function mountReviewRoutes(app: Hono, deps: ConsoleDeps, gate: Gate): void {
  const { service } = deps
  const { signedIn } = gate
  app.get(
    `${BASE}/reviews`,
    signedIn(async (c, seat, cookies) => send(c, await reviewsPage(seat), 200, cookies)),
  )
  app.post(
    `${BASE}/reviews/:id`,
    signedIn(async (c, seat) => {
      const str = await form(c)
      const verdict = str('verdict')
      if (verdict !== 'ok' && verdict !== 'flag')
        return send(c, await reviewsPage(seat, { kind: 'error', text: 'Choose "Looks right" or "Flag".' }), 400)
      try {
        await service.markReview(c.req.param('id')!, seat.approver, verdict, str('comment')?.trim() || null)
      } catch (err) {
        if (!(err instanceof AirlockError)) throw err
        return send(c, await reviewsPage(seat, { kind: 'error', text: err.message }), err.status)
      }
      return send(
        c,
        await reviewsPage(seat, {
          kind: 'ok',
          text: verdict === 'ok' ? 'Marked as looking right.' : 'Flagged; the rule’s approvers are notified.',
        }),
      )
    }),
  )
}
