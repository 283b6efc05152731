// agents[] and their limits (limits.per_agent extends agentLimitsSchema).
import { z } from 'zod'
import { keyRef, name, oneKey } from './common.ts'

/** Per-agent resource limits (docs/operations.md, sizing): limits.per_agent for every agent, agents[].limits to override. */
export const agentLimitsSchema = z
  .object({
    max_in_flight: z
      .number()
      .int()
      .positive()
      .optional()
      .describe(
        'requests of one agent being handled at once (a held request waiting for approval counts); past it 429',
      ),
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
      .describe(
        'requests allowed at once after a quiet spell (bucket size); default 10 seconds of rate_per_minute, at least 1',
      ),
  })
  .strict()

export const agentSchema = z
  .object({
    id: name.describe('stable agent id, shown to policies as input.agent.id'),
    owner: z.string().min(1).describe('the accountable person, e.g. an e-mail address'),
    labels: z.record(z.string(), z.string()).default({}),
    limits: agentLimitsSchema.optional().describe("this agent's limits; unset fields come from limits.per_agent"),
    ...keyRef,
  })
  .strict()
  .refine(oneKey, { message: 'set exactly one of key_env or key_sha256', path: ['key_env'] })

export const agentKeyLocations = ['header', 'bearer', 'x-api-key', 'basic'] as const
export type AgentKeyLocation = (typeof agentKeyLocations)[number]
