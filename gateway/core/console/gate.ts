// Who is at the console: the session key and sign-in limiter, the signed-in approver (trusted identity header or
// session cookie), and the wrapper every page runs behind (sign in first, CSRF token on every POST, errors as pages).
import type { Context } from 'hono'
import type { AgentConfig, ApproverConfig, Config } from '../config/schema.ts'
import { describeForLog, secretValues } from '../credentials.ts'
import { toAirlockError } from '../errors.ts'
import type { HoldService } from '../holds/service.ts'
import type { KeyRing } from '../keys.ts'
import type { Logger, Secrets } from '../ports.ts'
import type { Seat } from './context.ts'
import { BASE } from './layout.ts'
import { errorPage, form, redirect } from './respond.ts'
import {
  cookie,
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

export type SignedInHandler = (c: Context, seat: Seat, cookies: string[]) => Promise<Response>

export interface Gate {
  signer: SessionSigner
  limiter: SignInLimiter
  now: () => number
  /** Whether cookies get the Secure flag: the request or the configured public URL is https. */
  secure: (c: Context) => boolean
  address: (c: Context) => string
  newSession: (c: Context, a: ApproverConfig, via: Session['via']) => Promise<{ session: Session; cookie: string }>
  seatOf: (c: Context) => Promise<{ seat: Seat; cookies: string[] } | undefined>
  signedIn: (fn: SignedInHandler) => (c: Context) => Promise<Response>
}

export function consoleGate(deps: ConsoleDeps): Gate {
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

  /** Runs a page handler for a signed-in approver; others are sent to sign in (GET) or refused (POST). */
  const signedIn = (fn: SignedInHandler) => async (c: Context) => {
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

  return { signer, limiter, now, secure, address, newSession, seatOf, signedIn }
}
