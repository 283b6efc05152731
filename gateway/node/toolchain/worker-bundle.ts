// Build step for the Worker, run under Node before `wrangler dev`/`deploy` (wrangler.toml [build]) and before the
// Workers tests; never bundled. It uses the Node toolchain (the OPA compiler), so it lives here and not in the
// Workers adapter, which imports nothing from gateway/node. It writes the whole bundle the entry imports into build/worker/, from one config:
//   config.json   the config validated by the core's parseConfig (a bad file fails here, naming file:line, not in
//                 production) as JSON, so the Worker runs no YAML parser or schema at start-up
//   policy/       the config's policy.source compiled to wasm (policy.wasm, data.json, manifest.json)
//   shadow/       the compiled policy.shadow folder, or an empty placeholder when there is none
//
//   node gateway/node/toolchain/worker-bundle.ts [config.yaml]      default: $AIRLOCK_CONFIG, else config/airlock.yaml
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { parseConfig } from '../../core/config/load.ts'
import type { Config } from '../../core/config/schema.ts'
import { isIpLiteral } from '../../core/private-address.ts'
import { buildPolicy } from './build.ts'
import { repoRoot } from './opa.ts'

export const WORKER_BUILD_DIR = join(repoRoot, 'build/worker')

/** Things that work on Node but not on Workers: said at build time rather than discovered in production. */
export function workersWarnings(config: Config): string[] {
  const out: string[] = []
  for (const r of config.routes) {
    const host = new URL(r.upstream).hostname
    if (isIpLiteral(host))
      out.push(
        `route "${r.name}": upstream ${r.upstream} is an IP address; Workers' fetch cannot reach IP addresses once deployed, use a host name`,
      )
  }
  if (config.store.kind === 'postgres') {
    out.push(
      'store.kind is postgres: on Workers holds live in the Durable Object (one consistent home already); the store section is not used there',
    )
  }
  for (const [g, group] of Object.entries(config.approver_groups)) {
    group.webhooks.forEach((w, i) => {
      if (isIpLiteral(new URL(w.url).hostname))
        out.push(
          `approver_groups.${g}.webhooks[${i}]: ${w.url} is an IP address; Workers' fetch cannot reach IP addresses once deployed`,
        )
    })
  }
  return out
}

export interface WorkerBundleBuild {
  config: Config
  revision: string
  warnings: string[]
}

export async function buildWorkerBundle(configPath: string, outDir = WORKER_BUILD_DIR): Promise<WorkerBundleBuild> {
  const config = parseConfig(readFileSync(configPath, 'utf8'), configPath)
  const { revision } = await buildPolicy(resolve(dirname(configPath), config.policy.source), join(outDir, 'policy'))
  // The paths are the Node adapter's (data and policy folders): on Workers the policy is bundled and the state lives
  // in the Durable Object, so they are blanked rather than shipping this machine's paths.
  const shadow = config.policy.shadow ? { ...config.policy.shadow, dir: '' } : undefined
  const bundled: Config = {
    ...config,
    data_dir: '',
    policy: { ...config.policy, dir: '', source: '', watch: false, ...(shadow ? { shadow } : {}) },
  }
  mkdirSync(outDir, { recursive: true })
  bundleShadow(
    config.policy.shadow ? resolve(dirname(configPath), config.policy.shadow.dir) : undefined,
    join(outDir, 'shadow'),
  )
  const file = join(outDir, 'config.json')
  writeFileSync(`${file}.tmp`, JSON.stringify(bundled, null, 2) + '\n')
  renameSync(`${file}.tmp`, file)
  return { config: bundled, revision, warnings: workersWarnings(config) }
}

/**
 * policy.shadow is a build folder (airlock policy build --source DIR --out DIR): copied beside the policy, checked
 * against its manifest. The entry imports shadow/ statically, so without a shadow policy it holds an empty module
 * (the 8-byte wasm header) that the Worker never loads.
 */
function bundleShadow(from: string | undefined, to: string): void {
  mkdirSync(to, { recursive: true })
  if (!from) {
    writeFileSync(join(to, 'policy.wasm'), new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]))
    writeFileSync(join(to, 'data.json'), 'null\n')
    writeFileSync(join(to, 'manifest.json'), '{"revision": ""}\n')
    return
  }
  let manifest: { revision?: unknown }
  try {
    manifest = JSON.parse(readFileSync(join(from, 'manifest.json'), 'utf8'))
  } catch (err) {
    throw new Error(
      `policy.shadow.dir ${from} holds no compiled policy (${(err as Error).message}); build it with airlock policy build --source DIR --out ${from}`,
    )
  }
  if (typeof manifest.revision !== 'string' || !manifest.revision)
    throw new Error(`${join(from, 'manifest.json')} has no revision`)
  for (const f of ['policy.wasm', 'data.json', 'manifest.json']) writeFileSync(join(to, f), readFileSync(join(from, f)))
}

if (import.meta.main) {
  const path = resolve(process.argv[2] ?? process.env.AIRLOCK_CONFIG ?? join(repoRoot, 'config/airlock.yaml'))
  try {
    const { revision, warnings } = await buildWorkerBundle(path)
    for (const w of warnings) console.warn(`warning: ${w}`)
    console.log(`worker bundle: ${path} → ${WORKER_BUILD_DIR} (policy revision ${revision.slice(0, 12)})`)
  } catch (err) {
    console.error((err as Error).message)
    process.exit(1)
  }
}
