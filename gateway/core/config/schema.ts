// The configuration schema: one source for validation, every default, and the JSON Schema editors use
// (config/airlock.schema.json is generated from it by `airlock config schema`). Secrets never live in the file:
// it names environment variables (Worker secrets on Workers) or holds SHA-256 digests of keys.
import { z } from 'zod'

const name = z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, 'use lower-case letters, digits, "-", "_" or "."')
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits (sha256 of the key)')
const hostName = z
  .string()
  .toLowerCase()
  .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/, 'must be a host name such as stripe.airlock.internal (no port, no scheme)')

/** A key Airlock checks: either read from the environment at start, or given as its SHA-256 digest. */
const keyRef = {
  key_env: envName.optional().describe('environment variable holding the key'),
  key_sha256: sha256Hex.optional().describe('hex SHA-256 of the key (lets the config be committed without the key)'),
}
const oneKey = (v: { key_env?: string | undefined; key_sha256?: string | undefined }) =>
  (v.key_env === undefined) !== (v.key_sha256 === undefined)

/** Per-agent resource limits (docs/operations.md, sizing): limits.per_agent for every agent, agents[].limits to override. */
export const agentLimitsSchema = z
  .object({
    max_in_flight: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('requests of one agent being handled at once (a held request waiting for approval counts); past it 429'),
    rate_per_minute: z
      .number()
      .positive()
      .optional()
      .describe('sustained requests per minute (token bucket); past it 429 with Retry-After. Unset: no rate limit'),
    burst: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('requests allowed at once after a quiet spell (bucket size); default 10 seconds of rate_per_minute, at least 1'),
  })
  .strict()

export const agentSchema = z
  .object({
    id: name.describe('stable agent id, shown to policies as input.agent.id'),
    owner: z.string().min(1).describe('the accountable person, e.g. an e-mail address'),
    labels: z.record(z.string(), z.string()).default({}),
    limits: agentLimitsSchema.optional().describe('this agent\'s limits; unset fields come from limits.per_agent'),
    ...keyRef,
  })
  .strict()
  .refine(oneKey, { message: 'set exactly one of key_env or key_sha256', path: ['key_env'] })

export const agentKeyLocations = ['header', 'bearer', 'x-api-key', 'basic'] as const

export const credentialSchema = z
  .object({
    env: envName.describe('environment variable (Worker secret) holding the real upstream credential'),
    header: z.string().toLowerCase().default('authorization'),
    scheme: z
      .enum(['bearer', 'basic', 'raw'])
      .default('bearer')
      .describe('bearer: "Bearer <secret>"; basic: "Basic base64(<secret>)" where the secret is "user:password"; raw: the secret as is'),
  })
  .strict()

export const routeSchema = z
  .object({
    name: name,
    prefix: z
      .string()
      .regex(/^\/[A-Za-z0-9._~\-/]*[^/]$/, 'must start with "/" and not end with "/", e.g. /stripe')
      .refine((p) => !p.startsWith('/_airlock') && !['/healthz', '/readyz', '/metrics'].includes(p), {
        message: 'collides with a path Airlock reserves (/_airlock, /healthz, /readyz, /metrics)',
      })
      .optional()
      .describe('requests whose path starts with this prefix go to the route, prefix removed'),
    hosts: z
      .array(hostName)
      .nonempty()
      .optional()
      .describe('reverse mode: requests whose Host header names one of these go to the route, whole path kept'),
    port: z
      .number()
      .int()
      .min(1)
      .max(65535)
      .optional()
      .describe('reverse mode: a listener port of the route\'s own; every request arriving on it goes to the route, whole path kept'),
    tls: z
      .enum(['intercept', 'tunnel'])
      .optional()
      .describe('forward-proxy mode, CONNECT to this upstream: intercept (decrypt, evaluate every request, inject the credential) or tunnel (one host-level decision, bytes untouched); default proxy.intercept'),
    upstream: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://api.stripe.com' })
      // Refinements run even when the URL check failed: parse defensively so a bad URL is reported, not thrown.
      .refine((u) => !URL.canParse(u) || (({ search, hash, username }) => !search && !hash && !username)(new URL(u)), {
        message: 'must not carry a query, fragment or credentials',
      }),
    agent_key: z
      .array(z.enum(agentKeyLocations))
      .nonempty()
      .default(['header', 'bearer'])
      .describe('where agents on this route may present their Airlock key; the Airlock-Agent-Key header is "header"'),
    credential: credentialSchema.optional().describe('the real upstream credential Airlock injects'),
    agents: z.array(name).optional().describe('only these agents may use the route (default: every agent)'),
    allow_private: z
      .boolean()
      .default(false)
      .describe('allow connections to loopback/private/link-local addresses (SSRF guard off for this route)'),
    timeout_ms: z.number().int().positive().optional(),
    max_body_bytes: z.number().int().positive().optional(),
    allow_encoded_slashes: z
      .boolean()
      .default(false)
      .describe('accept %2F and %5C in request paths (refused by default: an upstream may decode them into a path the policy never judged)'),
    forwarded: z
      .enum(['none', 'x-forwarded', 'forwarded'])
      .default('none')
      .describe('whether to tell the upstream about the agent (X-Forwarded-* or RFC 7239 Forwarded)'),
    idempotency_key: z
      .boolean()
      .default(false)
      .describe('add an Idempotency-Key derived from the hold id when executing an approved hold'),
    protocol: z
      .enum(['http', 'mcp'])
      .default('http')
      .describe('mcp: the upstream is an MCP server (Streamable HTTP); every JSON-RPC message is decided on its own (docs/mcp.md)'),
  })
  .strict()

const webhookSchema = z
  .object({
    url: z.url({ protocol: /^https?$/ }),
    secret_env: envName.describe('environment variable holding the HMAC signing secret'),
    format: z
      .enum(['json', 'slack', 'standard'])
      .default('json')
      .describe('json: the event, Airlock-Signature; slack: a Block Kit message; standard: the event, Standard Webhooks headers (whsec_ secret)'),
    allow_private: z.boolean().default(false),
  })
  .strict()

export const approverGroupSchema = z
  .object({
    max_pending: z.number().int().positive().default(50).describe('cap on pending holds; past it new holds are refused'),
    max_grant_minutes: z
      .number()
      .int()
      .min(0)
      .max(10_080)
      .default(0)
      .describe('longest grant (minutes) an approver of this group may add when approving a grantable hold; 0: no grants'),
    min_dwell_s: z
      .number()
      .min(0)
      .max(600)
      .default(5)
      .describe('console: seconds a high or critical hold must have been open before its approve button works'),
    webhooks: z.array(webhookSchema).default([]),
    slack_channel: z
      .string()
      .regex(/^[A-Z0-9]+$/, 'must be a Slack channel id such as C0123456789')
      .optional()
      .describe('post this group\'s holds to this Slack channel with Approve / Deny buttons (needs the top-level slack section)'),
  })
  .strict()

export const approverSchema = z
  .object({
    id: name,
    email: z.string().optional(),
    groups: z
      .array(name)
      .default([])
      .describe('the approver groups whose holds and reviews this person sees and decides (docs/approvals.md)'),
    role: z
      .enum(['approver', 'auditor'])
      .default('approver')
      .describe('auditor: may also read every hold, review, report and audit record; decides only in its own groups'),
    token_env: envName.optional(),
    token_sha256: sha256Hex.optional(),
    slack_user_id: z
      .string()
      .regex(/^[UW][A-Z0-9]+$/, 'must be a Slack user id such as U0123456789')
      .optional()
      .describe('the Slack user whose button clicks act as this approver'),
  })
  .strict()
  .refine((v) => (v.token_env === undefined) !== (v.token_sha256 === undefined), {
    message: 'set exactly one of token_env or token_sha256',
    path: ['token_env'],
  })
  .refine((v) => v.role === 'auditor' || v.groups.length > 0, {
    message: 'an approver needs at least one group (only an auditor may have none: it reads everything and decides nothing)',
    path: ['groups'],
  })

export const configSchema = z
  .object({
    $schema: z.string().optional(),
    server: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8080),
        public_url: z.url().optional().describe('base URL approvers reach Airlock at (links in webhooks)'),
      })
      .strict()
      .prefault({}),
    data_dir: z.string().default('./data'),
    store: z
      .discriminatedUnion('kind', [
        z.object({ kind: z.literal('sqlite').describe('one gateway: <data_dir>/airlock.db (node:sqlite)') }).strict(),
        z
          .object({
            kind: z.literal('postgres').describe('any number of Node gateways sharing one PostgreSQL database'),
            url_env: z
              .string()
              .regex(/^[A-Z_][A-Z0-9_]*$/)
              .default('AIRLOCK_DATABASE_URL')
              .describe('env var with the postgres:// URL (TLS through it: sslmode, sslrootcert, sslcert, sslkey)'),
            pool: z
              .object({
                max: z.number().int().min(2).max(1000).default(10).describe("most connections each gateway opens"),
                connect_timeout_ms: z.number().int().positive().default(5_000),
              })
              .strict()
              .prefault({}),
            delivery_lease_s: z
              .number()
              .int()
              .min(15)
              .default(60)
              .describe('a webhook delivery claimed by a gateway that died is sent by another after this long'),
            poll_ms: z
              .number()
              .int()
              .min(50)
              .default(1_000)
              .describe('a waiting agent re-reads its hold this often besides LISTEN/NOTIFY (the latency bound if a notification is lost)'),
          })
          .strict(),
      ])
      .default({ kind: 'sqlite' })
      .describe('where holds, reviews and audit live (docs/operations.md: running several gateways)'),
    policy: z
      .object({
        dir: z.string().default('./build/policy').describe('folder with policy.wasm, data.json, manifest.json'),
        source: z.string().default('./policies').describe('Rego sources for `airlock policy build|test`'),
        watch: z.boolean().default(true).describe('reload when the compiled policy changes'),
        shadow: z
          .object({
            dir: z.string().describe('folder with a second compiled policy (airlock policy build --source DIR --out DIR); evaluated after the enforced one, never enforced'),
            sample_rate: z.number().min(0).max(1).default(1).describe('share of requests also evaluated by the shadow policy'),
          })
          .strict()
          .optional()
          .describe('a policy evaluated beside the enforced one to see what it would decide (docs/policy.md)'),
      })
      .strict()
      .prefault({}),
    limits: z
      .object({
        max_body_bytes: z.number().int().positive().default(1024 * 1024),
        upstream_timeout_ms: z.number().int().positive().default(30_000),
        connect_timeout_ms: z.number().int().positive().default(10_000),
        max_buffered_body_bytes: z
          .number()
          .int()
          .positive()
          .default(64 * 1024 * 1024)
          .describe('request-body bytes buffered at once, across every request; past it 503 with Retry-After (nothing is read or forwarded)'),
        max_connections: z
          .number()
          .int()
          .positive()
          .default(1024)
          .describe('Node: open client connections per listener (tunnels included); past it new connections are closed at once'),
        header_timeout_ms: z
          .number()
          .int()
          .positive()
          .default(15_000)
          .describe('Node: time a client has to send a request\'s headers; then 408 and the connection is closed'),
        body_timeout_ms: z
          .number()
          .int()
          .positive()
          .default(60_000)
          .describe('Node: time a client has to send a whole request (headers and body); then 408 and the connection is closed'),
        per_agent: agentLimitsSchema
          .extend({ max_in_flight: z.number().int().positive().default(128).describe('see agents[].limits.max_in_flight') })
          .prefault({})
          .describe('defaults for every agent (agents[].limits overrides field by field)'),
      })
      .strict()
      .refine((l) => l.header_timeout_ms <= l.body_timeout_ms, {
        message: 'header_timeout_ms must not exceed body_timeout_ms (the body timeout covers the headers too)',
        path: ['header_timeout_ms'],
      })
      .prefault({}),
    log: z
      .object({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
        decision_input: z.boolean().default(true).describe('include the (redacted) policy input in decision logs'),
      })
      .strict()
      .prefault({}),
    holds: z
      .object({
        wait_s: z.number().min(0).max(600).default(25).describe('how long an agent request waits for approval'),
        max_wait_s: z.number().min(0).max(3600).default(120).describe('upper bound for Prefer: wait=N'),
        timeout_s: z.number().int().positive().default(900).describe('default expiry when the policy gives none'),
        retry_after_s: z.number().int().positive().default(30),
        fast_decision_ms: z
          .number()
          .int()
          .nonnegative()
          .default(5_000)
          .describe('approvals faster than this after the approver first viewed the hold are flagged as possible rubber stamps'),
        dedupe_window_s: z
          .number()
          .int()
          .nonnegative()
          .default(86_400)
          .describe('an identical request within this window after execution or denial gets the stored outcome instead of a new hold'),
        preview_bytes: z.number().int().positive().default(4096).describe('body preview size in webhooks'),
        relax_threshold: z.number().int().positive().default(20).describe('decisions a rule needs before the report suggests changes'),
      })
      .strict()
      .prefault({}),
    review: z
      .object({
        sample_rate: z.number().min(0).max(1).default(0.1),
      })
      .strict()
      .prefault({}),
    proxy: z
      .object({
        enabled: z
          .boolean()
          .default(false)
          .describe('forward-proxy mode: absolute-form requests (HTTP_PROXY) and CONNECT (HTTPS_PROXY), authenticated with Proxy-Authorization'),
        intercept: z
          .boolean()
          .default(false)
          .describe('decrypt CONNECT tunnels to hosts whose route sets no tls (unknown hosts included) with a leaf minted by the CA in <data_dir>/ca'),
        allow_private: z
          .boolean()
          .default(false)
          .describe('let unknown hosts (no route) resolve to loopback/private/link-local addresses (SSRF guard off for them)'),
      })
      .strict()
      .prefault({}),
    agents: z.array(agentSchema).default([]),
    routes: z.array(routeSchema).default([]),
    slack: z
      .object({
        bot_token_env: envName.describe('environment variable with the Slack app\'s bot token (xoxb-…)'),
        signing_secret_env: envName.describe('environment variable with the Slack app\'s signing secret (verifies button clicks)'),
        api_url: z.url().default('https://slack.com/api/').describe('Slack Web API base URL'),
      })
      .strict()
      .optional(),
    console: z
      .object({
        enabled: z.boolean().default(true).describe('serve the approver console at /_airlock/console'),
        session_ttl_s: z.number().int().positive().max(7 * 86_400).default(8 * 3600).describe('how long a console sign-in lasts'),
        session_secret_env: envName
          .optional()
          .describe('environment variable with the key that signs console sessions; unset: a random key per process (a restart signs everyone out)'),
        identity_header: z
          .string()
          .regex(/^[A-Za-z0-9-]+$/)
          .optional()
          .describe('SSO seam, off by default: a header set by a trusted reverse proxy naming the approver (id or email)'),
        max_sign_in_failures: z.number().int().positive().default(5).describe('wrong tokens per client address per 10 minutes before sign-in is refused'),
      })
      .strict()
      .prefault({}),
    approver_groups: z.record(name, approverGroupSchema).default({}),
    approvers: z.array(approverSchema).default([]),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    unique(cfg.agents.map((a) => a.id), ['agents'], 'agent id', ctx)
    unique(cfg.routes.map((r) => r.name), ['routes'], 'route name', ctx)
    uniqueDefined(cfg.routes.map((r) => r.prefix), 'prefix', 'route prefix', ctx)
    uniqueDefined(cfg.routes.map((r) => (r.port === undefined ? undefined : String(r.port))), 'port', 'route port', ctx)
    cfg.routes.forEach((r, i) => {
      if (r.port === cfg.server.port) ctx.addIssue({ code: 'custom', path: ['routes', i, 'port'], message: `is the main listener's port (server.port)` })
      if (r.prefix === undefined && r.hosts === undefined && r.port === undefined && !cfg.proxy.enabled)
        ctx.addIssue({ code: 'custom', path: ['routes', i], message: 'the route is unreachable: give it a prefix, hosts or a port, or enable proxy mode (proxy.enabled)' })
    })
    const hostOwner = new Map<string, number>()
    cfg.routes.forEach((r, i) =>
      r.hosts?.forEach((h, j) => {
        if (hostOwner.has(h)) ctx.addIssue({ code: 'custom', path: ['routes', i, 'hosts', j], message: `host "${h}" already selects route "${cfg.routes[hostOwner.get(h)!]!.name}"` })
        else hostOwner.set(h, i)
      }),
    )
    // A CONNECT is decided per host: every route of one upstream origin must agree on tunnel or intercept.
    const tlsOf = new Map<string, number>()
    cfg.routes.forEach((r, i) => {
      if (!URL.canParse(r.upstream)) return // reported by the field's own check
      const origin = new URL(r.upstream).origin
      const first = tlsOf.get(origin)
      if (first === undefined) tlsOf.set(origin, i)
      else if (cfg.routes[first]!.tls !== r.tls)
        ctx.addIssue({ code: 'custom', path: ['routes', i, 'tls'], message: `routes "${cfg.routes[first]!.name}" and "${r.name}" share the upstream ${origin} but not its tls setting` })
    })
    unique(cfg.approvers.map((a) => a.id), ['approvers'], 'approver id', ctx)
    const agentIds = new Set(cfg.agents.map((a) => a.id))
    cfg.routes.forEach((r, i) =>
      r.agents?.forEach((a, j) => {
        if (!agentIds.has(a)) ctx.addIssue({ code: 'custom', path: ['routes', i, 'agents', j], message: `unknown agent "${a}"` })
      }),
    )
    for (const [g, group] of Object.entries(cfg.approver_groups)) {
      if (group.slack_channel && !cfg.slack) ctx.addIssue({ code: 'custom', path: ['approver_groups', g, 'slack_channel'], message: 'needs the top-level slack section (bot token and signing secret)' })
    }
    unique(cfg.approvers.flatMap((a) => (a.slack_user_id ? [a.slack_user_id] : [])), ['approvers'], 'slack_user_id', ctx)
    cfg.approvers.forEach((a, i) =>
      a.groups.forEach((g, j) => {
        if (!(g in cfg.approver_groups))
          ctx.addIssue({ code: 'custom', path: ['approvers', i, 'groups', j], message: `unknown approver group "${g}"` })
      }),
    )
  })

function uniqueDefined(values: (string | undefined)[], field: string, what: string, ctx: z.RefinementCtx) {
  const seen = new Map<string, number>()
  values.forEach((v, i) => {
    if (v === undefined) return
    if (seen.has(v)) ctx.addIssue({ code: 'custom', path: ['routes', i, field], message: `duplicate ${what} "${v}" (also at index ${seen.get(v)})` })
    else seen.set(v, i)
  })
}

function unique(values: string[], path: (string | number)[], what: string, ctx: z.RefinementCtx) {
  const seen = new Map<string, number>()
  values.forEach((v, i) => {
    if (seen.has(v)) ctx.addIssue({ code: 'custom', path: [...path, i], message: `duplicate ${what} "${v}" (also at index ${seen.get(v)})` })
    else seen.set(v, i)
  })
}

export type Config = z.output<typeof configSchema>
export type ConfigInput = z.input<typeof configSchema>
export type AgentConfig = Config['agents'][number]
export type RouteConfig = Config['routes'][number]
export type ApproverConfig = Config['approvers'][number]
export type AgentKeyLocation = (typeof agentKeyLocations)[number]
