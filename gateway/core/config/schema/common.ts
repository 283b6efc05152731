// Field types every section of the config schema shares (schema.ts composes the sections).
import { z } from 'zod'

export const name = z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, 'use lower-case letters, digits, "-", "_" or "."')
export const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
export const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits (sha256 of the key)')
export const hostName = z
  .string()
  .toLowerCase()
  .regex(
    /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/,
    'must be a host name such as stripe.airlock.internal (no port, no scheme)',
  )

/** A key Airlock checks: either read from the environment at start, or given as its SHA-256 digest. */
export const keyRef = {
  key_env: envName.optional().describe('environment variable holding the key'),
  key_sha256: sha256Hex.optional().describe('hex SHA-256 of the key (lets the config be committed without the key)'),
}
export const oneKey = (v: { key_env?: string | undefined; key_sha256?: string | undefined }) =>
  (v.key_env === undefined) !== (v.key_sha256 === undefined)
