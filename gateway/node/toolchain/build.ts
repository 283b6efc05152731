// `airlock policy build`: compiles Rego to wasm with the pinned OPA against Airlock's capabilities (so a policy
// using a built-in Airlock cannot execute fails here, naming it and its file:line), then unpacks the bundle into
// the policy folder. manifest.json is written last and names the revision (sha256 of wasm and data): a loader that
// sees a manifest whose revision does not match the files has caught a build mid-write and waits for the next one.
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { extract } from 'tar'
import { AirlockError } from '../../core/errors.ts'
import { ENTRYPOINT } from '../../core/policy/evaluator.ts'
import { policyRevision } from '../policy-files.ts'
import { findOpa } from './opa.ts'
import { RouteIndexError, routeIndex } from './route-index.ts'

const run = promisify(execFile)

/** Files in the policy source folder that are not part of the compiled policy. */
const IGNORED = ['*_test.rego', 'capabilities.json']

export function capabilitiesPath(source: string): string {
  return join(source, 'capabilities.json')
}

export interface BuildResult {
  revision: string
  dir: string
}

export async function buildPolicy(source: string, outDir: string): Promise<BuildResult> {
  const opa = findOpa()
  const work = await mkdtemp(join(tmpdir(), 'airlock-build-'))
  try {
    const bundle = join(work, 'bundle.tar.gz')
    // The route index goes into the compiled data as data.airlock.route_index (an extra root: <work>/index/airlock/…).
    let index: ReturnType<typeof routeIndex>
    try {
      index = routeIndex(resolve(source))
    } catch (err) {
      if (err instanceof RouteIndexError) throw new AirlockError('AIRLOCK_POLICY_BUILD_FAILED', err.message)
      throw err
    }
    await mkdir(join(work, 'index', 'airlock', 'route_index'), { recursive: true })
    await writeFile(join(work, 'index', 'airlock', 'route_index', 'data.json'), JSON.stringify(index))
    const args = [
      'build',
      '-t',
      'wasm',
      '-e',
      ENTRYPOINT,
      '--capabilities',
      resolve(capabilitiesPath(source)),
      '-o',
      bundle,
    ]
    for (const pattern of IGNORED) args.push('--ignore', pattern)
    // Built from inside the source folder, naming it ".": the wasm embeds file paths (for error locations), and they
    // are then relative to the folder, so the same source gives the same revision wherever it is checked out.
    args.push('.', join(work, 'index'))
    try {
      await run(opa, args, { cwd: resolve(source), maxBuffer: 16 * 1024 * 1024 })
    } catch (err) {
      const e = err as { stderr?: string; stdout?: string; message: string }
      throw new AirlockError(
        'AIRLOCK_POLICY_BUILD_FAILED',
        `opa build failed for ${source}:\n${(e.stderr || e.stdout || e.message).trim()}`,
      )
    }
    await extract({
      file: bundle,
      cwd: work,
      filter: (p) => ['policy.wasm', 'data.json'].includes(p.replace(/^\/+/, '')),
    })
    const wasm = await readFile(join(work, 'policy.wasm'))
    const data = await readFile(join(work, 'data.json')).catch(() => Buffer.from('{}'))
    const revision = policyRevision(wasm, data)
    await mkdir(outDir, { recursive: true })
    // Each file lands by rename, so a reader never sees half a file; the manifest goes last.
    for (const [name, bytes] of [
      ['policy.wasm', wasm],
      ['data.json', data],
    ] as const) {
      await writeFile(join(outDir, `.${name}.tmp`), bytes)
      await rename(join(outDir, `.${name}.tmp`), join(outDir, name))
    }
    const manifest = { revision, entrypoint: ENTRYPOINT, built_at: new Date().toISOString(), source: resolve(source) }
    await writeFile(join(outDir, '.manifest.json.tmp'), JSON.stringify(manifest, null, 2) + '\n')
    await rename(join(outDir, '.manifest.json.tmp'), join(outDir, 'manifest.json'))
    return { revision, dir: outDir }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

/** `airlock policy test`: runs the Rego unit tests with the pinned OPA. `output` is stdout and stderr together. */
export async function testPolicy(
  source: string,
  extraArgs: string[] = [],
): Promise<{ ok: boolean; output: string; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      findOpa(),
      ['test', ...extraArgs, '--ignore', 'capabilities.json', resolve(source)],
      {
        maxBuffer: 64 * 1024 * 1024,
      },
    )
    return { ok: true, output: stdout + stderr, stdout, stderr }
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string }
    const [stdout, stderr] = [e.stdout ?? '', e.stderr ?? '']
    return { ok: false, output: stdout + stderr || e.message, stdout, stderr: stderr || (stdout ? '' : e.message) }
  }
}
