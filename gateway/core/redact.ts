// Credentials never reach a policy input, a log line, a webhook or an error body. Values are replaced, not dropped,
// so a rule can still test that a header or query parameter was present. Query parameters are judged by the same
// names as headers (Slack's ?token=, ?api_key=, ?signature=…).
export const REDACTED = '[redacted]'

const credentialHeader =
  /^(authorization|proxy-authorization|cookie|set-cookie|x-api-key|api-key|airlock-agent-key)$|(^|[-_])(token|secret|password|passwd|apikey|api-key|auth|session|signature|credential)s?($|[-_])/i

export function isCredentialHeader(name: string): boolean {
  return credentialHeader.test(name)
}

/** Lower-case header object with credential values replaced. */
export function redactHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {}
  headers.forEach((value, name) => {
    out[name] = isCredentialHeader(name) ? REDACTED : value
  })
  return out
}

const credentialParam =
  /^(key|apikey|api_key|api-key|access_token|token|secret|password|passwd|sig|signature|auth|session|client_secret|code)$|(^|[-_])(token|secret|password|signature|credential)s?($|[-_])/i

export function isCredentialParam(name: string): boolean {
  return credentialParam.test(name)
}

/**
 * The URL with userinfo and credential-looking query values replaced; the URL object itself is left alone (it is
 * what is sent). Forward-proxy mode refuses userinfo; replacing it here keeps any other path from showing it.
 */
export function redactUrl(url: URL): string {
  if (url.username || url.password) {
    const copy = new URL(url.href)
    if (copy.username) copy.username = REDACTED
    if (copy.password) copy.password = REDACTED
    return redactQueryOf(copy)
  }
  return redactQueryOf(url)
}

function redactQueryOf(url: URL): string {
  if (!url.search) return url.href
  let redacted = false
  const params = new URLSearchParams(url.search)
  for (const name of new Set(params.keys())) {
    if (!isCredentialParam(name)) continue
    const count = params.getAll(name).length
    params.delete(name)
    for (let i = 0; i < count; i++) params.append(name, REDACTED)
    redacted = true
  }
  if (!redacted) return url.href
  const copy = new URL(url.href)
  copy.search = params.toString()
  return copy.href
}

/** Query parameters as arrays, credential-looking values replaced. */
export function redactQuery(params: URLSearchParams): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const [k, v] of params) (out[k] ??= []).push(isCredentialParam(k) ? REDACTED : v)
  return out
}
