// The configuration schema: one source for validation, every default, and the JSON Schema editors use
// (config/airlock.schema.json is generated from it by `airlock config schema`). Secrets never live in the file:
// it names environment variables (Worker secrets on Workers) or holds SHA-256 digests of keys.
import { z } from 'zod'
import { agentSchema } from './schema/agents.ts'
import { consoleSchema, holdsSchema, reviewSchema, slackSchema } from './schema/approvals.ts'
import { approverGroupSchema, approverSchema } from './schema/approvers.ts'
import { name } from './schema/common.ts'
import { routeSchema } from './schema/routes.ts'
import { limitsSchema, logSchema, policySchema, proxySchema, serverSchema, storeSchema } from './schema/runtime.ts'

// The sections live in schema/ (one module each); this module composes them and checks what spans sections.
export { agentKeyLocations, agentLimitsSchema, agentSchema } from './schema/agents.ts'
export { approverGroupSchema, approverSchema } from './schema/approvers.ts'
export { credentialSchema, routeSchema } from './schema/routes.ts'

export const configSchema = z
  .object({
    $schema: z.string().optional(),
    server: serverSchema,
    data_dir: z.string().default('./data'),
    store: storeSchema,
    policy: policySchema,
    limits: limitsSchema,
    log: logSchema,
    holds: holdsSchema,
    review: reviewSchema,
    proxy: proxySchema,
    agents: z.array(agentSchema).default([]),
    routes: z.array(routeSchema).default([]),
    slack: slackSchema,
    console: consoleSchema,
    approver_groups: z.record(name, approverGroupSchema).default({}),
    approvers: z.array(approverSchema).default([]),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    unique(
      cfg.agents.map((a) => a.id),
      ['agents'],
      'agent id',
      ctx,
    )
    unique(
      cfg.routes.map((r) => r.name),
      ['routes'],
      'route name',
      ctx,
    )
    uniqueDefined(
      cfg.routes.map((r) => r.prefix),
      'prefix',
      'route prefix',
      ctx,
    )
    uniqueDefined(
      cfg.routes.map((r) => (r.port === undefined ? undefined : String(r.port))),
      'port',
      'route port',
      ctx,
    )
    cfg.routes.forEach((r, i) => {
      if (r.port === cfg.server.port)
        ctx.addIssue({
          code: 'custom',
          path: ['routes', i, 'port'],
          message: `is the main listener's port (server.port)`,
        })
      if (r.prefix === undefined && r.hosts === undefined && r.port === undefined && !cfg.proxy.enabled)
        ctx.addIssue({
          code: 'custom',
          path: ['routes', i],
          message: 'the route is unreachable: give it a prefix, hosts or a port, or enable proxy mode (proxy.enabled)',
        })
    })
    const hostOwner = new Map<string, number>()
    cfg.routes.forEach((r, i) =>
      r.hosts?.forEach((h, j) => {
        if (hostOwner.has(h))
          ctx.addIssue({
            code: 'custom',
            path: ['routes', i, 'hosts', j],
            message: `host "${h}" already selects route "${cfg.routes[hostOwner.get(h)!]!.name}"`,
          })
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
        ctx.addIssue({
          code: 'custom',
          path: ['routes', i, 'tls'],
          message: `routes "${cfg.routes[first]!.name}" and "${r.name}" share the upstream ${origin} but not its tls setting`,
        })
    })
    unique(
      cfg.approvers.map((a) => a.id),
      ['approvers'],
      'approver id',
      ctx,
    )
    const agentIds = new Set(cfg.agents.map((a) => a.id))
    cfg.routes.forEach((r, i) =>
      r.agents?.forEach((a, j) => {
        if (!agentIds.has(a))
          ctx.addIssue({ code: 'custom', path: ['routes', i, 'agents', j], message: `unknown agent "${a}"` })
      }),
    )
    for (const [g, group] of Object.entries(cfg.approver_groups)) {
      if (group.slack_channel && !cfg.slack)
        ctx.addIssue({
          code: 'custom',
          path: ['approver_groups', g, 'slack_channel'],
          message: 'needs the top-level slack section (bot token and signing secret)',
        })
    }
    unique(
      cfg.approvers.flatMap((a) => (a.slack_user_id ? [a.slack_user_id] : [])),
      ['approvers'],
      'slack_user_id',
      ctx,
    )
    cfg.approvers.forEach((a, i) =>
      a.groups.forEach((g, j) => {
        if (!(g in cfg.approver_groups))
          ctx.addIssue({
            code: 'custom',
            path: ['approvers', i, 'groups', j],
            message: `unknown approver group "${g}"`,
          })
      }),
    )
  })

function uniqueDefined(values: (string | undefined)[], field: string, what: string, ctx: z.RefinementCtx) {
  const seen = new Map<string, number>()
  values.forEach((v, i) => {
    if (v === undefined) return
    if (seen.has(v))
      ctx.addIssue({
        code: 'custom',
        path: ['routes', i, field],
        message: `duplicate ${what} "${v}" (also at index ${seen.get(v)})`,
      })
    else seen.set(v, i)
  })
}

function unique(values: string[], path: (string | number)[], what: string, ctx: z.RefinementCtx) {
  const seen = new Map<string, number>()
  values.forEach((v, i) => {
    if (seen.has(v))
      ctx.addIssue({
        code: 'custom',
        path: [...path, i],
        message: `duplicate ${what} "${v}" (also at index ${seen.get(v)})`,
      })
    else seen.set(v, i)
  })
}

export type Config = z.output<typeof configSchema>
export type ConfigInput = z.input<typeof configSchema>
export type AgentConfig = Config['agents'][number]
export type RouteConfig = Config['routes'][number]
export type ApproverConfig = Config['approvers'][number]
export type { AgentKeyLocation } from './schema/agents.ts'
