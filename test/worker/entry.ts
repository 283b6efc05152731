// The Worker under test: the same defineWorker as gateway/worker/index.ts, with the tests' bundle
// (written by test/worker/build-fixtures.ts). vitest.workers.config.ts makes this the main module.

import config from '../../build/worker-test/config.json' with { type: 'json' }
import data from '../../build/worker-test/policy/data.json' with { type: 'json' }
import manifest from '../../build/worker-test/policy/manifest.json' with { type: 'json' }
import wasm from '../../build/worker-test/policy/policy.wasm'
import shadowData from '../../build/worker-test/shadow/data.json' with { type: 'json' }
import shadowManifest from '../../build/worker-test/shadow/manifest.json' with { type: 'json' }
import shadowWasm from '../../build/worker-test/shadow/policy.wasm'
import type { Config } from '../../gateway/core/config/schema.ts'
import { defineWorker } from '../../gateway/worker/worker.ts'

const worker = defineWorker({
  config: config as unknown as Config,
  policy: { wasm, data, revision: manifest.revision },
  shadow: shadowManifest.revision
    ? { wasm: shadowWasm, data: shadowData, revision: shadowManifest.revision }
    : undefined,
})

export default worker.handler
export const HoldsObject = worker.HoldsObject
export { AgentLimiterObject } from '../../gateway/worker/limiter-object.ts'
