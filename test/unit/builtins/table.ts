// The table runner for the host built-ins' family tests (gateway/core/policy/builtins/*.ts), against OPA itself.
//
// Each table's expected values and error messages are what OPA v1.22.2 answers for the same arguments:
//   echo '{"args": [...]}' | opa eval --strict-builtin-errors -f json --stdin-input 'time.date(input.args[0])'
// except where a comment says otherwise. Two deliberate differences: OPA names units.* twice in its errors
// ("units.parse: units.parse: ..."), here once; and results no double can hold throw instead.
// Some expected values are integers past 2^53 copied from OPA's output: as JS literals they round to the nearest
// double, exactly as the wasm's JSON results do, so the comparison is the one a policy sees.
import { describe, expect, it } from 'vitest'
import { createHostBuiltins, HOST_BUILTINS } from '../../../gateway/core/policy/builtins.ts'

export type Cases = Record<string, [args: unknown[], expected: unknown][]>

export const fails = (message: string) => ({ fails: message })
const failure = (x: unknown): x is { fails: string } => typeof x === 'object' && x !== null && 'fails' in x

/** Runs every row of a family's table, and checks the table covers every host built-in of the family's prefixes. */
export function checkAgainstOpa(cases: Cases, prefixes: string[], exempt: string[] = ['time.now_ns']): void {
  const builtins = createHostBuiltins({ nowNs: () => 0 })
  describe.each(Object.entries(cases))('%s', (name, rows) => {
    const table = rows.map(([args, expected]) => [JSON.stringify(args).slice(0, 100), args, expected] as const)
    it.each(table)('%s', (_, args, expected) => {
      const call = () => builtins[name]!(...args)
      if (failure(expected)) expect(call).toThrowError(new Error(expected.fails))
      else expect(call()).toEqual(expected)
    })
  })

  it(`covers every host built-in named ${prefixes.join(' or ')}*`, () => {
    const family = HOST_BUILTINS.filter((b) => prefixes.some((p) => b.startsWith(p)) && !exempt.includes(b))
    expect(Object.keys(cases).sort()).toEqual([...family].sort())
  })
}
