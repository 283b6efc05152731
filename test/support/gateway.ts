// Starts a real gateway (Node adapter, real compiled Rego, loopback port) for integration tests, with its log
// lines captured so tests can assert on them.

import { cpSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Writable } from 'node:stream'
import { type Config, type ConfigInput, configSchema } from '../../gateway/core/config/schema.ts'
import { createLogger } from '../../gateway/node/logger.ts'
import { type RunningGateway, type StartOptions, startGateway } from '../../gateway/node/server.ts'
import { repoRoot } from '../../gateway/node/toolchain/opa.ts'

export const COMPILED_POLICY = resolve(repoRoot, 'build/policy')

export const keys = {
  billing: 'test-billing-key',
  dev: 'test-dev-key',
} as const

export const testAgents: ConfigInput['agents'] = [
  { id: 'billing-bot', owner: 'alice@example.com', labels: { team: 'payments' }, key_env: 'TEST_KEY_BILLING' },
  { id: 'dev-bot', owner: 'bob@example.com', key_env: 'TEST_KEY_DEV' },
]

export const testSecrets: Record<string, string> = {
  TEST_KEY_BILLING: keys.billing,
  TEST_KEY_DEV: keys.dev,
  UPSTREAM_TOKEN: 'sk_live_real_upstream_secret',
  APPROVER_ALICE: 'approver-alice-token',
  APPROVER_BOB: 'approver-bob-token',
  APPROVER_CAROL: 'approver-carol-token',
  WEBHOOK_SECRET: 'whsec_test_signing_secret',
}

export const approverTokens = {
  alice: 'approver-alice-token',
  bob: 'approver-bob-token',
  carol: 'approver-carol-token',
} as const

/** alice owns billing-bot, so she may never approve its requests. */
export const testApprovers: ConfigInput['approvers'] = [
  { id: 'alice', email: 'alice@example.com', groups: ['ops', 'payments'], token_env: 'APPROVER_ALICE' },
  { id: 'bob', email: 'bob@example.com', groups: ['ops', 'payments'], token_env: 'APPROVER_BOB' },
  { id: 'carol', email: 'carol@example.com', groups: ['ops'], token_env: 'APPROVER_CAROL' },
]

/** A policy source folder: the real library and capabilities, plus the given rule files. */
export function policySource(rules: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-rego-'))
  cpSync(join(repoRoot, 'policies/lib'), join(dir, 'lib'), {
    recursive: true,
    filter: (p) => !p.endsWith('_test.rego'),
  })
  cpSync(join(repoRoot, 'policies/capabilities.json'), join(dir, 'capabilities.json'))
  for (const [name, text] of Object.entries(rules)) writeFileSync(join(dir, name), text)
  return dir
}

export function testConfig(input: ConfigInput): Config {
  return configSchema.parse({
    data_dir: mkdtempSync(join(tmpdir(), 'airlock-data-')),
    policy: { dir: COMPILED_POLICY, watch: false },
    agents: testAgents,
    ...input,
  })
}

export interface TestGateway extends RunningGateway {
  logs: Record<string, any>[]
  /** Log lines with msg "decision". */
  decisions(): Record<string, any>[]
}

export async function startTestGateway(config: Config, extra: Partial<StartOptions> = {}): Promise<TestGateway> {
  const logs: Record<string, any>[] = []
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line))
      cb()
    },
  })
  const logger = createLogger('debug', sink)
  const gw = await startGateway({
    config,
    logger,
    secrets: (n) => testSecrets[n],
    port: 0,
    shutdownGraceMs: 100,
    ...extra,
  })
  return Object.assign(gw, { logs, decisions: () => logs.filter((l) => l.msg === 'decision') })
}
