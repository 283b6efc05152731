// The layering rule, as biome.json enforces it in `npm run lint`: gateway/core imports no node:*, no cloudflare:*
// and nothing from the runtime adapters (gateway/node, gateway/worker). Runs the real Biome on probe files laid out
// like the repository, with the repository's biome.json.
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { repoRoot } from '../../gateway/node/toolchain/opa.ts'

const work = mkdtempSync(join(tmpdir(), 'airlock-lint-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

function lint(files: Record<string, string>): { file: string; line: number; rule: string }[] {
  const dir = mkdtempSync(join(work, 'tree-'))
  // The probe tree is not a git checkout: drop the VCS settings, keep every rule and override.
  const { vcs: _vcs, $schema: _schema, ...config } = JSON.parse(readFileSync(join(repoRoot, 'biome.json'), 'utf8'))
  writeFileSync(join(dir, 'biome.json'), JSON.stringify(config))
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), text)
  }
  let stdout: string
  try {
    stdout = execFileSync(join(repoRoot, 'node_modules/.bin/biome'), ['lint', '--reporter=json', '.'], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
  } catch (err) {
    stdout = (err as { stdout: string }).stdout
  }
  const report = JSON.parse(stdout) as {
    diagnostics: { category: string; location: { path: string; start: { line: number } } }[]
  }
  // Only the probes: the probe tree's own biome.json is linted too, and is not what these tests are about.
  return report.diagnostics
    .filter((d) => d.location.path.startsWith('gateway/'))
    .map((d) => ({ file: d.location.path, line: d.location.start.line, rule: d.category }))
}

describe('the dependency rule (biome.json)', () => {
  it('refuses node:*, cloudflare:* and adapter imports in gateway/core', () => {
    const probe = [
      "import { readFileSync } from 'node:fs'",
      "import { DurableObject } from 'cloudflare:workers'",
      "import { openSqlite } from '../../node/sqlite.ts'",
      "import { toWire } from '../../worker/wire.ts'",
      "import { AirlockError } from '../errors.ts'",
      'export const all = [readFileSync, DurableObject, openSqlite, toWire, AirlockError]',
      '',
    ].join('\n')
    const found = lint({ 'gateway/core/holds/probe.ts': probe })
    expect(found).toEqual(
      [1, 2, 3, 4].map((line) => ({
        file: 'gateway/core/holds/probe.ts',
        line,
        rule: 'lint/style/noRestrictedImports',
      })),
    )
  })

  it('lets the adapters import the runtime and the core', () => {
    const probe =
      "import { readFileSync } from 'node:fs'\nimport { AirlockError } from '../core/errors.ts'\nexport const all = [readFileSync, AirlockError]\n"
    expect(lint({ 'gateway/node/probe.ts': probe, 'gateway/worker/probe.ts': probe })).toEqual([])
  })

  it('refuses a Node adapter import in the Workers adapter (Node-only build steps live in gateway/node/toolchain)', () => {
    const probe = "import { buildPolicy } from '../node/toolchain/build.ts'\nexport const all = [buildPolicy]\n"
    expect(lint({ 'gateway/worker/probe.ts': probe })).toEqual([
      { file: 'gateway/worker/probe.ts', line: 1, rule: 'lint/style/noRestrictedImports' },
    ])
  })

  it('refuses explicit any in gateway/', () => {
    expect(lint({ 'gateway/node/probe.ts': 'export const f = (x: any) => x\n' })).toEqual([
      { file: 'gateway/node/probe.ts', line: 1, rule: 'lint/suspicious/noExplicitAny' },
    ])
  })
})
