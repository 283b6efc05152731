// The approver console at /_airlock/console, mounted by the holds API next to its JSON routes (so on Workers it is
// served from the holds Durable Object, like the API). Every decision goes through the same HoldService methods as
// the API — groups, owner ≠ approver, two-person rule, required comment, expiry, context hash, conflicts — and the
// console adds what only a page can: a session, CSRF tokens, and a minimum dwell time for high-risk holds.
import type { Context, Hono } from 'hono'
import { html } from 'hono/html'
import type { AgentConfig, ApproverConfig, Config } from '../config/schema.ts'
import { describeForLog, secretValues } from '../credentials.ts'
import { AirlockError, toAirlockError } from '../errors.ts'
import type { GrantRequest } from '../holds/grants.ts'
import type { HoldService } from '../holds/service.ts'
import type { Hold } from '../holds/types.ts'
import type { KeyRing } from '../keys.ts'
import type { Logger, Secrets } from '../ports.ts'
import { mayDecide } from './access.ts'
import { CSS, JS } from './assets.ts'
import { auditPage } from './audit-page.ts'
import type { Seat } from './context.ts'
import { dwellLeft } from './dwell.ts'
import { holdPage } from './hold-page.ts'
import { BASE, type Html, page } from './layout.ts'
import { loginPage } from './login-page.ts'
import { queuePage } from './queue-page.ts'
import { reportPage } from './report-page.ts'
import { reviewsPage } from './reviews-page.ts'
import {
  cookie,
  LOGIN_COOKIE,
  randomToken,
  readCookie,
  SESSION_COOKIE,
  type Session,
  SessionSigner,
  SignInLimiter,
} from './session.ts'

export interface ConsoleDeps {
  service: HoldService
  config: Config
  secrets: Secrets
  logger: Logger
  approvers: KeyRing<ApproverConfig>
  agents: KeyRing<AgentConfig>
  /** The client's address for sign-in rate limiting (the adapter knows it: socket on Node, CF-Connecting-IP on Workers). */
  clientAddress?: ((req: Request, env: unknown) => string | undefined) | undefined
}

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
}

export function mountConsole(app: Hono, deps: ConsoleDeps): void {
  const { service, config, logger } = deps
  const secret = config.console.session_secret_env ? deps.secrets(config.console.session_secret_env) : undefined
  if (config.console.session_secret_env && !secret) {
    logger.warn(
      { event: 'config' },
      `console session key: environment variable ${config.console.session_secret_env} is not set; using a random key (a restart signs everyone out)`,
    )
  }
  const signer = new SessionSigner(secret ?? randomToken() + randomToken())
  const limiter = new SignInLimiter(config.console.max_sign_in_failures)
  const now = () => service.deps.clock.now()
  const secure = (c: Context) =>
    new URL(c.req.url).protocol === 'https:' || (config.server.public_url ?? '').startsWith('https:')
  const address = (c: Context) => deps.clientAddress?.(c.req.raw, c.env) ?? 'unknown'
  const byId = (id: string) => config.approvers.find((a) => a.id === id)

  const send = async (_c: Context, body: Html, status = 200, cookies: string[] = []) => {
    const headers = new Headers({ ...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8' })
    for (const k of cookies) headers.append('set-cookie', k)
    return new Response(String(await body), { status, headers })
  }
  const redirect = (to: string, cookies: string[] = []) => {
    const headers = new Headers({ ...SECURITY_HEADERS, location: to })
    for (const k of cookies) headers.append('set-cookie', k)
    return new Response(null, { status: 303, headers })
  }
  const newSession = async (c: Context, a: ApproverConfig, via: Session['via']) => {
    const s: Session = { sub: a.id, exp: now() + config.console.session_ttl_s * 1000, csrf: randomToken(), via }
    return {
      session: s,
      cookie: cookie(SESSION_COOKIE, await signer.seal(s), {
        secure: secure(c),
        maxAgeS: config.console.session_ttl_s,
      }),
    }
  }

  /** The signed-in approver: the trusted identity header (when configured), else the session cookie. */
  const seatOf = async (c: Context): Promise<{ seat: Seat; cookies: string[] } | undefined> => {
    const session = await signer.open(readCookie(c.req.header('cookie'), SESSION_COOKIE), now())
    const header = config.console.identity_header
    if (header) {
      const who = c.req.header(header)?.trim().toLowerCase()
      const a = who
        ? config.approvers.find((x) => x.id.toLowerCase() === who || x.email?.toLowerCase() === who)
        : undefined
      if (a && session?.sub === a.id)
        return { seat: { service, config, approver: a, csrf: session.csrf, now: now() }, cookies: [] }
      if (a) {
        const fresh = await newSession(c, a, 'sso')
        await service.audit('console.signed_in', `approver:${a.id}`, null, { via: 'sso' })
        return { seat: { service, config, approver: a, csrf: fresh.session.csrf, now: now() }, cookies: [fresh.cookie] }
      }
    }
    const a = session && byId(session.sub)
    return a && session
      ? { seat: { service, config, approver: a, csrf: session.csrf, now: now() }, cookies: [] }
      : undefined
  }
  const form = async (c: Context) => {
    const body = await c.req.parseBody()
    const str = (k: string) => (typeof body[k] === 'string' ? (body[k] as string) : undefined)
    return str
  }
  const errorPage = (c: Context, seat: Seat | undefined, status: number, text: string) =>
    send(
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

  /** Runs a page handler for a signed-in approver; others are sent to sign in (GET) or refused (POST). */
  const signedIn = (fn: (c: Context, seat: Seat, cookies: string[]) => Promise<Response>) => async (c: Context) => {
    try {
      const s = await seatOf(c)
      if (!s) {
        if (c.req.method === 'GET')
          return redirect(`${BASE}/login?next=${encodeURIComponent(new URL(c.req.url).pathname)}`)
        return errorPage(c, undefined, 401, 'Your session has ended; sign in again.')
      }
      if (c.req.method === 'POST') {
        const str = await form(c)
        if (str('csrf') !== s.seat.csrf)
          return errorPage(
            c,
            s.seat,
            403,
            'This form was not sent from your console session (CSRF token missing or wrong); nothing was changed. Reload the page and try again.',
          )
      }
      return await fn(c, s.seat, s.cookies)
    } catch (err) {
      const e = toAirlockError(err)
      // Scrubbed of known secret values like every thrown message logged (credentials.ts).
      if (e.code === 'AIRLOCK_INTERNAL')
        logger.error(
          { event: 'console', err: describeForLog(e.cause, secretValues(config, deps.secrets)) },
          'console error',
        )
      return errorPage(c, undefined, e.status, e.message)
    }
  }

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

  const showLogin = async (c: Context, status: number, error?: string) => {
    const nonce = randomToken()
    const next = c.req.query('next') ?? (c.req.method === 'POST' ? (await form(c))('next') : undefined)
    return send(
      c,
      loginPage({
        csrf: await signer.loginToken(nonce),
        error,
        next: safeNext(next),
        sso: !!config.console.identity_header,
      }),
      status,
      [cookie(LOGIN_COOKIE, nonce, { secure: secure(c), maxAgeS: 3600 })],
    )
  }
  app.get(`${BASE}/login`, async (c) => ((await seatOf(c)) ? redirect(BASE) : showLogin(c, 200)))
  app.post(`${BASE}/login`, async (c) => {
    const str = await form(c)
    if (!(await signer.checkLoginToken(readCookie(c.req.header('cookie'), LOGIN_COOKIE), str('csrf')))) {
      return showLogin(c, 403, 'The sign-in form expired or was not sent from this page; try again.')
    }
    const from = address(c)
    if (limiter.blocked(from, now())) {
      logger.warn({ event: 'console_sign_in_blocked', client: from }, 'console sign-in refused: too many wrong tokens')
      return showLogin(c, 429, 'Too many wrong tokens from your address; wait ten minutes and try again.')
    }
    const token = str('token')?.trim() ?? ''
    const approver = token ? await deps.approvers.find(token) : undefined
    if (!approver) {
      limiter.fail(from, now())
      logger.warn({ event: 'console_sign_in_failed', client: from }, 'console sign-in with a wrong token')
      return showLogin(c, 401, 'That is not a valid approver token. Agent keys cannot sign in here.')
    }
    const { cookie: session } = await newSession(c, approver, 'token')
    await service.audit('console.signed_in', `approver:${approver.id}`, null, { via: 'token' })
    return redirect(safeNext(str('next')) ?? BASE, [
      session,
      cookie(LOGIN_COOKIE, '', { secure: secure(c), maxAgeS: 0 }),
    ])
  })
  app.post(
    `${BASE}/logout`,
    signedIn(async (c, seat) => {
      const session = await signer.open(readCookie(c.req.header('cookie'), SESSION_COOKIE), now())
      if (session) signer.revoke(session, now())
      await service.audit('console.signed_out', `approver:${seat.approver.id}`, null, {})
      return redirect(`${BASE}/login`, [cookie(SESSION_COOKIE, '', { secure: secure(c), maxAgeS: 0 })])
    }),
  )

  app.get(
    BASE,
    signedIn(async (c, seat, cookies) => send(c, await queuePage(seat), 200, cookies)),
  )
  app.get(`${BASE}/`, () => redirect(BASE))

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

/** Only a path inside the console: never an absolute URL (an open redirect). */
function safeNext(next: string | undefined): string | undefined {
  if (next === undefined || /[\\\r\n]/.test(next)) return undefined
  return next === BASE || next.startsWith(`${BASE}/`) ? next : undefined
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
