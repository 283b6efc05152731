// Fixtures for forward-proxy mode: a test PKI the upstreams' certificates come from (not Airlock's CA, so a client
// that sees it knows it was not intercepted), HTTPS upstreams on loopback that record what reaches them, a gateway
// in proxy mode with its own interception CA, and runners for the real clients (curl, Python) with a clean env.
import { execFile } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ConfigInput } from '../../gateway/core/config/schema.ts'
import { initCa } from '../../gateway/node/proxy/ca-store.ts'
import { createCa, issueLeaf, loadCa } from '../../gateway/node/proxy/certificates.ts'
import { buildPolicy } from '../../gateway/node/toolchain/build.ts'
import {
  keys,
  policySource,
  startTestGateway,
  type TestGateway,
  testApprovers,
  testConfig,
} from '../support/gateway.ts'
import { echo, type Handler, startUpstream, type TestUpstream } from '../support/upstream.ts'

export const tmp = () => mkdtempSync(join(tmpdir(), 'airlock-proxy-test-'))

export interface TestPki {
  caPem: string
  /** The CA certificate as a file, for clients and for Airlock's upstream trust. */
  caFile: string
  leaf: { certPem: string; keyPem: string }
}

/** A CA standing in for the public web PKI, and one leaf for localhost and 127.0.0.1 that every upstream serves. */
export async function testPki(): Promise<TestPki> {
  const { certPem, keyPem } = createCa({ commonName: 'Upstream test CA', validityDays: 2 })
  const caFile = join(tmp(), 'upstream-ca.pem')
  writeFileSync(caFile, certPem)
  const leaf = await issueLeaf(loadCa(certPem, keyPem), ['localhost', '127.0.0.1'])
  return { caPem: certPem, caFile, leaf }
}

export type HttpsUpstream = TestUpstream

/** A recording upstream serving HTTPS with the test PKI's leaf. */
export function startHttpsUpstream(pki: TestPki, handler: Handler = echo): Promise<HttpsUpstream> {
  return startUpstream(handler, { tls: { cert: pki.leaf.certPem, key: pki.leaf.keyPem } })
}

/**
 * Rules for the proxy suites. Routes: api (intercepted, JSON body rules), openai (intercepted, model allow-list),
 * registry (tunnel, allowed), blocked (tunnel, no rule: default deny), plain (http://, forward mode), byhost/byport
 * (reverse mode by Host header and by port). Unknown hosts: dev-bot may read and tunnel; its writes are held.
 */
export const PROXY_RULES = `package airlock.rules.proxytest

import data.airlock.lib

allow contains {"rule": "p.tunnel", "reason": "the registry may be reached through a tunnel"} if {
  lib.method == "CONNECT"
  lib.route == "registry"
}

allow contains {"rule": "p.read", "reason": "reads are fine"} if {
  lib.route in {"api", "plain", "byhost", "byport"}
  lib.is_read
}

allow contains {"rule": "p.small_payment", "reason": "small payments go through"} if {
  lib.route == "api"
  lib.method == "POST"
  lib.path == "/v1/payments"
  lib.body.currency == "usd"
  lib.body.amount < 100
}

hold contains {"rule": "p.large_payment", "reason": "large payments need ops", "approvers": ["ops"]} if {
  lib.route == "api"
  lib.method == "POST"
  lib.path == "/v1/payments"
  lib.body.currency == "usd"
  lib.body.amount >= 100
}

deny contains {"rule": "p.currency", "reason": "only usd payments are allowed"} if {
  lib.route == "api"
  lib.method == "POST"
  lib.path == "/v1/payments"
  lib.body.currency != "usd"
}

allow contains {"rule": "p.model", "reason": "this model is allowed"} if {
  lib.route == "openai"
  lib.method == "POST"
  lib.path == "/v1/chat/completions"
  lib.body.model == "gpt-4o-mini"
}

allow contains {"rule": "p.unknown_read", "reason": "dev-bot may read unknown hosts"} if {
  lib.route == ""
  lib.is_read
  lib.agent == "dev-bot"
}

review contains {"rule": "p.note", "reason": "notes are reviewed afterwards", "sample_rate": 1, "approvers": ["ops"]} if {
  lib.route == "api"
  lib.method == "POST"
  lib.path == "/v1/notes"
}

hold contains {"rule": "p.unknown_write", "reason": "writes to unknown hosts need ops", "approvers": ["ops"]} if {
  lib.route == ""
  lib.method == "POST"
  lib.agent == "dev-bot"
}

allow contains {"rule": "p.unknown_tunnel", "reason": "dev-bot may tunnel to unknown hosts"} if {
  lib.route == ""
  lib.method == "CONNECT"
  lib.agent == "dev-bot"
}
`

export async function proxyPolicy(): Promise<string> {
  const dir = tmp()
  await buildPolicy(policySource({ 'proxytest.rego': PROXY_RULES }), dir)
  return dir
}

/** A gateway with forward-proxy mode and approvals on, and an interception CA in its data folder. */
export async function startProxyGateway(pki: TestPki, policyDir: string, input: ConfigInput): Promise<TestGateway> {
  const config = testConfig({
    policy: { dir: policyDir, watch: false },
    holds: { wait_s: 5 },
    approver_groups: { ops: { max_pending: 50 }, payments: { max_pending: 50 } },
    approvers: testApprovers,
    ...input,
    proxy: { enabled: true, ...input.proxy },
  })
  initCa(config.data_dir)
  return startTestGateway(config, { upstreamCa: pki.caPem })
}

/** The proxy URL an agent is configured with: the key in the password part. */
export function proxyUrl(gw: TestGateway, key: string = keys.billing, user = 'billing-bot'): string {
  return gw.url.replace('http://', `http://${user}:${encodeURIComponent(key)}@`)
}

/** A file holding the gateway's interception CA, as an operator hands it to clients. */
export function caFileOf(gw: TestGateway): string {
  const file = join(tmp(), 'airlock-ca.pem')
  writeFileSync(file, gw.caCert!)
  return file
}

export interface Run {
  code: number
  stdout: string
  stderr: string
}

/** Runs a client with only the environment it is given (plus PATH/HOME), so no proxy setting leaks in or out. */
export function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, timeout: 20_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr })
      },
    )
  })
}

/** curl with the status code appended as the last line. */
export async function curl(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ status: number; body: string; stderr: string; code: number }> {
  const r = await run('curl', ['-sS', '-w', '\n%{http_code}', ...args], env)
  const at = r.stdout.lastIndexOf('\n')
  return { status: Number(r.stdout.slice(at + 1)), body: r.stdout.slice(0, at), stderr: r.stderr, code: r.code }
}

/** A port nothing listens on right now (for routes that own a listener port). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net')
  const s = createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const port = (s.address() as AddressInfo).port
  await new Promise<void>((resolve) => s.close(() => resolve()))
  return port
}
