// The `airlock` command as an operator, a security engineer and an approver use it: real processes.
import { execFile, spawn } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { COMMANDS } from '../../gateway/node/cli-args.ts'
import { buildPolicy } from '../../gateway/node/toolchain/build.ts'
import { repoRoot } from '../../gateway/node/toolchain/opa.ts'
import {
  approverTokens,
  keys,
  policySource,
  startTestGateway,
  type TestGateway,
  testApprovers,
  testConfig,
} from '../support/gateway.ts'
import { HOLD_RULES } from '../support/holds-policy.ts'
import { startUpstream, type TestUpstream } from '../support/upstream.ts'

const run = promisify(execFile)
const airlock = async (args: string[], env: Record<string, string> = {}) => {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(repoRoot, 'gateway/node/bin.ts'), ...args], {
      env: { ...process.env, ...env },
    })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

let upstream: TestUpstream
let gw: TestGateway
let configPath: string
let dataDir: string

beforeAll(async () => {
  upstream = await startUpstream()
  const policyDir = mkdtempSync(join(tmpdir(), 'airlock-cli-policy-'))
  await buildPolicy(policySource({ 'holdtest.rego': HOLD_RULES }), policyDir)
  const config = testConfig({
    policy: { dir: policyDir, watch: false },
    routes: [{ name: 'api', prefix: '/api', upstream: upstream.url, allow_private: true }],
    approver_groups: { ops: { max_grant_minutes: 30 }, payments: {} },
    approvers: testApprovers,
    holds: { wait_s: 0 },
  })
  dataDir = config.data_dir
  gw = await startTestGateway(config)
  configPath = join(mkdtempSync(join(tmpdir(), 'airlock-cli-')), 'airlock.json')
  writeFileSync(
    configPath,
    JSON.stringify({ data_dir: dataDir, policy: { dir: policyDir }, approver_groups: { ops: {} } }),
  )
})
afterAll(async () => {
  await gw?.close()
  await upstream?.close()
})

describe('airlock config check', () => {
  it('names the file, line, field and problem of every error', async () => {
    const bad = join(mkdtempSync(join(tmpdir(), 'airlock-bad-')), 'airlock.yaml')
    writeFileSync(
      bad,
      'server:\n  port: 99999\nroutes:\n  - name: stripe\n    prefix: stripe\n    upstream: ftp://x\n    bogus: 1\n',
    )
    const r = await airlock(['config', 'check', '--config', bad])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`${bad}:2:9: server.port:`)
    expect(r.stderr).toMatch(new RegExp(`${bad}:5:\\d+: routes\\[0\\]\\.prefix: must start with "/"`))
    expect(r.stderr).toMatch(/routes\[0\]\.upstream: must be an http\(s\) URL/)
    expect(r.stderr).toMatch(/routes\[0\]: Unrecognized key: "bogus"/)
  })

  it('accepts the shipped example config', async () => {
    const r = await airlock(['config', 'check'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/ok \(\d+ routes, 3 agents, 3 approvers\)/)
  })
})

describe('airlock policy', () => {
  it('eval prints the decision through the gateway code path', async () => {
    const input = join(mkdtempSync(join(tmpdir(), 'airlock-in-')), 'req.json')
    writeFileSync(input, JSON.stringify({ request: { method: 'POST', path: '/hold', host: 'x' }, agent: { id: 'a' } }))
    const r = await airlock(['policy', 'eval', '--input', input, '--config', configPath])
    expect(r.code).toBe(0)
    const out = JSON.parse(r.stdout)
    expect(out.decision).toMatchObject({
      action: 'hold',
      rule: 't.hold',
      approvers: ['ops'],
      summary: 'Hold one',
      timeout_s: 900,
    })
  })

  it('build fails on a built-in Airlock cannot execute, naming it and the file:line', async () => {
    const src = policySource({
      'bad.rego':
        'package airlock.rules.bad\n\nallow contains {"rule": "x", "reason": "y"} if {\n  http.send({"method": "GET", "url": "http://x"})\n}\n',
    })
    const r = await airlock([
      'policy',
      'build',
      '--source',
      src,
      '--out',
      mkdtempSync(join(tmpdir(), 'airlock-out-')),
      '--config',
      configPath,
    ])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/bad\.rego:4/)
    expect(r.stderr).toMatch(/http\.send/)
  })
})

describe('airlock holds (approver API)', () => {
  it('lists, shows and approves a hold; refuses without a token', async () => {
    const res = await fetch(`${gw.url}/api/hold`, {
      method: 'POST',
      headers: { 'airlock-agent-key': keys.billing, 'content-type': 'application/json' },
      body: '{"cli":1}',
    })
    const id = res.headers.get('airlock-hold-id')!
    const env = { AIRLOCK_APPROVER_TOKEN: approverTokens.bob }
    const list = await airlock(['holds', 'list', '--url', gw.url, '--config', configPath], env)
    expect(list.code).toBe(0)
    expect(list.stdout).toContain(id)
    expect(list.stdout).toMatch(/pending\s+high\s+billing-bot\s+ops\s+Hold one/)
    const show = await airlock(['holds', 'show', id, '--url', gw.url, '--config', configPath], env)
    expect(JSON.parse(show.stdout).hold.request.body_preview).toContain('"cli": 1')
    const approve = await airlock(
      ['holds', 'approve', id, '--yes', '--comment', 'looks right', '--url', gw.url, '--config', configPath],
      env,
    )
    expect(approve.code).toBe(0)
    expect(approve.stdout).toMatch(/Hold one\n {2}why: test hold/)
    expect(approve.stdout).toMatch(/approved: hold .* is now approved/)
    expect(approve.stdout).toMatch(/it is being sent upstream now; `airlock holds show \S+` gives the outcome/)
    const noToken = await airlock(['holds', 'list', '--url', gw.url, '--config', configPath])
    expect(noToken.code).toBe(1)
    expect(noToken.stderr).toMatch(/AIRLOCK_APPROVER_TOKEN/)
  })
})

describe('airlock report and audit verify (offline, on the data folder)', () => {
  it('reports, verifies the chain, and catches a modified row', async () => {
    const report = await airlock(['report', '--config', configPath])
    expect(report.code).toBe(0)
    expect(report.stdout).toMatch(/Holds by rule/)
    expect(report.stdout).toMatch(/t\.hold\s+1\s+1/)
    const ok = await airlock(['audit', 'verify', '--config', configPath])
    expect(ok.code).toBe(0)
    expect(ok.stdout).toMatch(/audit log ok: \d+ records/)

    const db = new DatabaseSync(join(dataDir, 'airlock.db'))
    db.prepare(`UPDATE audit SET actor = 'approver:mallory' WHERE type = 'hold.approved'`).run()
    db.close()
    const broken = await airlock(['audit', 'verify', '--config', configPath])
    expect(broken.code).toBe(1)
    expect(broken.stdout).toMatch(/audit log BROKEN/)
    expect(broken.stdout).toMatch(/content does not match its hash \(the record was edited\)/)
  })
})

describe('airlock command line', () => {
  it('every sub-command has its own --help, and prints it with exit 0', async () => {
    const results = await Promise.all(
      COMMANDS.map(async (c) => [c.path, await airlock([...c.path.split(' '), '--help'])] as const),
    )
    for (const [path, r] of results) {
      expect(r.code, path).toBe(0)
      expect(r.stdout, path).toMatch(new RegExp(`^usage: airlock ${path}\\b`))
      expect(r.stdout, path).toContain('--config FILE')
    }
    const group = await airlock(['holds', '--help'])
    expect(group.stdout).toMatch(/holds approve ID\s+show the hold, ask for confirmation, approve/)
  })

  it('an unknown flag is an error: a mistyped --coment records nothing', async () => {
    const res = await fetch(`${gw.url}/api/hold`, {
      method: 'POST',
      headers: { 'airlock-agent-key': keys.billing, 'content-type': 'application/json' },
      body: '{"typo":1}',
    })
    const id = res.headers.get('airlock-hold-id')!
    const env = { AIRLOCK_APPROVER_TOKEN: approverTokens.bob }
    const r = await airlock(
      ['holds', 'approve', id, '--yes', '--coment', 'looks right', '--url', gw.url, '--config', configPath],
      env,
    )
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('[AIRLOCK_USAGE] unknown flag --coment for "airlock holds approve"')
    expect(r.stderr).toContain('--comment')
    expect((await gw.holds.store.get(id))!.state).toBe('pending')
    expect((await airlock(['policy', 'test', 'extra'])).stderr).toContain('unexpected argument "extra"')
    expect((await airlock(['holds', 'approve'])).stderr).toContain('airlock holds approve needs ID')
    const replay = await airlock(['policy', 'replay', '--config', configPath])
    expect(replay.code).toBe(2)
    expect(replay.stderr).toContain('airlock: [AIRLOCK_USAGE] policy replay needs decision log files')
  })

  it('`airlock report | head` and a reader that closes early print no EPIPE stack', async () => {
    const bin = join(repoRoot, 'gateway/node/bin.ts')
    for (const reader of ['head -n 1', 'true']) {
      const script = `"${process.execPath}" "${bin}" report --config "${configPath}" | ${reader} >/dev/null; exit \${PIPESTATUS[0]}`
      const r = await run('bash', ['-c', script]).then(
        ({ stderr }) => ({ code: 0, stderr }),
        (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
      )
      expect(r.stderr, reader).toBe('')
      expect(r.code, reader).toBe(0)
    }
  })
})

describe('airlock holds approve: a person confirms', () => {
  const env = { AIRLOCK_APPROVER_TOKEN: approverTokens.bob }
  const hold = async (marker: string) => {
    const res = await fetch(`${gw.url}/api/hold`, {
      method: 'POST',
      headers: { 'airlock-agent-key': keys.billing, 'content-type': 'application/json' },
      body: JSON.stringify({ marker }),
    })
    return res.headers.get('airlock-hold-id')!
  }

  it('without a terminal it approves nothing unless --yes; --yes after `holds show` records the time from that view', async () => {
    const id = await hold('no-tty')
    const refused = await airlock(['holds', 'approve', id, '--url', gw.url, '--config', configPath], env)
    expect(refused.code).toBe(2)
    expect(refused.stdout).toMatch(/Hold one\n {2}why: test hold/) // it showed the hold first
    expect(refused.stderr).toContain(
      `nothing was approved: there is no terminal to confirm on. Review the hold with \`airlock holds show ${id}\`, then run \`airlock holds approve ${id} --yes\``,
    )
    expect((await gw.holds.store.get(id))!.state).toBe('pending')

    const show = await airlock(['holds', 'show', id, '--url', gw.url, '--config', configPath], env)
    expect(show.code).toBe(0)
    await new Promise((r) => setTimeout(r, 300))
    const yes = await airlock(
      ['holds', 'approve', id, '--yes', '--comment', 'read it', '--url', gw.url, '--config', configPath],
      env,
    )
    expect(yes.code).toBe(0)
    expect(yes.stdout).toMatch(/approved: hold \S+ is now approved \(\d+\.\d s after your first view/)
    const approval = (await gw.holds.store.get(id))!.approvals[0]!
    expect(approval.ms_from_view).toBeGreaterThanOrEqual(300) // from the `holds show`, not from the approve command's own view
  })

  it('--grant-minutes and --grant-uses add a grant to the approval: the next request in bounds is allowed, once', async () => {
    const send = (customer: string) =>
      fetch(`${gw.url}/api/granted`, {
        method: 'POST',
        headers: { 'airlock-agent-key': keys.billing, 'content-type': 'application/json' },
        body: JSON.stringify({ customer, n: Math.random() }),
      })
    const id = (await send('cus_cli')).headers.get('airlock-hold-id')!
    await airlock(['holds', 'show', id, '--url', gw.url, '--config', configPath], env)
    const bad = await airlock(
      ['holds', 'approve', id, '--yes', '--grant-minutes', '5', '--url', gw.url, '--config', configPath],
      env,
    )
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('--grant-uses needs a whole number >= 1')
    const yes = await airlock(
      [
        'holds',
        'approve',
        id,
        '--yes',
        '--grant-minutes',
        '5',
        '--grant-uses',
        '1',
        '--grant-same',
        'customer',
        '--url',
        gw.url,
        '--config',
        configPath,
      ],
      env,
    )
    expect(yes.code).toBe(0)
    expect(yes.stdout).toMatch(/grant grant_\S+: 1 uses until \S+ \(revoke: DELETE \/_airlock\/api\/grants\/grant_/)
    // Held (wait_s 0: 409 AIRLOCK_HOLD_PENDING) when outside the bounds or used up.
    expect((await send('cus_other')).headers.get('airlock-error-code')).toBe('AIRLOCK_HOLD_PENDING')
    expect((await send('cus_cli')).status).toBe(200)
    expect((await send('cus_cli')).headers.get('airlock-error-code')).toBe('AIRLOCK_HOLD_PENDING')
  })

  it('on a terminal it shows the hold and asks; only "yes" approves', async () => {
    const bin = join(repoRoot, 'gateway/node/bin.ts')
    // `script` gives the command a pseudo-terminal, as a person at a shell has.
    const onTerminal = (id: string, answer: string) =>
      new Promise<{ code: number | null; output: string }>((resolve) => {
        const cmd = `"${process.execPath}" "${bin}" holds approve ${id} --url ${gw.url} --config "${configPath}"`
        const child = spawn('script', ['-qefc', cmd, '/dev/null'], {
          env: { ...process.env, ...env },
          stdio: ['pipe', 'pipe', 'pipe'],
        })
        let output = ''
        let answered = false
        child.stdout.on('data', (d) => {
          output += d
          if (!answered && output.includes('Type "yes" to approve:')) {
            answered = true
            child.stdin.write(`${answer}\n`)
          }
        })
        child.on('exit', (code) => resolve({ code, output }))
      })
    const declined = await hold('tty-no')
    const no = await onTerminal(declined, 'no')
    expect(no.output).toMatch(/Hold one\r?\n {2}why: test hold/)
    expect(no.output).toContain('not approved')
    expect(no.code).toBe(1)
    expect((await gw.holds.store.get(declined))!.state).toBe('pending')

    const accepted = await hold('tty-yes')
    const yes = await onTerminal(accepted, 'yes')
    expect(yes.code).toBe(0)
    expect(yes.output).toMatch(/approved: hold \S+ is now approved/)
    expect((await gw.holds.store.get(accepted))!.state).not.toBe('pending')
  })
})

describe('airlock policy test: failures first, concisely', () => {
  it('lists each failure with the expression that failed, and the trace only with --verbose', async () => {
    const src = policySource({
      'x.rego': 'package x\n\nlimit := 3\n',
      'x_test.rego':
        'package x_test\n\nimport data.x\n\ntest_passes if x.limit == 3\n\ntest_fails if {\n  n := x.limit + 1\n  n == 5\n}\n',
    })
    const r = await airlock(['policy', 'test', '--source', src, '--config', configPath])
    expect(r.code).toBe(1)
    const lines = r.stdout.trim().split('\n')
    expect(lines[0]).toMatch(/^FAIL data\.x_test\.test_fails {2}\(.*x_test\.rego:7\)$/)
    expect(lines[1]).toMatch(/^ {2}failed: n == 5 {2}\(.*x_test\.rego:9\)$/)
    expect(lines.at(-1)).toBe(
      '1/2 passed, 1 failed (every test, and the trace of each failure: airlock policy test --verbose)',
    )
    expect(r.stdout).not.toMatch(/Enter|test_passes/) // no trace, no passing tests
    const verbose = await airlock(['policy', 'test', '--verbose', '--source', src, '--config', configPath])
    expect(verbose.code).toBe(1)
    expect(verbose.stdout).toMatch(/test_passes: PASS/)
    expect(verbose.stdout).toMatch(/\| Fail /)
  })
})

describe('the policy and the config agree on approver groups', () => {
  it('policy eval and config check report a hold naming an approver group that is not configured', async () => {
    const rules =
      'package airlock.rules.groups\n\nhold contains {"rule": "g.hold", "reason": "r", "approvers": ["nobody-configured"]} if {\n  input.request.path == "/g"\n}\n'
    const src = policySource({ 'groups.rego': rules })
    const dir = mkdtempSync(join(tmpdir(), 'airlock-groups-'))
    const out = join(dir, 'policy')
    const config = join(dir, 'airlock.json')
    writeFileSync(
      config,
      JSON.stringify({ data_dir: join(dir, 'data'), policy: { source: src, dir: out }, approver_groups: { ops: {} } }),
    )
    expect((await airlock(['policy', 'build', '--config', config])).code).toBe(0) // the build cannot know the config

    const input = join(dir, 'req.json')
    writeFileSync(input, JSON.stringify({ request: { method: 'POST', path: '/g', host: 'x' }, agent: { id: 'a' } }))
    const evaluated = await airlock(['policy', 'eval', '--input', input, '--config', config])
    expect(evaluated.code).toBe(1)
    expect(JSON.parse(evaluated.stdout).decision).toMatchObject({ action: 'hold', approvers: ['nobody-configured'] })
    expect(evaluated.stderr).toContain(
      '[AIRLOCK_CONFIG_MISMATCH] this hold names approver group "nobody-configured", which the config does not define (approver_groups: ops)',
    )

    const checked = await airlock(['config', 'check', '--config', config])
    expect(checked.code).toBe(1)
    expect(checked.stderr).toMatch(
      /\[AIRLOCK_CONFIG_MISMATCH\] the policy and the config disagree:\n {2}- .*groups\.rego:3: a hold names approver group "nobody-configured"/,
    )

    writeFileSync(
      config,
      JSON.stringify({
        data_dir: join(dir, 'data'),
        policy: { source: src, dir: out },
        approver_groups: { 'nobody-configured': {} },
      }),
    )
    const fixed = await airlock(['config', 'check', '--config', config])
    expect(fixed.code).toBe(0)
    expect(fixed.stdout).toMatch(/every approver group its holds name is configured/)
  })
})

describe('reproducible policy builds', () => {
  it('the same source builds to the same revision wherever it is built', async () => {
    const a = join(mkdtempSync(join(tmpdir(), 'airlock-repro-a-')), 'policies')
    const b = join(mkdtempSync(join(tmpdir(), 'airlock-repro-b-')), 'some', 'other', 'folder')
    for (const dir of [a, b]) cpSync(join(repoRoot, 'policies'), dir, { recursive: true })
    const revisions = []
    for (const dir of [a, b]) {
      const out = mkdtempSync(join(tmpdir(), 'airlock-repro-out-'))
      const r = await airlock(['policy', 'build', '--source', dir, '--out', out, '--config', configPath])
      expect(r.code).toBe(0)
      revisions.push(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).revision)
    }
    expect(revisions[0]).toMatch(/^[0-9a-f]{64}$/)
    expect(revisions[1]).toBe(revisions[0])
  })
})
