// Host built-ins (gateway/core/policy/builtins.ts): the list as a whole, the injected clock, and a policy compiled to
// wasm whose results must equal `opa eval`'s. Each family's table of cases against OPA is in test/unit/builtins/.
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadPolicy } from '@open-policy-agent/opa-wasm'
import { x as untar } from 'tar'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHostBuiltins, HOST_BUILTINS } from '../../gateway/core/policy/builtins.ts'
import { findOpa } from '../../gateway/node/toolchain/opa.ts'

// The families with a table of cases in test/unit/builtins/<family>.test.ts (each checks it covers its family).
const FAMILIES = ['time', 'units', 'crypto', 'urlquery', 'hex', 'strings', 'net']

describe('host built-ins', () => {
  const builtins = createHostBuiltins({ nowNs: () => 0 })

  it('implements exactly the built-ins it lists, each in a family with a table of cases', () => {
    expect(Object.keys(builtins).sort()).toEqual([...HOST_BUILTINS].sort())
    expect(HOST_BUILTINS.filter((b) => !FAMILIES.includes(b.split('.')[0]!))).toEqual([])
  })

  it('time.now_ns asks the injected clock on every call (the gateway pins it per evaluation)', () => {
    let now = 1_700_000_000_000_000_000
    const { 'time.now_ns': nowNs } = createHostBuiltins({ nowNs: () => now })
    expect(nowNs!()).toBe(1_700_000_000_000_000_000)
    expect(nowNs!()).toBe(1_700_000_000_000_000_000)
    now += 1e9
    expect(nowNs!()).toBe(1_700_000_001_000_000_000)
  })

  it('throws Error instances', () => {
    expect(() => builtins['hex.decode']!('zz')).toThrowError(Error)
  })

  it('stays runtime-agnostic: no node:* imports in the index or any family module', () => {
    const dir = new URL('../../gateway/core/policy/builtins/', import.meta.url)
    const files = [new URL('../builtins.ts', dir), ...readdirSync(dir).map((f) => new URL(f, dir))]
    expect(files.length).toBeGreaterThan(5)
    for (const file of files) expect(readFileSync(file, 'utf8')).not.toMatch(/from\s+['"]node:|import\(\s*['"]node:/)
  })
})

// Every host built-in, with arguments from the input so that nothing is folded at compile time.
const POLICY = `package test

result := {
	"now": time.now_ns(),
	"now_again": time.now_ns(),
	"today": time.date(time.now_ns()),
	"parse_rfc3339_ns": time.parse_rfc3339_ns(input.rfc3339),
	"parse_ns": time.parse_ns("RFC1123", input.http_date),
	"date": time.date([input.ns, "Asia/Tokyo"]),
	"clock": time.clock([input.ns, "Asia/Kolkata"]),
	"weekday": time.weekday(input.ns),
	"add_date": time.add_date(input.ns, 0, 1, 0),
	"diff": time.diff(input.ns, 0),
	"parse_bytes": units.parse_bytes(input.size),
	"parse": units.parse(input.quantity),
	"sha256": crypto.sha256(input.text),
	"md5": crypto.md5(input.text),
	"sha1": crypto.sha1(input.text),
	"hmac": crypto.hmac.sha256(input.text, input.key),
	"encode": urlquery.encode(input.text),
	"decode": urlquery.decode(input.encoded),
	"encode_object": urlquery.encode_object({"q": input.text, "tags": ["b", "a"]}),
	"decode_object": urlquery.decode_object(input.query),
	"prefix": strings.any_prefix_match(input.host, {"api.", "www."}),
	"suffix": strings.any_suffix_match([input.host], [".example.com"]),
	"cidr": net.cidr_is_valid(input.cidr),
	"hex": hex.encode(input.text),
	"unhex": hex.decode(input.hex),
}

broken := hex.decode(input.text)
`

const INPUT = {
  rfc3339: '2023-11-14T22:13:20.123456789+01:00',
  http_date: 'Tue, 14 Nov 2023 22:13:20 GMT',
  ns: 1_700_000_000_000_000_000,
  size: '1.5GiB',
  quantity: '250m',
  text: 'héllo wörld & ☃',
  key: 'secret',
  encoded: 'a%20b+c%E2%98%83',
  query: 'a=1&b=2&a=3&empty',
  host: 'api.example.com',
  cidr: '2001:db8::/32',
  hex: 'e298',
}

describe('host built-ins in a policy compiled to wasm', () => {
  let dir: string
  let opa: string

  beforeAll(() => {
    opa = findOpa()
    dir = mkdtempSync(join(tmpdir(), 'airlock-builtins-'))
    writeFileSync(join(dir, 'policy.rego'), POLICY)
    execFileSync(
      opa,
      ['build', '-t', 'wasm', '-e', 'test/result', '-e', 'test/broken', '-o', 'bundle.tar.gz', 'policy.rego'],
      { cwd: dir },
    )
    // Into its own directory: the bundle also holds a policy.rego (the entrypoints only).
    mkdirSync(join(dir, 'bundle'))
    untar({ file: join(dir, 'bundle.tar.gz'), cwd: join(dir, 'bundle'), sync: true }, ['/policy.wasm'])
  }, 120_000)

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('returns what opa eval returns, with time.now_ns from the pinned clock', async () => {
    const wasm = readFileSync(join(dir, 'bundle/policy.wasm'))
    let pinned = 0
    const policy = await loadPolicy(wasm, { initial: 10, maximum: 1024 }, createHostBuiltins({ nowNs: () => pinned }))

    pinned = 1_700_000_000_000_000_000
    const [{ result }] = policy.evaluate(INPUT, 'test/result')
    const stdout = execFileSync(
      opa,
      ['eval', '--strict-builtin-errors', '-f', 'json', '-d', 'policy.rego', '--stdin-input', 'data.test.result'],
      {
        cwd: dir,
        input: JSON.stringify(INPUT),
        encoding: 'utf8',
      },
    )
    const expected = JSON.parse(stdout).result[0].expressions[0].value

    // opa eval's clock is the real one; the wasm policy's is pinned.
    const { now, now_again, today, ...rest } = result
    expect([now, now_again, today]).toEqual([1_700_000_000_000_000_000, 1_700_000_000_000_000_000, [2023, 11, 14]])
    for (const key of ['now', 'now_again', 'today']) delete expected[key]
    expect(rest).toEqual(expected)
    expect(Object.keys(rest)).toHaveLength(HOST_BUILTINS.length - 1) // one key per other built-in
  })

  it('turns a failing built-in into an evaluation error', async () => {
    const wasm = readFileSync(join(dir, 'bundle/policy.wasm'))
    const policy = await loadPolicy(wasm, { initial: 10, maximum: 1024 }, createHostBuiltins({ nowNs: () => 0 }))
    expect(() => policy.evaluate(INPUT, 'test/broken')).toThrowError(
      new Error("hex.decode: encoding/hex: invalid byte: U+0068 'h'"),
    )
  })
})
