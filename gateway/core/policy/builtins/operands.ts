// Operands, checked as OPA's builtins.NewOperandTypeErr does: its messages, and a Rego set arriving as a JSON array.

function typeName(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  return typeof v // string, number, boolean, object
}

export function operandError(pos: number, got: unknown, ...expected: string[]): Error {
  const want = expected.length === 1 ? expected[0] : `one of {${expected.join(', ')}}`
  return new Error(`operand ${pos} must be ${want} but got ${typeName(got)}`)
}

export function str(v: unknown, pos: number): string {
  if (typeof v !== 'string') throw operandError(pos, v, 'string')
  return v
}

export function int(v: unknown, pos: number): number {
  if (typeof v !== 'number') throw operandError(pos, v, 'number')
  // Go's ast.Number.Int: anything that is not an int64 counts as floating-point
  if (!Number.isInteger(v) || Math.abs(v) >= 2 ** 63) {
    throw new Error(`operand ${pos} must be integer number but got floating-point number`)
  }
  return v
}

/** A string, or an array (or set) of strings, as a list. */
export function strings(v: unknown, pos: number): string[] {
  if (typeof v === 'string') return [v]
  if (!Array.isArray(v)) throw operandError(pos, v, 'string', 'set', 'array')
  const i = v.findIndex((s) => typeof s !== 'string')
  if (i >= 0) {
    throw new Error(`operand ${pos} must be array of strings but got array containing ${typeName(v[i])}`)
  }
  return v as string[]
}
