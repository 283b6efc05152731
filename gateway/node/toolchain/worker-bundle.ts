// Build step for the Worker, run under Node before `wrangler dev`/`deploy` (wrangler.toml [build]) and before the
// Workers tests; never bundled. It uses the Node toolchain (the OPA compiler), so it lives here and not in the
// Workers adapter, which imports nothing from gateway/node. It writes the whole bundle the entry imports into build/worker/, from one config:
//   config.json   the config validated by the core's parseConfig (a bad file fails here, naming file:line, not in
//                 production) as JSON, so the Worker runs no YAML parser or schema at start-up
//   policy/       the config's policy.source compiled to wasm (policy.wasm, data.json, manifest.json)
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
    if (isIpLiteral(host)) out.push(`route "${r.name}": upstream ${r.upstream} is an IP address; Workers' fetch cannot reach IP addresses once deployed, use a host name`)
  }
  for (const [g, group] of Object.entries(config.approver_groups)) {
    group.webhooks.forEach((w, i) => {
      if (isIpLiteral(new URL(w.url).hostname)) out.push(`approver_groups.${g}.webhooks[${i}]: ${w.url} is an IP address; Workers' fetch cannot reach IP addresses once deployed`)
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
  const bundled: Config = { ...config, data_dir: '', policy: { ...config.policy, dir: '', source: '', watch: false } }
  mkdirSync(outDir, { recursive: true })
  const file = join(outDir, 'config.json')
  writeFileSync(`${file}.tmp`, JSON.stringify(bundled, null, 2) + '\n')
  renameSync(`${file}.tmp`, file)
  return { config: bundled, revision, warnings: workersWarnings(config) }
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
