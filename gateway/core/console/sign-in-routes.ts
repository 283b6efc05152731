// Signing in and out: the token form (its own CSRF nonce, a per-address limit on wrong tokens), the session cookie it
// sets, and sign-out (the session revoked and audited).
import type { Context, Hono } from 'hono'
import type { ConsoleDeps, Gate } from './gate.ts'
import { BASE } from './layout.ts'
import { loginPage } from './login-page.ts'
import { form, redirect, send } from './respond.ts'
import { cookie, LOGIN_COOKIE, randomToken, readCookie, SESSION_COOKIE } from './session.ts'

export function mountSignIn(app: Hono, deps: ConsoleDeps, gate: Gate): void {
  const { service, config, logger } = deps
  const { signer, limiter, now, secure, address, newSession, seatOf, signedIn } = gate

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
}

/** Only a path inside the console: never an absolute URL (an open redirect). */
function safeNext(next: string | undefined): string | undefined {
  if (next === undefined || /[\\\r\n]/.test(next)) return undefined
  return next === BASE || next.startsWith(`${BASE}/`) ? next : undefined
}
