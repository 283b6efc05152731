// Console sessions: after an approver signs in with their token, the browser holds a signed cookie naming the
// approver, an expiry and a CSRF token. Nothing is stored server-side, so the same code works in the Node process
// and in the Workers' Durable Object; the signing key is a secret (console.session_secret_env) or, without one, a
// random key per process (a restart then signs everyone out, which fails closed).
import { constantTimeEqual, hmacSha256Hex } from '../digest.ts'

export const SESSION_COOKIE = 'airlock_console'
/** Pre-sign-in CSRF nonce, so the sign-in form itself cannot be posted from another site. */
export const LOGIN_COOKIE = 'airlock_console_login'

export interface Session {
  /** Approver id. */
  sub: string
  /** Expiry, ms since the epoch. */
  exp: number
  /** CSRF token every state-changing form must post back. */
  csrf: string
  /** How the approver signed in: their token, or the trusted identity header (SSO). */
  via: 'token' | 'sso'
}

const b64url = (s: string) =>
  btoa(String.fromCharCode(...new TextEncoder().encode(s)))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '')
const unb64url = (s: string) =>
  new TextDecoder().decode(Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)))

export function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24))
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '')
}

export class SessionSigner {
  readonly #key: string
  /** Signed-out sessions (by CSRF token, which is random per session) until they would have expired. */
  readonly #revoked = new Map<string, number>()
  constructor(key: string) {
    this.#key = key
  }

  /**
   * Sign-out: the cookie is cleared, and the session refused here even if a copy of it is presented later (in this
   * process, or the holds object on Workers; a restart forgets the list but also changes a random key).
   */
  revoke(s: Session, now: number): void {
    this.#revoked.set(s.csrf, s.exp)
    if (this.#revoked.size > 10_000) for (const [k, exp] of this.#revoked) if (exp <= now) this.#revoked.delete(k)
  }

  async seal(s: Session): Promise<string> {
    const payload = b64url(JSON.stringify(s))
    return `${payload}.${await hmacSha256Hex(this.#key, `session.${payload}`)}`
  }

  /** The session in a cookie value, or undefined when it is missing, forged or expired. */
  async open(value: string | undefined, now: number): Promise<Session | undefined> {
    if (!value) return undefined
    const [payload, mac] = value.split('.')
    if (!payload || !mac || !constantTimeEqual(await hmacSha256Hex(this.#key, `session.${payload}`), mac))
      return undefined
    try {
      const s = JSON.parse(unb64url(payload)) as Session
      const valid = typeof s.sub === 'string' && typeof s.csrf === 'string' && typeof s.exp === 'number' && s.exp > now
      return valid && !this.#revoked.has(s.csrf) ? s : undefined
    } catch {
      return undefined
    }
  }

  /** The sign-in form's CSRF field for a nonce kept in LOGIN_COOKIE. */
  loginToken(nonce: string): Promise<string> {
    return hmacSha256Hex(this.#key, `login.${nonce}`)
  }

  async checkLoginToken(nonce: string | undefined, token: string | undefined): Promise<boolean> {
    if (!nonce || !token) return false
    return constantTimeEqual(await this.loginToken(nonce), token)
  }
}

/** Set-Cookie for a console cookie: HttpOnly, SameSite=Strict, scoped to the console, Secure over https. */
export function cookie(name: string, value: string, opts: { secure: boolean; maxAgeS: number }): string {
  return [
    `${name}=${value}`,
    'Path=/_airlock/console',
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${Math.max(0, Math.floor(opts.maxAgeS))}`,
    ...(opts.secure ? ['Secure'] : []),
  ].join('; ')
}

export function readCookie(header: string | null | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=')
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim()
  }
  return undefined
}

/**
 * Wrong tokens per client address in a fixed window. In memory: on Node one process, on Workers the one holds
 * object, so the count is global there too. A limit hit refuses sign-in, right or wrong token, until the window ends.
 */
export class SignInLimiter {
  readonly #failures = new Map<string, { count: number; until: number }>()
  readonly #max: number
  readonly #windowMs: number
  constructor(max: number, windowMs = 10 * 60_000) {
    this.#max = max
    this.#windowMs = windowMs
  }

  blocked(address: string, now: number): boolean {
    const f = this.#failures.get(address)
    if (f && f.until <= now) this.#failures.delete(address)
    return (this.#failures.get(address)?.count ?? 0) >= this.#max
  }

  fail(address: string, now: number): void {
    const f = this.#failures.get(address)
    if (!f || f.until <= now) this.#failures.set(address, { count: 1, until: now + this.#windowMs })
    else f.count++
    if (this.#failures.size > 10_000) {
      for (const [k, v] of this.#failures) if (v.until <= now) this.#failures.delete(k)
    }
  }
}
