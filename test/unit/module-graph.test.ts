// The module structure of gateway/, checked from the source: no import loop (type-only imports included: a loop of
// types is still a loop in the design), no upward import from the holds subsystem or the pipeline's stages into
// the gateway module, the stages independent of the holds subsystem, and a core with no runtime import.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { repoRoot } from '../../gateway/node/toolchain/opa.ts'

const root = join(repoRoot, 'gateway')

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? files(join(dir, e.name))
      : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')
        ? [join(dir, e.name)]
        : [],
  )
}

/** Every import/export-from specifier of a file (static ones; the gateway has no dynamic imports of its own modules). */
function specifiers(source: string): string[] {
  const out: string[] = []
  const re = /^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm
  for (const m of source.matchAll(re)) out.push((m[1] ?? m[2])!)
  return out
}

const rel = (f: string) => relative(root, f).replaceAll('\\', '/')
const graph = new Map<string, { local: string[]; external: string[] }>()
for (const f of files(root)) {
  const specs = specifiers(readFileSync(f, 'utf8'))
  graph.set(rel(f), {
    local: specs.filter((s) => s.startsWith('.')).map((s) => rel(resolve(dirname(f), s))),
    external: specs.filter((s) => !s.startsWith('.')),
  })
}

/** Every import cycle, each reported once as a path a → b → … → a. */
function cycles(): string[] {
  const found: string[] = []
  const state = new Map<string, 'visiting' | 'done'>()
  const stack: string[] = []
  const visit = (n: string) => {
    state.set(n, 'visiting')
    stack.push(n)
    for (const m of graph.get(n)?.local ?? []) {
      if (state.get(m) === 'visiting') found.push([...stack.slice(stack.indexOf(m)), m].join(' → '))
      else if (!state.has(m)) visit(m)
    }
    stack.pop()
    state.set(n, 'done')
  }
  for (const n of [...graph.keys()].sort()) if (!state.has(n)) visit(n)
  return found
}

const importsOf = (prefix: string) =>
  [...graph]
    .filter(([f]) => f.startsWith(prefix))
    .flatMap(([f, { local, external }]) => [...local, ...external].map((to) => ({ from: f, to })))

describe('gateway/ module graph', () => {
  it('every relative import resolves to a file in the tree', () => {
    const missing = [...graph].flatMap(([f, { local }]) =>
      local.filter((t) => t.startsWith('..') === false && !graph.has(t)).map((t) => `${f} → ${t}`),
    )
    expect(missing).toEqual([])
  })

  it('has no import loop', () => {
    expect(cycles()).toEqual([])
  })

  it('nothing below the gateway module imports it (holds, pipeline stages, policy, config)', () => {
    const up = ['core/gateway.ts', 'core/reverse-proxy.ts']
    const bad = importsOf('core/').filter(({ from, to }) => up.includes(to) && !up.includes(from))
    expect(bad).toEqual([])
  })

  it('the pipeline stages do not import the holds subsystem (the hold gate is a port)', () => {
    expect(importsOf('core/pipeline/').filter(({ to }) => to.startsWith('core/holds/'))).toEqual([])
  })

  it('the core imports no runtime: no node:*, cloudflare:*, gateway/node or gateway/worker', () => {
    const bad = importsOf('core/').filter(
      ({ to }) => /^(node:|cloudflare:)/.test(to) || to.startsWith('node/') || to.startsWith('worker/'),
    )
    expect(bad).toEqual([])
  })

  it('ports are declared in one module: no other core file declares a port interface', () => {
    const ports = [
      'HoldGate',
      'PolicyEvaluator',
      'PolicySource',
      'SqlDriver',
      'Upstream',
      'Clock',
      'Logger',
      'Metrics',
      'Secrets',
      'WebhookFetch',
    ]
    const declared = [...graph.keys()]
      .filter((f) => f.startsWith('core/') && f !== 'core/ports.ts')
      .flatMap((f) => {
        const src = readFileSync(join(root, f), 'utf8')
        return ports.filter((p) => new RegExp(`export (interface|type) ${p}\\b`).test(src)).map((p) => `${f}: ${p}`)
      })
    expect(declared).toEqual([])
  })
})
