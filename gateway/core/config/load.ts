// Parses and validates a config document. Every problem is reported at once, each naming the file, the line,
// the field path and what is wrong, so an operator fixes the file in one pass.
import { isNode, LineCounter, parseDocument } from 'yaml'
import { AirlockError } from '../errors.ts'
import { type Config, configSchema } from './schema.ts'

/** AIRLOCK_CONFIG_INVALID, with every problem found (each names file:line and the field). */
export class ConfigError extends AirlockError {
  readonly problems: string[]
  constructor(source: string, problems: string[]) {
    super(
      'AIRLOCK_CONFIG_INVALID',
      `invalid configuration in ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    )
    this.problems = problems
  }
}

/** "routes[0].upstream" */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p)
  return out || '(top level)'
}

/** Parses YAML (or JSON, which is YAML) and validates it; throws ConfigError naming file:line and field. */
export function parseConfig(text: string, source: string): Config {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true })
  if (doc.errors.length > 0) {
    throw new ConfigError(
      source,
      doc.errors.map((e) => {
        const { line, col } = lines.linePos(e.pos[0])
        return `${source}:${line}:${col}: ${e.message.split('\n')[0]}`
      }),
    )
  }
  const result = configSchema.safeParse(doc.toJS() ?? {})
  if (result.success) return result.data
  throw new ConfigError(
    source,
    result.error.issues.map((issue) => {
      // Point at the deepest node of the path that exists in the document (for an unknown key, the key itself).
      const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path
      let where = ''
      for (let n = path.length; n >= 0; n--) {
        const at = n === 0 ? doc.contents : doc.getIn(path.slice(0, n) as unknown[], true)
        if (isNode(at) && at.range) {
          const { line, col } = lines.linePos(at.range[0])
          where = `:${line}:${col}`
          break
        }
      }
      return `${source}${where}: ${formatPath(issue.path)}: ${issue.message}`
    }),
  )
}
