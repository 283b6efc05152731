// `airlock start` as a newcomer meets it: real processes, a real compiled policy, real ports.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildPolicy } from '../../gateway/node/toolchain/build.ts'
import { repoRoot } from '../../gateway/node/toolchain/opa.ts'
import { policySource, testAgents, testSecrets } from '../support/gateway.ts'
import { HOLD_RULES } from '../support/holds-policy.ts'

const children: ChildProcess[] = []
let policyDir: string

beforeAll(async () => {
  policyDir = mkdtempSync(join(tmpdir(), 'airlock-start-policy-'))
  await buildPolicy(policySource({ 'holdtest.rego': HOLD_RULES }), policyDir)
})
afterAll(() => {
  for (const c of children) c.kill('SIGKILL')
})

function writeConfig(extra: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-start-'))
  const file = join(dir, 'airlock.json')
  const config = {
    server: { host: '127.0.0.1', port: 0 },
    data_dir: join(dir, 'data'),
    policy: { dir: policyDir, watch: false },
    agents: testAgents,
    routes: [{ name: 'api', prefix: '/api', upstream: 'http://127.0.0.1:9', allow_private: true }],
    ...extra,
  }
  writeFileSync(file, JSON.stringify(config))
  return file
}

/** Runs `airlock start …` until it exits or prints its "started" line; returns what it wrote. */
function start(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [join(repoRoot, 'gateway/node/bin.ts'), 'start', ...args], {
    env: { ...process.env, ...testSecrets, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d) => (stdout += d))
  child.stderr!.on('data', (d) => (stderr += d))
  const started = Date.now()
  return new Promise<{
    code: number | null
    stdout: string
    stderr: string
    ms: number
    url?: string
    child: ChildProcess
  }>((resolve) => {
    child.stdout!.on('data', () => {
      const m = /"event":"started".*?"url":"([^"]+)"/.exec(stdout)
      if (m) resolve({ code: null, stdout, stderr, ms: Date.now() - started, url: m[1]!, child })
    })
    child.on('exit', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started, child }))
  })
}

const logLines = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)

describe('airlock start', () => {
  let taken: Server
  let takenPort: number
  beforeAll(async () => {
    taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    takenPort = (taken.address() as { port: number }).port
  })
  afterAll(() => new Promise<void>((resolve) => taken.close(() => resolve())))

  it('exits non-zero at once with a clear message when its port is taken', async () => {
    const r = await start(['--config', writeConfig(), '--port', String(takenPort)])
    expect(r.code).toBe(1)
    expect(r.ms).toBeLessThan(15_000) // it exits by itself; before, it kept running and held the database open
    expect(r.stderr).toContain(
      `airlock: [AIRLOCK_LISTEN_FAILED] 127.0.0.1:${takenPort} (the gateway) is already in use`,
    )
    expect(r.stderr).toMatch(/--port, \$AIRLOCK_PORT or server\.port/)
    expect(r.stderr).not.toMatch(/\n\s+at /) // a message, not a stack
  })

  it('exits non-zero when a route port is taken, naming the route', async () => {
    const config = writeConfig({
      routes: [{ name: 'own-port', port: takenPort, upstream: 'http://127.0.0.1:9', allow_private: true }],
    })
    const r = await start(['--config', config])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`127.0.0.1:${takenPort} (route "own-port") is already in use`)
  })

  it('--port and $AIRLOCK_PORT move the gateway without editing the config; --port wins', async () => {
    const free = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number }
        s.close(() => resolve(port))
      })
    })
    const r = await start(
      ['--config', writeConfig({ server: { host: '127.0.0.1', port: 1 } }), '--host', '127.0.0.1'],
      { AIRLOCK_PORT: String(free) },
    )
    expect(r.url).toBe(`http://127.0.0.1:${free}`)
    expect((await fetch(`${r.url}/healthz`)).status).toBe(200)
    r.child.kill('SIGKILL')
    const flagged = await start(['--config', writeConfig(), '--port', '0'], { AIRLOCK_PORT: String(takenPort) })
    expect(flagged.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    flagged.child.kill('SIGKILL')
  })

  it('refuses a --port that is not a port number', async () => {
    const r = await start(['--config', writeConfig(), '--port', '80x'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('[AIRLOCK_USAGE] --port must be a port number from 0 to 65535, not "80x"')
  })

  it('warns at start about a route whose credential variable is unset, naming the route and the variable only', async () => {
    const config = writeConfig({
      routes: [
        {
          name: 'stripe',
          prefix: '/stripe',
          upstream: 'http://127.0.0.1:9',
          allow_private: true,
          credential: { env: 'AIRLOCK_TEST_UNSET_CREDENTIAL' },
        },
        {
          name: 'github',
          prefix: '/github',
          upstream: 'http://127.0.0.1:9',
          allow_private: true,
          credential: { env: 'AIRLOCK_TEST_SET_CREDENTIAL' },
        },
      ],
    })
    const r = await start(['--config', config], { AIRLOCK_TEST_SET_CREDENTIAL: 'ghp_not_in_any_log' })
    r.child.kill('SIGKILL')
    expect(r.url).toBeDefined()
    const warnings = logLines(r.stdout).filter((l) => l.event === 'config' && l.route !== undefined)
    expect(warnings).toEqual([expect.objectContaining({ route: 'stripe', env: 'AIRLOCK_TEST_UNSET_CREDENTIAL' })])
    expect(warnings[0]!.msg).toMatch(
      /route "stripe": credential environment variable AIRLOCK_TEST_UNSET_CREDENTIAL is not set/,
    )
    expect(r.stdout + r.stderr).not.toContain('ghp_not_in_any_log')
  })
})
