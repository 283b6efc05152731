// The Workers entry (wrangler.toml `main`) with the deployed bundle, which `npm run build:worker` writes into
// build/worker/ before wrangler bundles this file: the validated config and its policy compiled to wasm.

import config from '../../build/worker/config.json' with { type: 'json' }
import data from '../../build/worker/policy/data.json' with { type: 'json' }
import manifest from '../../build/worker/policy/manifest.json' with { type: 'json' }
import wasm from '../../build/worker/policy/policy.wasm'
import shadowData from '../../build/worker/shadow/data.json' with { type: 'json' }
import shadowManifest from '../../build/worker/shadow/manifest.json' with { type: 'json' }
import shadowWasm from '../../build/worker/shadow/policy.wasm'
import type { Config } from '../core/config/schema.ts'
import { defineWorker } from './worker.ts'

const worker = defineWorker({
  config: config as unknown as Config,
  policy: { wasm, data, revision: manifest.revision },
  shadow: shadowManifest.revision
    ? { wasm: shadowWasm, data: shadowData, revision: shadowManifest.revision }
    : undefined,
})

export default worker.handler
/** Bound as HOLDS in wrangler.toml; the class name is part of the Durable Object migration: never rename it. */
export const HoldsObject = worker.HoldsObject
/** Bound as LIMITER in wrangler.toml (per-agent rate limits); also part of a migration: never rename it. */
export { AgentLimiterObject } from './limiter-object.ts'
