// Structured JSON lines on the console, shaped like the Node adapter's pino lines ({level, time, service, ...fields,
// msg}), so decision logs read the same on both runtimes. pino transports do not run on Workers; Workers Logs and
// `wrangler tail` pick up console output, and the console method sets the level they show.
import type { Logger } from '../core/ports.ts'

const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity } as const
export type LogLevel = keyof typeof LEVELS

// The same second line of defence as gateway/node/logger.ts REDACT_PATHS: inputs are redacted when they are built,
// these catch anything logged by hand.
const SECRET_HEADERS = ['authorization', 'cookie', 'x-api-key', 'airlock-agent-key', 'proxy-authorization']
const SECRET_FIELDS = ['secret', 'token', 'key']
const CENSOR = '[redacted]'

function redactHeaders(h: unknown, names: readonly string[]): unknown {
  if (!h || typeof h !== 'object') return h
  const out = { ...(h as Record<string, unknown>) }
  for (const n of names) if (n in out) out[n] = CENSOR
  return out
}

function redact(obj: Record<string, unknown>): Record<string, unknown> {
  const out = { ...obj }
  for (const f of SECRET_FIELDS) if (f in out) out[f] = CENSOR
  if ('headers' in out) out.headers = redactHeaders(out.headers, SECRET_HEADERS)
  const input = out.input as { request?: { headers?: unknown } } | undefined
  if (input?.request?.headers) {
    out.input = {
      ...input,
      request: {
        ...input.request,
        headers: redactHeaders(input.request.headers, ['authorization', 'x-api-key', 'airlock-agent-key']),
      },
    }
  }
  return out
}

export function createConsoleLogger(
  level: LogLevel = 'info',
  sink: (level: string, line: string) => void = write,
): Logger {
  const min = LEVELS[level]
  const at = (name: 'debug' | 'info' | 'warn' | 'error') => (obj: object, msg?: string) => {
    if (LEVELS[name] < min) return
    const line = {
      level: name,
      time: new Date().toISOString(),
      service: 'airlock',
      ...redact(obj as Record<string, unknown>),
      ...(msg === undefined ? {} : { msg }),
    }
    sink(name, JSON.stringify(line))
  }
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}

function write(level: string, line: string): void {
  if (level === 'error') console.error(line)
  else if (level === 'warn') console.warn(line)
  else console.log(line)
}
