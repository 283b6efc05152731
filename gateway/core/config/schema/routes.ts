// routes[] and the upstream credential each injects.
import { z } from 'zod'
import { agentKeyLocations } from './agents.ts'
import { envName, hostName, name } from './common.ts'

export const credentialSchema = z
  .object({
    env: envName.describe('environment variable (Worker secret) holding the real upstream credential'),
    header: z.string().toLowerCase().default('authorization'),
    scheme: z
      .enum(['bearer', 'basic', 'raw'])
      .default('bearer')
      .describe(
        'bearer: "Bearer <secret>"; basic: "Basic base64(<secret>)" where the secret is "user:password"; raw: the secret as is',
      ),
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
      .describe(
        "reverse mode: a listener port of the route's own; every request arriving on it goes to the route, whole path kept",
      ),
    tls: z
      .enum(['intercept', 'tunnel'])
      .optional()
      .describe(
        'forward-proxy mode, CONNECT to this upstream: intercept (decrypt, evaluate every request, inject the credential) or tunnel (one host-level decision, bytes untouched); default proxy.intercept',
      ),
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
      .describe(
        'accept %2F and %5C in request paths (refused by default: an upstream may decode them into a path the policy never judged)',
      ),
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
      .describe(
        'mcp: the upstream is an MCP server (Streamable HTTP); every JSON-RPC message is decided on its own (docs/mcp.md)',
      ),
  })
  .strict()
