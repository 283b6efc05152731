// Upstream credentials are checked as header values before anything uses them (issue 10 item 1). A value with a
// line break, NUL or a character outside Latin-1 makes `Headers.set` (or `btoa` for Basic) throw an error whose
// message quotes the value; caught anywhere, that message would carry the secret into a hold's error, a webhook, an
// agent's response, the log and the database. So: refuse such a value up front, naming the env var and what is
// wrong with it, never the value; and keep thrown messages that Airlock did not write away from anything outside
// (publicErrorText), scrubbing known secret values from what is logged (scrubSecrets).
import type { Config, RouteConfig } from './config/schema.ts'
import { AirlockError, describeThrown, isAirlockError } from './errors.ts'
import type { Secrets } from './ports.ts'
import { REDACTED } from './redact.ts'

/** What is wrong with a value as an HTTP header value (RFC 9110 §5.5, as fetch's Headers enforces it), or null. */
export function headerValueProblem(value: string): string | null {
  const codes = [...value].map((c) => c.codePointAt(0)!)
  if (codes.some((c) => c === 0x0a || c === 0x0d)) return 'it contains a line break (CR or LF)'
  if (codes.includes(0)) return 'it contains a NUL character'
  if (codes.some((c) => (c < 0x20 && c !== 0x09) || c === 0x7f)) return 'it contains a control character'
  if (codes.some((c) => c > 0xff)) return 'it contains a character outside Latin-1 (not a valid header value)'
  if (/^[\t ]|[\t ]$/.test(value)) return 'it starts or ends with whitespace (which would be stripped when sent)'
  return null
}

/** The problem with a route's credential (null when it is fine or unset; unset is reported when it is used). */
export function credentialProblem(route: RouteConfig, secrets: Secrets): string | null {
  if (!route.credential) return null
  const value = secrets(route.credential.env)
  if (!value) return null
  const problem = headerValueProblem(value)
  return (
    problem && `route "${route.name}": the credential in ${route.credential.env} cannot be sent as a header: ${problem}`
  )
}

/** Every route whose credential cannot be sent; the Node server refuses to start on any. */
export function credentialProblems(config: Config, secrets: Secrets): string[] {
  return config.routes.map((r) => credentialProblem(r, secrets)).filter((p): p is string => p !== null)
}

/** The refusal for a request on a route whose credential cannot be sent (Workers read secrets per request). */
export function credentialInvalid(route: RouteConfig): AirlockError {
  return new AirlockError(
    'AIRLOCK_CREDENTIAL_INVALID',
    `the upstream credential for route "${route.name}" is misconfigured on the gateway (${route.credential?.env ?? 'its env var'} is not a valid header value); the request was not forwarded; ask its operator`,
  )
}

/**
 * Text about a failure for anything outside the gateway (an agent, an approver, a webhook, the hold store): an
 * AirlockError's message (written by Airlock, never holding a secret), otherwise only the error's type and code —
 * a third-party message may quote whatever value it choked on.
 */
export function publicErrorText(err: unknown): string {
  if (isAirlockError(err)) return err.message
  const name = err instanceof Error ? err.name : typeof err
  let code: string | undefined
  for (let e: unknown = err; e && !code; e = (e as { cause?: unknown }).cause) {
    const c = (e as { code?: unknown }).code
    if (typeof c === 'string' && /^[A-Z0-9_]{2,40}$/.test(c)) code = c
  }
  return `unexpected ${name}${code ? ` (${code})` : ''}; details are in the gateway's log`
}

/** Every configured secret value, with the forms it is sent in, longest first (for scrubSecrets). */
export function secretValues(config: Config, secrets: Secrets): string[] {
  const values = new Set<string>()
  const add = (env: string | undefined) => {
    const v = env ? secrets(env) : undefined
    if (v && v.length >= 4) values.add(v)
    return v
  }
  for (const r of config.routes) {
    const v = add(r.credential?.env)
    if (v && r.credential?.scheme === 'basic') {
      try {
        values.add(btoa(v))
      } catch {
        // not Latin-1: refused before it could be sent
      }
    }
  }
  for (const a of config.agents) add(a.key_env)
  for (const a of config.approvers) add(a.token_env)
  for (const g of Object.values(config.approver_groups)) for (const h of g.webhooks) add(h.secret_env)
  add(config.slack?.bot_token_env)
  add(config.slack?.signing_secret_env)
  add(config.console.session_secret_env)
  return [...values].sort((a, b) => b.length - a.length)
}

/** A thrown message for the gateway's own log, with every known secret value replaced. */
export function scrubSecrets(text: string, values: readonly string[]): string {
  let out = text
  for (const v of values) out = out.split(v).join(REDACTED)
  return out
}

/** describeThrown for logs: scrubbed of known secret values. */
export function describeForLog(err: unknown, values: readonly string[]): string {
  return scrubSecrets(describeThrown(err), values)
}

// An unset credential is not an error at start (the route may be unused, the secret set later), but it is said once,
// naming the route and the variable, instead of surfacing as a 503 AIRLOCK_CREDENTIAL_MISSING on the first request.

export interface UnsetCredential {
  route: string
  env: string
}

/** The routes whose credential's variable is unset or empty. */
export function unsetCredentials(config: Config, secrets: Secrets): UnsetCredential[] {
  return config.routes.flatMap((r) =>
    r.credential && !secrets(r.credential.env) ? [{ route: r.name, env: r.credential.env }] : [],
  )
}

export function unsetCredentialMessage({ route, env }: UnsetCredential): string {
  return `route "${route}": credential environment variable ${env} is not set; its requests will be refused (503 AIRLOCK_CREDENTIAL_MISSING) until it is`
}
