// Stripe's Smokescreen, the egress proxy an operator would pick instead of Airlock, as configuration (g): built once
// from the version pinned in tools/smokescreen/go.mod (a Go tool module, like tools/opa) into .cache/bin, started with
// an egress ACL that allows the benchmark's upstream and nothing else (its closest equivalent of Airlock's example
// policy allowing the route). Smokescreen is a forward proxy: agents send absolute-form requests
// (`GET http://host/path`, RFC 9112 §3.2.2), so the benchmark's request paths are rewritten for it (`target`).
// Without TLS client certificates it cannot tell roles apart; `allow_missing_role` applies the ACL's default rule.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { repoRoot } from '../gateway/node/toolchain/opa.ts'
import { freePort, type Proc, start, waitForPort } from './procs.ts'

const MODULE = join(repoRoot, 'tools/smokescreen')

export function smokescreenVersion(): string {
  const m = /github\.com\/stripe\/smokescreen (v[\w.+-]+)/.exec(readFileSync(join(MODULE, 'go.mod'), 'utf8'))
  if (!m?.[1]) throw new Error('tools/smokescreen/go.mod does not require github.com/stripe/smokescreen')
  return m[1]
}

/** Path of the pinned Smokescreen; builds it on first use (needs Go and the Go module proxy, as OPA does). */
export function findSmokescreen(log: (msg: string) => void = (m) => process.stderr.write(m + '\n')): string {
  const version = smokescreenVersion()
  const bin = join(repoRoot, '.cache/bin', `smokescreen-${version}`)
  if (!existsSync(bin)) {
    mkdirSync(dirname(bin), { recursive: true })
    log(`building Smokescreen ${version} from tools/smokescreen (once; needs Go and the Go module proxy)…`)
    try {
      execFileSync('go', ['build', '-o', bin, 'github.com/stripe/smokescreen'], {
        cwd: MODULE,
        stdio: ['ignore', 'inherit', 'inherit'],
        env: { ...process.env, GOFLAGS: '-mod=mod' },
      })
    } catch (err) {
      throw new Error(`could not build Smokescreen ${version} with Go (is Go installed?): ${(err as Error).message}`)
    }
  }
  return bin
}

export interface RunningSmokescreen {
  proc: Proc
  url: string
}

/** Starts Smokescreen on a free loopback port with an ACL allowing only 127.0.0.1 (the upstream). */
export async function startSmokescreen(
  bin: string,
  dir: string,
  cpus: string | undefined,
): Promise<RunningSmokescreen> {
  const port = await freePort()
  mkdirSync(dir, { recursive: true })
  const acl = join(dir, 'acl.yaml')
  writeFileSync(
    acl,
    [
      '---',
      'version: v1',
      'services: []',
      'default:',
      '  name: bench',
      '  project: airlock-bench',
      '  action: enforce',
      '  allowed_domains:',
      '    - 127.0.0.1',
      '',
    ].join('\n'),
  )
  const config = join(dir, 'smokescreen.yaml')
  // allow_ranges: the upstream is on loopback, which Smokescreen's SSRF guard refuses by default.
  writeFileSync(
    config,
    [
      `ip: 127.0.0.1`,
      `port: ${port}`,
      `allow_ranges: ["127.0.0.0/8"]`,
      `allow_missing_role: true`,
      `acl_file: ${acl}`,
      '',
    ].join('\n'),
  )
  // Its one decision line per request (logrus, on stderr) goes to /dev/null, as Airlock's does; `exec` keeps the pid.
  const proc = start('smokescreen', 'sh', ['-c', 'exec "$0" "$@" 2>/dev/null', bin, '--config-file', config], { cpus })
  try {
    await waitForPort(port, proc)
  } catch (err) {
    await proc.stop()
    throw err
  }
  return { proc, url: `http://127.0.0.1:${port}` }
}
