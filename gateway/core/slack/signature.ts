// Slack request signing, exactly as Slack documents it: X-Slack-Signature is "v0=" + hex HMAC-SHA256 with the app's
// signing secret over "v0:" + X-Slack-Request-Timestamp + ":" + the raw body; a timestamp more than five minutes
// from now is refused (replays), and the comparison runs in constant time.
import { constantTimeEqual, hmacSha256Hex } from '../digest.ts'

export const TOLERANCE_S = 300

export async function slackSignature(secret: string, timestamp: string, rawBody: string): Promise<string> {
  return `v0=${await hmacSha256Hex(secret, `v0:${timestamp}:${rawBody}`)}`
}

export async function verifySlackRequest(
  secret: string,
  headers: Headers,
  rawBody: string,
  nowS: number,
): Promise<boolean> {
  const ts = headers.get('x-slack-request-timestamp') ?? ''
  const given = headers.get('x-slack-signature') ?? ''
  if (!/^\d{1,12}$/.test(ts) || Math.abs(nowS - Number(ts)) > TOLERANCE_S) return false
  return constantTimeEqual(await slackSignature(secret, ts, rawBody), given)
}
