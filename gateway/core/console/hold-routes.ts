// One hold's page and what an approver does on it: approve or deny (with the minimum dwell for high-risk holds and
// the optional grant), and record what happened upstream. Every decision goes through the same HoldService methods as
// the API, so its checks (groups, two-person rule, context hash, conflicts) apply here unchanged.
import type { Context, Hono } from 'hono'
import { AirlockError } from '../errors.ts'
import type { GrantRequest } from '../holds/grants.ts'
import type { HoldService } from '../holds/service.ts'
import type { Hold } from '../holds/types.ts'
import { mayDecide } from './access.ts'
import type { Seat } from './context.ts'
import { dwellLeft } from './dwell.ts'
import type { ConsoleDeps, Gate } from './gate.ts'
import { holdPage } from './hold-page.ts'
import { BASE } from './layout.ts'
import { errorPage, form, redirect, send } from './respond.ts'

export function mountHoldRoutes(app: Hono, deps: ConsoleDeps, gate: Gate): void {
  const { service, config } = deps
  const { now, signedIn } = gate

  const renderHold = async (
    c: Context,
    seat: Seat,
    id: string,
    status: number,
    notice?: { kind: 'error' | 'ok'; text: string },
    comment?: string,
    cookies: string[] = [],
  ) => {
    // The same call as GET /_airlock/api/holds/:id: scoped to the approver's groups (another group's hold is "not
    // found"), it records the first view (hold.viewed) and hashes the context.
    let v: Awaited<ReturnType<HoldService['view']>>
    try {
      v = await service.view(id, seat.approver)
    } catch (err) {
      if (err instanceof AirlockError) return errorPage(c, seat, err.status, err.message)
      throw err
    }
    const fresh = await service.get(id, seat.approver)
    return send(
      c,
      await holdPage({
        seat: { ...seat, now: now() },
        hold: fresh,
        presentation: v.hold,
        contextSha256: v.context_sha256,
        notice,
        comment,
      }),
      status,
      cookies,
    )
  }
  app.get(
    `${BASE}/holds/:id`,
    signedIn(async (c, seat, cookies) => {
      const done = c.req.query('done')
      const notices: Record<string, string> = {
        approve: 'Your approval is recorded.',
        deny: 'You denied it; the agent has been told (with your comment, if you wrote one).',
        resolve: 'The outcome is recorded.',
      }
      const notice = done ? notices[done] : undefined
      return renderHold(
        c,
        seat,
        c.req.param('id')!,
        200,
        notice ? { kind: 'ok', text: notice } : undefined,
        undefined,
        cookies,
      )
    }),
  )
  app.post(
    `${BASE}/holds/:id/decide`,
    signedIn(async (c, seat) => {
      const id = c.req.param('id')!
      const str = await form(c)
      const verb = str('verb')
      const comment = str('comment') ?? ''
      // Scoped like every approver read: another group's hold is "not found" here too, before any check of it.
      let hold: Hold
      try {
        hold = await service.get(id, seat.approver)
      } catch (err) {
        if (err instanceof AirlockError) return errorPage(c, seat, err.status, err.message)
        throw err
      }
      if (verb !== 'approve' && verb !== 'deny')
        return renderHold(c, seat, id, 400, { kind: 'error', text: 'Choose Approve or Deny.' }, comment)
      if (verb === 'approve' && mayDecide(hold.groups, seat.approver)) {
        const left = dwellLeft(hold, config, seat.approver.id, now())
        if (left > 0) {
          return renderHold(
            c,
            seat,
            id,
            409,
            {
              kind: 'error',
              text: `Not approved: this is a ${hold.decision.risk}-risk hold; read it for ${Math.ceil(left / 1000)} more second(s) before approving.`,
            },
            comment,
          )
        }
      }
      try {
        const grant = verb === 'approve' ? grantFromForm(str) : undefined
        await service[verb](id, seat.approver, { comment, context_sha256: str('context_sha256') ?? null, grant })
      } catch (err) {
        if (!(err instanceof AirlockError)) throw err
        return renderHold(
          c,
          seat,
          id,
          err.status,
          { kind: 'error', text: `Not ${verb === 'approve' ? 'approved' : 'denied'}: ${err.message}` },
          comment,
        )
      }
      return redirect(`${BASE}/holds/${id}?done=${verb}`)
    }),
  )

  app.post(
    `${BASE}/holds/:id/resolve`,
    signedIn(async (c, seat) => {
      const id = c.req.param('id')!
      const str = await form(c)
      const outcome = str('outcome')
      if (outcome !== 'executed' && outcome !== 'failed')
        return renderHold(c, seat, id, 400, { kind: 'error', text: 'Choose what happened upstream.' })
      try {
        await service.resolve(id, seat.approver, outcome, str('comment')?.trim() || null)
      } catch (err) {
        if (!(err instanceof AirlockError)) throw err
        return renderHold(c, seat, id, err.status, { kind: 'error', text: `Not recorded: ${err.message}` })
      }
      return redirect(`${BASE}/holds/${id}?done=resolve`)
    }),
  )
}

/** The approve form's optional grant fieldset (hold-page.ts), as the service takes it; undefined when left empty. */
function grantFromForm(str: (name: string) => string | undefined): GrantRequest | undefined {
  const minutes = str('grant_minutes')?.trim()
  const uses = str('grant_uses')?.trim()
  if (!minutes && !uses) return undefined
  const list = (v: string | undefined) =>
    v
      ?.split(',')
      .map((f) => f.trim())
      .filter(Boolean)
  const same = list(str('grant_same'))
  const max = list(str('grant_max'))
  // An empty or non-numeric field becomes NaN, which the service refuses with a message naming it.
  return {
    minutes: Number(minutes || NaN),
    max_uses: Number(uses || NaN),
    bounds: same?.length || max?.length ? { same, max } : undefined,
  }
}
