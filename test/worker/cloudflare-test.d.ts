// The parts of the Workers Vitest integration's modules the tests use (its own types need @cloudflare/workers-types,
// whose globals clash with the DOM lib `tsc -p .` checks against).
declare module 'cloudflare:test' {
  export function runInDurableObject<R>(
    stub: unknown,
    callback: (instance: any, state: DurableObjectState) => R | Promise<R>,
  ): Promise<R>
  export function runDurableObjectAlarm(stub: unknown): Promise<boolean>
  export function evictDurableObject(stub: unknown): Promise<void>
  export function createExecutionContext(): import('hono').ExecutionContext
}

declare module 'cloudflare:workers' {
  export const env: import('../../gateway/worker/worker.ts').Env
  export const exports: { default: { fetch(input: string | Request | URL, init?: RequestInit): Promise<Response> } }
}
