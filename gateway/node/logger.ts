// pino, configured once. Inputs are redacted when they are built; these paths are a second line of defence for
// anything logged by hand.
import { type Logger as Pino, pino, stdTimeFunctions } from 'pino'

export const REDACT_PATHS = [
  'headers.authorization',
  'headers.cookie',
  'headers["x-api-key"]',
  'headers["airlock-agent-key"]',
  'headers["proxy-authorization"]',
  'input.request.headers.authorization',
  'input.request.headers["x-api-key"]',
  'input.request.headers["airlock-agent-key"]',
  'secret',
  'token',
  'key',
]

/** What REDACT_PATHS could find in a decision line; a line that has any of them goes through pino's redaction. */
const LINE_SECRETS = ['secret', 'token', 'key', 'headers']
const INPUT_SECRETS = ['authorization', 'x-api-key', 'airlock-agent-key']

export function createLogger(
  level: string,
  destination?: pino.DestinationStream,
): Pino & { decision(line: object): void } {
  const logger = pino(
    {
      level,
      base: { service: 'airlock' },
      timestamp: stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  )
  const stream = (logger as unknown as Record<symbol, { write(s: string): void }>)[pino.symbols.streamSym]!
  /**
   * The decision line, byte for byte what `logger.info(line, 'decision')` writes, in one JSON.stringify: pino's own
   * path walks every key of the line and its input separately and runs the redaction paths over it, which cost
   * about as much again (docs/performance.md, "Decision lines at info"). A line that carries anything the redaction
   * paths name (which a built input never does: it is redacted when built) takes pino's path.
   */
  const decision = (line: object): void => {
    if (!logger.isLevelEnabled('info')) return
    const l = line as Record<string, unknown> & { input?: { request?: { headers?: Record<string, unknown> } } }
    const headers = l.input?.request?.headers
    if (LINE_SECRETS.some((k) => k in l) || (headers && INPUT_SECRETS.some((k) => k in headers))) {
      logger.info(line, 'decision')
      return
    }
    const fields = JSON.stringify(line)
    const time = new Date().toISOString()
    stream.write(
      `{"level":"info","time":"${time}","service":"airlock"${fields.length > 2 ? `,${fields.slice(1, -1)}` : ''},"msg":"decision"}\n`,
    )
  }
  return Object.assign(logger, { decision })
}
