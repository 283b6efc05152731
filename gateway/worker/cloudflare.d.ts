// The few Workers runtime types the adapter uses, declared here so `tsc -p .` (DOM lib, Node types) checks gateway/worker
// without @cloudflare/workers-types, whose globals clash with the DOM lib. Only what Airlock calls is declared.

declare module 'cloudflare:workers' {
  export abstract class DurableObject<Env = unknown> {
    protected ctx: DurableObjectState
    protected env: Env
    constructor(ctx: DurableObjectState, env: Env)
  }
}

/** wrangler's default rule: `import mod from './x.wasm'` gives a compiled module (compiling bytes at run time is refused). */
declare module '*.wasm' {
  const mod: WebAssembly.Module
  export default mod
}

interface DurableObjectState {
  readonly id: DurableObjectId
  readonly storage: DurableObjectStorage
  blockConcurrencyWhile<T>(fn: () => Promise<T>): Promise<T>
  /** Keeps the object from being evicted until the promise settles (compatibility date 2026-10-01 or later). */
  waitUntil(promise: Promise<unknown>): void
  /** Resets the object: in-flight calls fail with durableObjectReset, storage is kept. */
  abort(reason?: string): void
}

interface DurableObjectStorage {
  readonly sql: SqlStorage
  transactionSync<T>(fn: () => T): T
  getAlarm(): Promise<number | null>
  setAlarm(scheduledTime: number | Date): Promise<void>
  deleteAlarm(): Promise<void>
}

type SqlStorageValue = ArrayBuffer | string | number | null

interface SqlStorage {
  exec(query: string, ...bindings: unknown[]): SqlStorageCursor
}

interface SqlStorageCursor {
  toArray(): Record<string, SqlStorageValue>[]
  one(): Record<string, SqlStorageValue>
  readonly rowsRead: number
  readonly rowsWritten: number
}

interface DurableObjectId {
  toString(): string
}

/** RPC: every public method of the object becomes an async method on its stub. */
type DurableObjectStub<T> = {
  fetch(request: Request): Promise<Response>
} & {
  [K in keyof T as T[K] extends (...args: never[]) => unknown ? K : never]: T[K] extends (...args: infer A) => infer R
    ? (...args: A) => Promise<Awaited<R>>
    : never
}

interface DurableObjectNamespace<T = unknown> {
  idFromName(name: string): DurableObjectId
  get(id: DurableObjectId): DurableObjectStub<T>
}

/** Errors from a Durable Object call carry these (https://developers.cloudflare.com/durable-objects/best-practices/error-handling/). */
interface DurableObjectError extends Error {
  /** The object was reset (code update, eviction, abort) while the call was in flight. */
  durableObjectReset?: boolean
  retryable?: boolean
  overloaded?: boolean
  remote?: boolean
}

// Written by the build step (gateway/node/toolchain/worker-bundle.ts); declared so the code typechecks before a build. Where a file
// exists, TypeScript reads its real type instead.
declare module '*/config.json' {
  const config: unknown
  export default config
}
declare module '*/policy/data.json' {
  const data: unknown
  export default data
}
declare module '*/policy/manifest.json' {
  const manifest: { revision: string }
  export default manifest
}
declare module '*/shadow/data.json' {
  const data: unknown
  export default data
}
declare module '*/shadow/manifest.json' {
  const manifest: { revision: string }
  export default manifest
}
