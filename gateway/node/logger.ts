// pino, configured once. Inputs are redacted when they are built; these paths are a second line of defence for
// anything logged by hand.
import { pino, stdTimeFunctions, type Logger as Pino } from 'pino'

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

export function createLogger(level: string, destination?: pino.DestinationStream): Pino {
  return pino(
    {
      level,
      base: { service: 'airlock' },
      timestamp: stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  )
}
