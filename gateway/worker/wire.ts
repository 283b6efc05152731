// What crosses from the Worker to the holds Durable Object over RPC: plain data only (structured clone), so URL,
// Headers and the route's config object are flattened here and rebuilt on the other side from the same bundled config.
// Errors cross the same way: AirlockError's class does not survive RPC, its code and details must.
import type { Config } from '../core/config/schema.ts'
import { AirlockError, type ErrorCode } from '../core/errors.ts'
import type { Evaluated, HeldRequest } from '../core/pipeline/request.ts'

export interface WireEvaluated extends Omit<Evaluated, 'route' | 'upstreamUrl' | 'headers'> {
  route: string
  url: string
  headers: [string, string][]
}

export interface WireHeld extends WireEvaluated {
  prefer: string | null
}

export function toWire(e: HeldRequest): WireHeld
export function toWire(e: Evaluated): WireEvaluated
export function toWire(e: Evaluated | HeldRequest): WireEvaluated | WireHeld {
  const { route, upstreamUrl, headers, ...rest } = e
  return { ...rest, route: route.name, url: upstreamUrl.href, headers: [...headers] }
}

export function fromWire(w: WireHeld, config: Config): HeldRequest
export function fromWire(w: WireEvaluated, config: Config): Evaluated
export function fromWire(w: WireEvaluated | WireHeld, config: Config): Evaluated | HeldRequest {
  const route = config.routes.find((r) => r.name === w.route)
  if (!route) throw new AirlockError('AIRLOCK_INTERNAL', `route "${w.route}" is not in the holds object's config`)
  const { url, headers, ...rest } = w
  return { ...rest, route, upstreamUrl: new URL(url), headers: new Headers(headers) }
}

export type WireResult<T> =
  | { ok: true; value: T }
  | { ok: false; error: { code: ErrorCode; message: string; details: Record<string, unknown> } }

/** Runs fn in the object and turns an AirlockError into data (anything else still throws: a bug, not a refusal). */
export async function capture<T>(fn: () => T | Promise<T>): Promise<WireResult<T>> {
  try {
    return { ok: true, value: await fn() }
  } catch (err) {
    if (err instanceof AirlockError)
      return { ok: false, error: { code: err.code, message: err.message, details: err.details } }
    throw err
  }
}

/** The Worker's side of capture: the value, or the same AirlockError again. */
export function unwrap<T>(r: WireResult<T>): T {
  if (r.ok) return r.value
  throw new AirlockError(r.error.code, r.error.message, r.error.details)
}
