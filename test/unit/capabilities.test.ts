// policies/capabilities.json is generated (tools/gen-capabilities.ts) and committed; these tests keep it current and
// check that it does its job: `opa build` rejects a policy calling a built-in Airlock cannot execute, naming the
// built-in and the file:line, and accepts the ones Airlock provides.
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { findOpa } from '../../gateway/node/toolchain/opa.ts'
import {
  CAPABILITIES_PATH,
  classifyBuiltins,
  formatCapabilities,
  generateCapabilities,
} from '../../tools/gen-capabilities.ts'

const run = promisify(execFile)
const TIMEOUT = 60_000 // the first run may build OPA

const dirs: string[] = []
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })))
})

/** Writes `source` as policy.rego in a fresh folder and builds it like `airlock policy build` does. */
async function build(source: string): Promise<{ ok: boolean; output: string; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-capabilities-test-'))
  dirs.push(dir)
  const file = join(dir, 'policy.rego')
  await writeFile(file, source)
  const args = [
    'build',
    '-t',
    'wasm',
    '-e',
    'airlock/decision',
    '--capabilities',
    CAPABILITIES_PATH,
    '-o',
    join(dir, 'bundle.tar.gz'),
    file,
  ]
  try {
    const { stdout, stderr } = await run(findOpa(), args)
    return { ok: true, output: stdout + stderr, file }
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string }
    return { ok: false, output: (e.stdout ?? '') + (e.stderr ?? '') || e.message, file }
  }
}

describe('policies/capabilities.json', () => {
  it(
    'is current: regenerate with `node tools/gen-capabilities.ts` after changing OPA, the opa-wasm SDK or HOST_BUILTINS',
    async () => {
      const committed = await readFile(CAPABILITIES_PATH, 'utf8')
      const generated = formatCapabilities(await generateCapabilities(findOpa()))
      // Compare names first for a readable failure, then the exact text.
      const names = (text: string) => (JSON.parse(text) as { builtins: { name: string }[] }).builtins.map((b) => b.name)
      expect(names(committed)).toEqual(names(generated))
      expect(committed).toBe(generated)
    },
    TIMEOUT,
  )

  it(
    'keeps rego_v1 and leaves out deprecated and unexecutable built-ins',
    async () => {
      const caps = JSON.parse(await readFile(CAPABILITIES_PATH, 'utf8')) as {
        features: string[]
        builtins: { name: string }[]
      }
      expect(caps.features).toContain('rego_v1')
      const names = new Set(caps.builtins.map((b) => b.name))
      for (const name of ['http.send', 'io.jwt.decode', 'net.lookup_ip_addr', 'opa.runtime', 'trace', 're_match'])
        expect(names).not.toContain(name)
      const sources = await classifyBuiltins(findOpa())
      for (const name of ['regex.match', 'sprintf', 'time.now_ns']) expect(names).toContain(name)
      expect(sources.sdk).toContain('sprintf')
      expect(sources.host).toContain('time.now_ns')
      expect(sources.native).toContain('regex.match')
      expect(sources.unavailable).toContain('http.send')
    },
    TIMEOUT,
  )

  it.each([
    ['http.send', 'http.send({"method": "GET", "url": "https://example.com"})'],
    ['io.jwt.decode', 'io.jwt.decode(input.request.headers.authorization)'],
  ])(
    'makes opa build reject a policy calling %s, naming it and its file:line',
    async (name, call) => {
      const { ok, output, file } = await build(
        [
          'package airlock',
          '',
          'detail := ' + call,
          '',
          'decision := {"action": "allow", "rule": "t", "reason": "t", "x": detail}',
          '',
        ].join('\n'),
      )
      expect(ok).toBe(false)
      expect(output).toContain(`${file}:3: rego_type_error: undefined function ${name}`)
    },
    TIMEOUT,
  )

  it(
    'lets opa build accept built-ins compiled into the wasm, provided by the SDK and implemented on the host',
    async () => {
      const { ok, output } = await build(
        [
          'package airlock',
          '',
          'decision := {"action": "allow", "rule": "t", "reason": sprintf("%s", [lower("X")]), "x": [',
          '\tregex.match(`^a`, "abc"),', // native
          '\tregex.split(`,`, "a,b"),', // SDK
          '\ttime.now_ns(),', // host
          '\tcrypto.sha256("x"),', // host
          '\tsome_in_template,',
          ']}',
          '',
          'some_in_template := $"{1 + 1}" if "a" in {"a"}',
          '',
        ].join('\n'),
      )
      expect(output).toBe('')
      expect(ok).toBe(true)
    },
    TIMEOUT,
  )
})
