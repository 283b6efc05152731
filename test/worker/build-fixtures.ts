// Builds what test/worker/entry.ts imports, before the Workers tests (the Vitest integration does not run wrangler's
// [build]): the test config and rules, through the same build step as the deployed bundle, into build/worker-test/.
// Runs under Node.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { buildPolicy } from '../../gateway/node/toolchain/build.ts'
import { repoRoot } from '../../gateway/node/toolchain/opa.ts'
import { buildWorkerBundle } from '../../gateway/node/toolchain/worker-bundle.ts'
import { policySource } from '../support/gateway.ts'
import { config, RULES, SHADOW_RULES } from './fixtures.ts'

const out = join(repoRoot, 'build/worker-test')
const configPath = join(mkdtempSync(join(tmpdir(), 'airlock-worker-test-')), 'airlock.yaml')
// The example MCP package runs as it is in policies/ (its route is in the config).
const mcpRules = { 'payments_mcp.rego': readFileSync(join(repoRoot, 'policies/payments_mcp.rego'), 'utf8') }
const shadowDir = mkdtempSync(join(tmpdir(), 'airlock-worker-shadow-'))
await buildPolicy(policySource(SHADOW_RULES), shadowDir)
writeFileSync(
  configPath,
  stringify({ ...config, policy: { source: policySource({ ...RULES, ...mcpRules }), shadow: { dir: shadowDir } } }),
)
const { revision } = await buildWorkerBundle(configPath, out)
console.log(`worker test bundle in ${out} (policy revision ${revision.slice(0, 12)})`)
