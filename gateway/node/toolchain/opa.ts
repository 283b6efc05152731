// Locates the OPA compiler: an `opa` on PATH wins (operators may pin their own); otherwise the version pinned in
// tools/opa/go.mod is built once with `go build` into .cache/bin, so every machine compiles with the same OPA.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { AirlockError } from '../../core/errors.ts'

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')
const toolsModule = join(repoRoot, 'tools/opa')

function pinnedVersion(): string {
  const gomod = readFileSync(join(toolsModule, 'go.mod'), 'utf8')
  const m = /github\.com\/open-policy-agent\/opa (v[\w.-]+)/.exec(gomod)
  if (!m?.[1])
    throw new AirlockError('AIRLOCK_TOOLCHAIN', `tools/opa/go.mod does not require github.com/open-policy-agent/opa`)
  return m[1]
}

function onPath(): string | undefined {
  if (process.env.AIRLOCK_OPA) return process.env.AIRLOCK_OPA
  const r = spawnSync('opa', ['version'], { encoding: 'utf8' })
  return r.status === 0 ? 'opa' : undefined
}

let cached: string | undefined

/** Path of an opa binary to run; builds the pinned one on first use. */
export function findOpa(log: (msg: string) => void = (m) => process.stderr.write(m + '\n')): string {
  if (cached) return cached
  const found = onPath()
  if (found) return (cached = found)
  const version = pinnedVersion()
  const bin = join(repoRoot, '.cache/bin', `opa-${version}`)
  if (!existsSync(bin)) {
    mkdirSync(dirname(bin), { recursive: true })
    log(`building OPA ${version} from tools/opa (once; needs Go >= 1.24 and the Go module proxy)…`)
    try {
      execFileSync('go', ['build', '-o', bin, 'github.com/open-policy-agent/opa'], {
        cwd: toolsModule,
        stdio: ['ignore', 'inherit', 'inherit'],
        env: { ...process.env, GOFLAGS: '-mod=mod' },
      })
    } catch (err) {
      throw new AirlockError(
        'AIRLOCK_TOOLCHAIN',
        `could not build OPA ${version} with Go (is Go >= 1.24 installed?): ${(err as Error).message}`,
      )
    }
  }
  return (cached = bin)
}
