#!/usr/bin/env node
// The `airlock` command. Each sub-command is a small function; errors print one clear message and exit non-zero.
import { parseArgs } from 'node:util'
import { cli } from './cli.ts'

const { positionals, values } = parseArgs({
  allowPositionals: true,
  strict: false,
  options: {
    config: { type: 'string', short: 'c' },
    input: { type: 'string', short: 'i' },
    source: { type: 'string' },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
    url: { type: 'string' },
    state: { type: 'string' },
    group: { type: 'string' },
    comment: { type: 'string' },
    json: { type: 'boolean' },
    force: { type: 'boolean' },
    policy: { type: 'string' },
    'holds-db': { type: 'string' },
    markdown: { type: 'string' },
    'fail-on': { type: 'string' },
  },
})

cli(positionals, values as Record<string, string | boolean | undefined>).then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    process.stderr.write(`airlock: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exitCode = 1
  },
)
