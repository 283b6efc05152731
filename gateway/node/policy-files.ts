// Loads the compiled policy from its folder and hot-reloads it: a new build is swapped in atomically once it has
// loaded; a build that fails to load is logged and rejected, and the previous policy keeps serving.
import { createHash } from 'node:crypto'
import { type FSWatcher, mkdirSync, watch } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { AirlockError, describeThrown } from '../core/errors.ts'
import { loadWasmPolicy } from '../core/policy/evaluator.ts'
import type { Logger, PolicyEvaluator, PolicySource } from '../core/ports.ts'

export function policyRevision(wasm: Uint8Array, data: Uint8Array): string {
  return createHash('sha256').update(wasm).update('\0').update(data).digest('hex')
}

/** Reads and loads a policy folder; throws with a message naming the folder and what is wrong. */
export async function loadPolicyDir(dir: string): Promise<PolicyEvaluator> {
  let manifest: { revision?: string }
  try {
    manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'))
  } catch (err) {
    throw new AirlockError(
      'AIRLOCK_POLICY_FILES',
      `no compiled policy in ${dir} (${describeThrown(err)}); run \`airlock policy build\``,
    )
  }
  const wasm = await readFile(join(dir, 'policy.wasm'))
  const dataBytes = await readFile(join(dir, 'data.json'))
  const revision = policyRevision(wasm, dataBytes)
  if (manifest.revision !== revision) {
    throw new AirlockError(
      'AIRLOCK_POLICY_FILES',
      `policy files in ${dir} do not match manifest.json (a build is being written, or the files were edited)`,
    )
  }
  let data: unknown
  try {
    data = JSON.parse(dataBytes.toString('utf8'))
  } catch (err) {
    throw new AirlockError(
      'AIRLOCK_POLICY_FILES',
      `${join(dir, 'data.json')} is not valid JSON: ${describeThrown(err)}`,
    )
  }
  return loadWasmPolicy({ wasm, data, revision })
}

export class PolicyFiles implements PolicySource {
  #current: PolicyEvaluator | undefined
  #watcher: FSWatcher | undefined
  #timer: NodeJS.Timeout | undefined
  #reloading: Promise<void> = Promise.resolve()
  readonly #dir: string
  readonly #logger: Logger
  readonly #shadow: boolean

  /** `role: 'shadow'` for policy.shadow: the same loading and hot reload, logged as the shadow (which enforces nothing). */
  constructor(dir: string, logger: Logger, role: 'policy' | 'shadow' = 'policy') {
    this.#dir = dir
    this.#logger = logger
    this.#shadow = role === 'shadow'
  }

  current(): PolicyEvaluator | undefined {
    return this.#current
  }

  /** Loads now; resolves true when a (new) policy is serving. */
  reload(): Promise<boolean> {
    const next = this.#reloading.then(async () => {
      try {
        const policy = await loadPolicyDir(this.#dir)
        if (policy.revision === this.#current?.revision) return true
        const previous = this.#current?.revision
        this.#current = policy
        const event = this.#shadow ? 'shadow_policy_loaded' : 'policy_loaded'
        this.#logger.info(
          { event, revision: policy.revision, previous_revision: previous },
          this.#shadow ? 'shadow policy loaded' : 'policy loaded',
        )
        return true
      } catch (err) {
        this.#logger.error(
          {
            event: this.#shadow ? 'shadow_policy_rejected' : 'policy_rejected',
            dir: this.#dir,
            error: describeThrown(err),
            serving_revision: this.#current?.revision ?? null,
          },
          this.#shadow
            ? this.#current
              ? 'shadow policy rejected; the previous shadow policy keeps running'
              : 'shadow policy rejected; no shadow policy runs (requests are not affected)'
            : this.#current
              ? 'policy rejected; the previous policy keeps serving'
              : 'policy rejected; no policy is serving, every request is refused',
        )
        return false
      }
    })
    this.#reloading = next.then(() => undefined)
    return next
  }

  /** Watches the folder; manifest.json is written last by `airlock policy build`, so changes settle on it. */
  watch(debounceMs = 100): void {
    // The folder may not exist before the first build: create it so the build that fills it is seen.
    mkdirSync(this.#dir, { recursive: true })
    this.#watcher = watch(this.#dir, () => {
      clearTimeout(this.#timer)
      this.#timer = setTimeout(() => void this.reload(), debounceMs)
    })
    this.#watcher.on('error', (err) =>
      this.#logger.error({ event: 'policy_watch', error: describeThrown(err) }, 'policy watch failed'),
    )
  }

  close(): void {
    clearTimeout(this.#timer)
    this.#watcher?.close()
  }
}
