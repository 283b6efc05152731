// The sections about holds and the people who decide them: holds, review, slack, console.
import { z } from 'zod'
import { envName } from './common.ts'

export const holdsSchema = z
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
      .describe(
        'approvals faster than this after the approver first viewed the hold are flagged as possible rubber stamps',
      ),
    dedupe_window_s: z
      .number()
      .int()
      .nonnegative()
      .default(86_400)
      .describe(
        'an identical request within this window after execution or denial gets the stored outcome instead of a new hold',
      ),
    preview_bytes: z.number().int().positive().default(4096).describe('body preview size in webhooks'),
    relax_threshold: z
      .number()
      .int()
      .positive()
      .default(20)
      .describe('decisions a rule needs before the report suggests changes'),
  })
  .strict()
  .prefault({})

export const reviewSchema = z
  .object({
    sample_rate: z.number().min(0).max(1).default(0.1),
  })
  .strict()
  .prefault({})

export const slackSchema = z
  .object({
    bot_token_env: envName.describe("environment variable with the Slack app's bot token (xoxb-…)"),
    signing_secret_env: envName.describe(
      "environment variable with the Slack app's signing secret (verifies button clicks)",
    ),
    api_url: z.url().default('https://slack.com/api/').describe('Slack Web API base URL'),
  })
  .strict()
  .optional()

export const consoleSchema = z
  .object({
    enabled: z.boolean().default(true).describe('serve the approver console at /_airlock/console'),
    session_ttl_s: z
      .number()
      .int()
      .positive()
      .max(7 * 86_400)
      .default(8 * 3600)
      .describe('how long a console sign-in lasts'),
    session_secret_env: envName
      .optional()
      .describe(
        'environment variable with the key that signs console sessions; unset: a random key per process (a restart signs everyone out)',
      ),
    identity_header: z
      .string()
      .regex(/^[A-Za-z0-9-]+$/)
      .optional()
      .describe('SSO seam, off by default: a header set by a trusted reverse proxy naming the approver (id or email)'),
    max_sign_in_failures: z
      .number()
      .int()
      .positive()
      .default(5)
      .describe('wrong tokens per client address per 10 minutes before sign-in is refused'),
  })
  .strict()
  .prefault({})
