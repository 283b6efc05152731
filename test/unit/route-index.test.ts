// The route index `airlock policy build` writes (data.airlock.route_index): which packages decide which route, and
// a build that refuses an ambiguous declaration, naming file:line and the fix.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { POLICIES } from '../../bench/policy-gen.ts'
import { routeIndex } from '../../gateway/node/toolchain/route-index.ts'

function source(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-route-index-'))
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true })
    writeFileSync(join(dir, name), text)
  }
  return dir
}

const pkg = (name: string, routes?: string) =>
  `package airlock.rules.${name}\n\nimport data.airlock.lib\n${routes === undefined ? '' : `\n${routes}\n`}\nallow contains {"rule": "${name}.r", "reason": "x"} if lib.is_read\n`

describe('routeIndex', () => {
  it('indexes the example policies: declared routes, and cross-route packages that declare none', () => {
    expect(routeIndex(POLICIES)).toEqual({
      routes: {
        github: ['github'],
        httpbin: ['demo'],
        mail: ['messaging'],
        'payments-mcp': ['payments_mcp'],
        slack: ['messaging'],
        stripe: ['stripe'],
      },
      cross_route: ['catchall', 'egress'],
    })
  })

  it('collects quoted package names, ignores tests, nested and non-rules packages', () => {
    const dir = source({
      'a.rego': pkg('a', 'routes := {"stripe", "github"} # both'),
      'b.rego': 'package airlock.rules["b-2"]\n\nroutes := {"stripe"}\n',
      'sub/c.rego': pkg('c'),
      'a_test.rego': 'package airlock.rules.t\n\nroutes := {"x"}\n',
      'nested.rego': 'package airlock.rules.acme.stripe\n\nroutes := {"y"}\n',
      'lib.rego': 'package airlock.lib\n\nroutes := 1\n',
    })
    expect(routeIndex(dir)).toEqual({ routes: { github: ['a'], stripe: ['a', 'b-2'] }, cross_route: ['c'] })
  })

  it.each([
    ['a rule with a body', 'routes := {"stripe"} if input.x', 'not of the form'],
    ['a partial set', 'routes contains "stripe"', 'not of the form'],
    ['an empty set', 'routes := {}', 'the set is empty'],
    ['a reference', 'routes := {lib.route}', 'the set must hold only quoted route names'],
    ['a number', 'routes := {1}', 'every route name must be a non-empty string'],
    ['an empty name', 'routes := {""}', 'every route name must be a non-empty string'],
  ])('refuses %s, naming file:line and the fix', (_, decl, why) => {
    const dir = source({ 'p.rego': pkg('p', decl) })
    expect(() => routeIndex(dir)).toThrowError(
      new RegExp(
        `p\\.rego:5: package airlock\\.rules\\.p declares its routes ambiguously \\(${why}.*routes := \\{"stripe", "github"\\}`,
      ),
    )
  })

  it('refuses a package declaring its routes twice (two files of one package)', () => {
    const dir = source({
      'p1.rego': pkg('p', 'routes := {"stripe"}'),
      'p2.rego': 'package airlock.rules.p\n\nroutes := {"github"}\n',
    })
    expect(() => routeIndex(dir)).toThrowError(/p2\.rego:3: .*already declared at p1\.rego:5/)
  })
})
