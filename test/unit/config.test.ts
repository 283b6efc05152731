import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, parseConfig } from '../../gateway/core/config/load.ts'
import { configJsonSchema } from '../../gateway/node/cli.ts'
import { repoRoot } from '../../gateway/node/toolchain/opa.ts'

const problems = (text: string) => {
  try {
    parseConfig(text, 'a.yaml')
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return (err as ConfigError).problems
  }
  throw new Error('expected a ConfigError')
}

describe('parseConfig', () => {
  it('applies every default from one place', () => {
    const c = parseConfig('{}', 'a.yaml')
    expect(c.server).toEqual({ host: '127.0.0.1', port: 8080 })
    expect(c.limits).toEqual({
      max_body_bytes: 1048576,
      upstream_timeout_ms: 30000,
      connect_timeout_ms: 10000,
      max_buffered_body_bytes: 64 * 1024 * 1024,
      max_connections: 1024,
      header_timeout_ms: 15000,
      body_timeout_ms: 60000,
      per_agent: { max_in_flight: 128 },
    })
    expect(c.holds.wait_s).toBe(25)
    expect(c.review.sample_rate).toBe(0.1)
  })

  it.each([
    ['YAML syntax', 'routes: [\n', /^a\.yaml:\d+:\d+: /],
    ['duplicate keys', 'server: {}\nserver: {}\n', /a\.yaml:2:1: Map keys must be unique/],
    ['unknown top-level key', 'sever: {}\n', /a\.yaml:1:8: \(top level\): Unrecognized key: "sever"/],
    [
      'both key sources',
      'agents:\n  - id: a\n    owner: o\n    key_env: A\n    key_sha256: ' + 'a'.repeat(64) + '\n',
      /agents\[0\]\.key_env: set exactly one of key_env or key_sha256/,
    ],
    [
      'bad digest',
      'agents:\n  - id: a\n    owner: o\n    key_sha256: nothex\n',
      /agents\[0\]\.key_sha256: must be 64 lower-case hex digits/,
    ],
    [
      'duplicate route',
      'routes:\n  - {name: a, prefix: /a, upstream: "https://a"}\n  - {name: a, prefix: /b, upstream: "https://b"}\n',
      /routes\[1\]: duplicate route name "a" \(also at index 0\)/,
    ],
    [
      'reserved prefix',
      'routes:\n  - {name: a, prefix: /_airlock/x, upstream: "https://a"}\n',
      /routes\[0\]\.prefix: collides with a path Airlock reserves/,
    ],
    [
      'unknown agent on route',
      'routes:\n  - {name: a, prefix: /a, upstream: "https://a", agents: [ghost]}\n',
      /routes\[0\]\.agents\[0\]: unknown agent "ghost"/,
    ],
    [
      'unknown approver group',
      'approvers:\n  - {id: a, groups: [nope], token_env: T}\n',
      /approvers\[0\]\.groups\[0\]: unknown approver group "nope"/,
    ],
    [
      'upstream without a scheme',
      'routes:\n  - {name: a, prefix: /a, upstream: api.stripe.com}\n',
      /a\.yaml:2:\d+: routes\[0\]\.upstream: must be an http\(s\) URL/,
    ],
    [
      'upstream with credentials',
      'routes:\n  - {name: a, prefix: /a, upstream: "https://u:p@a"}\n',
      /routes\[0\]\.upstream: must not carry a query, fragment or credentials/,
    ],
  ])('%s', (_name, text, pattern) => {
    expect(problems(text).join('\n')).toMatch(pattern)
  })

  it('config/airlock.schema.json is generated from the schema and current', () => {
    const committed = JSON.parse(readFileSync(join(repoRoot, 'config/airlock.schema.json'), 'utf8'))
    expect(committed).toEqual(JSON.parse(JSON.stringify(configJsonSchema())))
  })
})
