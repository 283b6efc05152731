// Credentials never reach a policy input, a log line, a webhook or an error body. Header values are replaced, not
// dropped, so a rule can still test that a header was present.
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
