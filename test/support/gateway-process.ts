// A real `airlock start` in its own process, for the tests that kill it (-9) or run several gateways side by side.
import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'
import { repoRoot } from '../../gateway/node/toolchain/opa.ts'
import { testSecrets } from './gateway.ts'

export interface GatewayProcess {
  url: string
  child: ChildProcess
  /** Everything the process printed so far (stdout and stderr). */
  output(): string
}

/** Starts `airlock start --config <path>` and resolves with its URL once its start line names the port it listens on. */
export async function startGatewayProcess(opts: {
  configPath: string
  env?: Record<string, string>
  /** Collects the child so the suite can kill it in afterAll. */
  children: ChildProcess[]
  timeoutMs?: number
}): Promise<GatewayProcess> {
  const child = spawn(process.execPath, [join(repoRoot, 'gateway/node/bin.ts'), 'start', '--config', opts.configPath], {
    env: { ...process.env, ...testSecrets, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  opts.children.push(child)
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${out}`)), opts.timeoutMs ?? 30_000)
    child.stdout!.on('data', () => {
      const m = /"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(Number(m[1]))
      }
    })
    child.on('exit', (code) => reject(new Error(`gateway exited with ${code}:\n${out}`)))
  })
  return { url: `http://127.0.0.1:${port}`, child, output: () => out }
}
