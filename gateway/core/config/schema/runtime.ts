// The gateway's own sections: server, store, policy, limits, log, proxy.
import { z } from 'zod'
import { agentLimitsSchema } from './agents.ts'

export const serverSchema = z
  .object({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8080),
    public_url: z.url().optional().describe('base URL approvers reach Airlock at (links in webhooks)'),
  })
  .strict()
  .prefault({})

export const storeSchema = z
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
            max: z.number().int().min(2).max(1000).default(10).describe('most connections each gateway opens'),
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
          .describe(
            'a waiting agent re-reads its hold this often besides LISTEN/NOTIFY (the latency bound if a notification is lost)',
          ),
      })
      .strict(),
  ])
  .default({ kind: 'sqlite' })
  .describe('where holds, reviews and audit live (docs/operations.md: running several gateways)')

export const policySchema = z
  .object({
    dir: z.string().default('./build/policy').describe('folder with policy.wasm, data.json, manifest.json'),
    source: z.string().default('./policies').describe('Rego sources for `airlock policy build|test`'),
    watch: z.boolean().default(true).describe('reload when the compiled policy changes'),
    shadow: z
      .object({
        dir: z
          .string()
          .describe(
            'folder with a second compiled policy (airlock policy build --source DIR --out DIR); evaluated after the enforced one, never enforced',
          ),
        sample_rate: z
          .number()
          .min(0)
          .max(1)
          .default(1)
          .describe('share of requests also evaluated by the shadow policy'),
      })
      .strict()
      .optional()
      .describe('a policy evaluated beside the enforced one to see what it would decide (docs/policy.md)'),
  })
  .strict()
  .prefault({})

export const limitsSchema = z
  .object({
    max_body_bytes: z
      .number()
      .int()
      .positive()
      .default(1024 * 1024),
    upstream_timeout_ms: z.number().int().positive().default(30_000),
    connect_timeout_ms: z.number().int().positive().default(10_000),
    max_buffered_body_bytes: z
      .number()
      .int()
      .positive()
      .default(64 * 1024 * 1024)
      .describe(
        'request-body bytes buffered at once, across every request; past it 503 with Retry-After (nothing is read or forwarded)',
      ),
    max_connections: z
      .number()
      .int()
      .positive()
      .default(1024)
      .describe(
        'Node: open client connections per listener (tunnels included); past it new connections are closed at once',
      ),
    header_timeout_ms: z
      .number()
      .int()
      .positive()
      .default(15_000)
      .describe("Node: time a client has to send a request's headers; then 408 and the connection is closed"),
    body_timeout_ms: z
      .number()
      .int()
      .positive()
      .default(60_000)
      .describe(
        'Node: time a client has to send a whole request (headers and body); then 408 and the connection is closed',
      ),
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
  .prefault({})

export const logSchema = z
  .object({
    level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    decision_input: z.boolean().default(true).describe('include the (redacted) policy input in decision logs'),
  })
  .strict()
  .prefault({})

export const proxySchema = z
  .object({
    enabled: z
      .boolean()
      .default(false)
      .describe(
        'forward-proxy mode: absolute-form requests (HTTP_PROXY) and CONNECT (HTTPS_PROXY), authenticated with Proxy-Authorization',
      ),
    intercept: z
      .boolean()
      .default(false)
      .describe(
        'decrypt CONNECT tunnels to hosts whose route sets no tls (unknown hosts included) with a leaf minted by the CA in <data_dir>/ca',
      ),
    allow_private: z
      .boolean()
      .default(false)
      .describe(
        'let unknown hosts (no route) resolve to loopback/private/link-local addresses (SSRF guard off for them)',
      ),
  })
  .strict()
  .prefault({})
