// What the Workers tests run against: the test Airlock config, its secrets, and the hosts the fake network answers
// for (test/worker/outbound.ts). No node:* imports: this file is read by the Node-side build and config and by the
// tests inside workerd.
import type { ConfigInput } from '../../gateway/core/config/schema.ts'
import { HOLD_RULES } from '../support/holds-policy.ts'

export const UPSTREAM = 'https://upstream.test'
export const HOOKS = 'https://hooks.test'
/** The fake network's own control endpoint: what each host received. */
export const CONTROL = 'http://control.test'

export const keys = { billing: 'test-billing-key', dev: 'test-dev-key', rate: 'test-rate-key' } as const
export const approverTokens = {
  alice: 'approver-alice-token',
  bob: 'approver-bob-token',
  carol: 'approver-carol-token',
} as const

/** Worker secrets in the tests (miniflare bindings), as `wrangler secret put` would set them. */
export const secrets: Record<string, string> = {
  TEST_KEY_BILLING: keys.billing,
  TEST_KEY_DEV: keys.dev,
  TEST_KEY_RATE: keys.rate,
  UPSTREAM_TOKEN: 'sk_live_real_upstream_secret',
  APPROVER_ALICE: approverTokens.alice,
  APPROVER_BOB: approverTokens.bob,
  APPROVER_CAROL: approverTokens.carol,
  WEBHOOK_SECRET: 'whsec_test_signing_secret',
  SLACK_BOT: 'xoxb-test-bot-token',
  SLACK_SIGNING: 'slack-signing-secret-for-tests',
}

/** The holds rules of the Node suites, plus an explicit deny so a refusal names its rule. */
export const RULES = {
  'holdtest.rego': HOLD_RULES,
  'denytest.rego': `package airlock.rules.denytest

deny contains {"rule": "t.delete", "reason": "deleting is not allowed"} if input.request.method == "DELETE"
`,
}

/** The shadow policy bundled for the tests (policy.shadow): denies reads, and throws on DELETE (sprintf %v of null). */
export const SHADOW_RULES = {
  'shadowtest.rego': `package airlock.rules.shadowtest

deny contains {"rule": "s.no_reads", "reason": "the shadow policy refuses reads"} if input.request.method == "GET"

allow contains {"rule": "s.boom", "reason": sprintf("%v", [input.request.body])} if input.request.method == "DELETE"
`,
}

const hook = { url: `${HOOKS}/hook`, secret_env: 'WEBHOOK_SECRET' }

export const config: ConfigInput = {
  server: { public_url: 'https://airlock.example.com' },
  log: { level: 'debug' },
  holds: { wait_s: 0.2, retry_after_s: 7, fast_decision_ms: 50 },
  slack: { bot_token_env: 'SLACK_BOT', signing_secret_env: 'SLACK_SIGNING', api_url: 'https://slack.test/api/' },
  review: { sample_rate: 0 },
  agents: [
    { id: 'billing-bot', owner: 'alice@example.com', labels: { team: 'payments' }, key_env: 'TEST_KEY_BILLING' },
    { id: 'dev-bot', owner: 'bob@example.com', key_env: 'TEST_KEY_DEV' },
    // Rate-limited through the per-agent limiter object (test/worker/limits.test.ts): a token every 10 s.
    { id: 'rate-bot', owner: 'bob@example.com', key_env: 'TEST_KEY_RATE', limits: { rate_per_minute: 6, burst: 2 } },
  ],
  routes: [
    { name: 'api', prefix: '/api', upstream: UPSTREAM, credential: { env: 'UPSTREAM_TOKEN' }, idempotency_key: true },
    // An IP-literal private upstream without allow_private: the SSRF guard must refuse it before any fetch.
    { name: 'private', prefix: '/private', upstream: 'http://169.254.169.254' },
    { name: 'slow', prefix: '/slow', upstream: UPSTREAM, timeout_ms: 300 },
    // An MCP server (the official SDK) with policies/payments_mcp.rego: test/worker/mcp.test.ts.
    {
      name: 'payments-mcp',
      prefix: '/mcp',
      upstream: 'https://mcp.test',
      protocol: 'mcp',
      credential: { env: 'UPSTREAM_TOKEN' },
    },
  ],
  approver_groups: {
    ops: { max_pending: 50, min_dwell_s: 1, max_grant_minutes: 30, webhooks: [hook] },
    payments: { max_pending: 50, min_dwell_s: 0, slack_channel: 'C0PAY', webhooks: [hook] },
  },
  /** alice owns billing-bot, so she may never approve its requests. */
  approvers: [
    { id: 'alice', email: 'alice@example.com', groups: ['ops', 'payments'], token_env: 'APPROVER_ALICE' },
    {
      id: 'bob',
      email: 'bob@example.com',
      groups: ['ops', 'payments'],
      token_env: 'APPROVER_BOB',
      slack_user_id: 'U0BOB',
    },
    { id: 'carol', email: 'carol@example.com', groups: ['ops'], token_env: 'APPROVER_CAROL' },
  ],
}
