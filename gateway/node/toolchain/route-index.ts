// The route index of a policy source (docs/policy.md, "Routes"): which `airlock.rules.<name>` packages decide which
// route. WebAssembly has no rule indexing, so the folding library evaluates only the packages of the request's route
// plus the cross-route ones (those that declare no routes), looked up in data.airlock.route_index, which
// `airlock policy build` writes next to the policy's own data. The contract is deliberately plain text, checked here:
//
//   routes := {"stripe"}            one constant set of route names, on one line, once per package
//
// Anything else that defines `routes` in a package (a rule with a body, `routes contains …`, two different sets, an
// empty set, a non-string) is ambiguous — the rules could silently stop being evaluated — and fails the build.
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'

export interface RouteIndex {
  /** route name → packages declaring it, sorted. */
  routes: Record<string, string[]>
  /** Packages that declare no routes: evaluated for every request. */
  cross_route: string[]
}

export class RouteIndexError extends Error {
  override readonly name = 'RouteIndexError'
}

const PACKAGE = /^package\s+(\S+)/m
const RULES_PACKAGE = /^airlock\.rules(?:\.([A-Za-z_][A-Za-z0-9_]*)|\["([^"\\]+)"\])$/
const DECLARATION = /^routes\s*:=\s*\{([^{}]*)\}\s*(?:#.*)?$/
const ANY_ROUTES_RULE = /^routes\b/

function regoFiles(dir: string, ignore: (name: string) => boolean): string[] {
  const out: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.rego') || ignore(entry.name)) continue
    out.push(join(entry.parentPath, entry.name))
  }
  return out.sort()
}

/** Reads every non-test .rego file under `source` and returns the index, or throws naming file:line and the fix. */
export function routeIndex(
  source: string,
  ignore: (name: string) => boolean = (n) => n.endsWith('_test.rego'),
): RouteIndex {
  const declared = new Map<string, { routes: string[]; where: string }>()
  const packages = new Set<string>()
  for (const file of regoFiles(source, ignore)) {
    const text = readFileSync(file, 'utf8')
    const pkgPath = PACKAGE.exec(text)?.[1]
    const m = pkgPath ? RULES_PACKAGE.exec(pkgPath) : null
    if (!m) continue
    const pkg = (m[1] ?? m[2])!
    packages.add(pkg)
    text.split('\n').forEach((line, i) => {
      if (!ANY_ROUTES_RULE.test(line)) return
      const where = `${relative(source, file) || file}:${i + 1}`
      const fail = (why: string) => {
        throw new RouteIndexError(
          `${where}: package airlock.rules.${pkg} declares its routes ambiguously (${why}); declare them as one constant ` +
            `set of route names on one line, e.g. routes := {"stripe", "github"}, or remove it to make the package cross-route`,
        )
      }
      const decl = DECLARATION.exec(line.trimEnd())
      if (!decl) fail('not of the form routes := {"name", …}')
      let names: unknown
      try {
        names = JSON.parse(`[${decl![1]}]`)
      } catch {
        fail('the set must hold only quoted route names')
      }
      const list = names as unknown[]
      if (list.length === 0) fail('the set is empty: the package would never be evaluated')
      if (!list.every((n) => typeof n === 'string' && n !== '')) fail('every route name must be a non-empty string')
      const routes = [...new Set(list as string[])].sort()
      const prev = declared.get(pkg)
      if (prev) fail(`it is already declared at ${prev.where}`)
      declared.set(pkg, { routes, where })
    })
  }
  const index: RouteIndex = { routes: {}, cross_route: [] }
  for (const pkg of [...packages].sort()) {
    const d = declared.get(pkg)
    if (!d) {
      index.cross_route.push(pkg)
      continue
    }
    for (const r of d.routes) (index.routes[r] ??= []).push(pkg)
  }
  return index
}
