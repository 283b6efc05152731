// approver_groups (with their webhooks) and approvers[].
import { z } from 'zod'
import { envName, name, sha256Hex } from './common.ts'

const webhookSchema = z
  .object({
    url: z.url({ protocol: /^https?$/ }),
    secret_env: envName.describe('environment variable holding the HMAC signing secret'),
    format: z
      .enum(['json', 'slack', 'standard'])
      .default('json')
      .describe(
        'json: the event, Airlock-Signature; slack: a Block Kit message; standard: the event, Standard Webhooks headers (whsec_ secret)',
      ),
    allow_private: z.boolean().default(false),
  })
  .strict()

export const approverGroupSchema = z
  .object({
    max_pending: z
      .number()
      .int()
      .positive()
      .default(50)
      .describe('cap on pending holds; past it new holds are refused'),
    max_grant_minutes: z
      .number()
      .int()
      .min(0)
      .max(10_080)
      .default(0)
      .describe(
        'longest grant (minutes) an approver of this group may add when approving a grantable hold; 0: no grants',
      ),
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
      .describe(
        "post this group's holds to this Slack channel with Approve / Deny buttons (needs the top-level slack section)",
      ),
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
    message:
      'an approver needs at least one group (only an auditor may have none: it reads everything and decides nothing)',
    path: ['groups'],
  })
