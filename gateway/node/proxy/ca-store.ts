// Where the interception CA lives: <data_dir>/ca/ca.key (mode 0600, in a 0700 folder) and ca.crt (0644, the file
// clients trust). The key is read only here and never logged or printed.
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { AirlockError } from '../../core/errors.ts'
import { type CertificateAuthority, createCa, loadCa } from './certificates.ts'

export const CA_VALIDITY_DAYS = 5 * 365

export function caPaths(dataDir: string): { dir: string; cert: string; key: string } {
  const dir = join(dataDir, 'ca')
  return { dir, cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') }
}

/** Creates the CA; refuses to replace one unless `force` (clients that trust the old one would stop working). */
export function initCa(dataDir: string, opts: { force?: boolean } = {}): { certPath: string; created: boolean } {
  const paths = caPaths(dataDir)
  if (existsSync(paths.key) && !opts.force) return { certPath: paths.cert, created: false }
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 })
  chmodSync(paths.dir, 0o700)
  const stamp = new Date().toISOString().slice(0, 10)
  const { certPem, keyPem } = createCa({
    commonName: `Airlock egress CA (${hostname()}, ${stamp})`,
    validityDays: CA_VALIDITY_DAYS,
  })
  // The key is written with its final mode from the start: never readable by others, not even briefly.
  writeFileSync(paths.key, keyPem, { mode: 0o600 })
  chmodSync(paths.key, 0o600)
  writeFileSync(paths.cert, certPem, { mode: 0o644 })
  return { certPath: paths.cert, created: true }
}

export function readCa(dataDir: string): CertificateAuthority {
  const paths = caPaths(dataDir)
  if (!existsSync(paths.key) || !existsSync(paths.cert)) {
    throw new AirlockError(
      'AIRLOCK_CA_UNUSABLE',
      `TLS interception is configured but there is no CA in ${paths.dir}: run \`airlock ca init\` and make clients trust ${paths.cert}`,
    )
  }
  const mode = statSync(paths.key).mode & 0o777
  if (mode & 0o077)
    throw new AirlockError(
      'AIRLOCK_CA_UNUSABLE',
      `${paths.key} is readable by other users (mode ${mode.toString(8)}); run chmod 600 on it`,
    )
  try {
    return loadCa(readFileSync(paths.cert, 'utf8'), readFileSync(paths.key, 'utf8'))
  } catch (err) {
    throw new AirlockError(
      'AIRLOCK_CA_UNUSABLE',
      `the interception CA in ${paths.dir} cannot be used: ${(err as Error).message}`,
    )
  }
}
