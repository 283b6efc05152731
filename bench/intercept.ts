// The intercepted path for the benchmark: Airlock as an HTTPS_PROXY that decrypts (TLS interception) in front of a
// local HTTPS upstream, started like the other Airlock configurations (its own process, pinned, ready on /readyz),
// so bench/run.ts can report it beside the routed path. Also: certificate files for that upstream, and the cost of
// minting leaf certificates (the numbers docs/egress.md quotes).
//
//   const pki = await upstreamCertificate(tmp)                    // cert/key for the upstream (nginx ssl_certificate)
//   const a = await startInterceptingAirlock({ upstream: 'https://127.0.0.1:18443', upstreamCaFile: pki.caFile, … })
//   curl --proxy a.proxyUrl --cacert a.caCertFile a.targetUrl     // what a load generator sends
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createSecureContext } from 'node:tls'
import { stringify } from 'yaml'
import { caPaths, initCa } from '../gateway/node/proxy/ca-store.ts'
import { createCa, issueLeaf, loadCa } from '../gateway/node/proxy/certificates.ts'
import { LeafCache } from '../gateway/node/proxy/leaf-cache.ts'
import { repoRoot } from '../gateway/node/toolchain/opa.ts'
import { freePort, NODE, startReady } from './procs.ts'

const AIRLOCK_BIN = join(repoRoot, 'gateway/node/bin.ts')
const AGENT = {
  id: 'bench-bot',
  key: 'bench-agent-key',
  sha256: '820237229165607b06ec7d85845f53177446090a67c891a4c00f38eb52b94721',
}

export interface InterceptOptions {
  /** The HTTPS upstream's origin, e.g. https://127.0.0.1:18443 (its certificate must name that host). */
  upstream: string
  /** The CA that signed the upstream's certificate; Airlock verifies the upstream against it (NODE_EXTRA_CA_CERTS). */
  upstreamCaFile: string
  /** A scratch folder for the config, data folder and CA. */
  tmp: string
  /** A compiled policy folder; the example policy allows GET on route "httpbin" (demo.read). */
  policyDir: string
  cpus?: string | undefined
  level?: string
  /** Also serve the route as a reverse route at this prefix (the routed path, for comparison). */
  prefix?: string
}

export interface InterceptingAirlock {
  /** HTTPS_PROXY for the load generator, agent key included. */
  proxyUrl: string
  /** Airlock's interception CA: what the load generator must trust instead of the upstream's CA. */
  caCertFile: string
  /** A URL on the upstream the policy allows (GET). */
  targetUrl: string
  url: string
  metricsUrl: string
  pids: number[]
  stop(): Promise<void>
}

export async function startInterceptingAirlock(opts: InterceptOptions): Promise<InterceptingAirlock> {
  const port = await freePort()
  const dataDir = join(opts.tmp, 'data-intercept')
  mkdirSync(dataDir, { recursive: true })
  initCa(dataDir)
  const config = {
    server: { host: '127.0.0.1', port },
    data_dir: dataDir,
    policy: { dir: opts.policyDir, watch: false },
    log: { level: opts.level ?? 'warn' },
    proxy: { enabled: true },
    agents: [{ id: AGENT.id, owner: 'bench@example.com', labels: { team: 'bench' }, key_sha256: AGENT.sha256 }],
    routes: [
      {
        name: 'httpbin',
        upstream: opts.upstream,
        tls: 'intercept',
        allow_private: true,
        ...(opts.prefix ? { prefix: opts.prefix, agent_key: ['header'] } : {}),
      },
    ],
  }
  const file = join(opts.tmp, 'airlock-intercept.yaml')
  writeFileSync(file, stringify(config))
  const url = `http://127.0.0.1:${port}`
  const proc = await startReady(
    'airlock (intercept)',
    NODE,
    [AIRLOCK_BIN, 'start', '--config', file],
    { cpus: opts.cpus, env: { ...process.env, NODE_EXTRA_CA_CERTS: opts.upstreamCaFile } },
    `${url}/readyz`,
  )
  return {
    proxyUrl: `http://${AGENT.id}:${AGENT.key}@127.0.0.1:${port}`,
    caCertFile: caPaths(dataDir).cert,
    targetUrl: `${opts.upstream.replace(/\/$/, '')}/anything/bench`,
    url,
    metricsUrl: `${url}/metrics`,
    pids: [proc.pid],
    stop: () => proc.stop(),
  }
}

/** A CA and a leaf for 127.0.0.1 and localhost, as files, for the benchmark's HTTPS upstream. */
export async function upstreamCertificate(dir: string): Promise<{ caFile: string; certFile: string; keyFile: string }> {
  mkdirSync(dir, { recursive: true })
  const { certPem, keyPem } = createCa({ commonName: 'Airlock bench upstream CA', validityDays: 2 })
  const leaf = await issueLeaf(loadCa(certPem, keyPem), ['127.0.0.1', 'localhost'])
  const files = {
    caFile: join(dir, 'upstream-ca.pem'),
    certFile: join(dir, 'upstream.pem'),
    keyFile: join(dir, 'upstream-key.pem'),
  }
  writeFileSync(files.caFile, certPem)
  writeFileSync(files.certFile, leaf.certPem)
  writeFileSync(files.keyFile, leaf.keyPem, { mode: 0o600 })
  return files
}

export interface MintingCost {
  /** A new host: ECDSA P-256 key, signed leaf (no TLS context). */
  issueMs: number
  /** What the first CONNECT to a new host waits for: issue + SecureContext, through the cache. */
  firstUseMs: number
  /** Every later CONNECT to the host: a cache lookup. */
  cachedUs: number
}

/** Measures leaf minting in this process (medians of `n` runs after a warm-up). */
export async function measureMinting(n = 300): Promise<MintingCost> {
  const { certPem, keyPem } = createCa({ commonName: 'measure', validityDays: 2 })
  const ca = loadCa(certPem, keyPem)
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  for (let i = 0; i < 50; i++) {
    const leaf = await issueLeaf(ca, `warm${i}.test`)
    createSecureContext({ cert: leaf.certPem + certPem, key: leaf.keyPem })
  }
  const issue: number[] = []
  for (let i = 0; i < n; i++) {
    const t = performance.now()
    await issueLeaf(ca, `h${i}.example.com`)
    issue.push(performance.now() - t)
  }
  const cache = new LeafCache(ca, { max: 2 * n })
  const first: number[] = []
  for (let i = 0; i < n; i++) {
    const t = performance.now()
    await cache.context(`f${i}.example.com`)
    first.push(performance.now() - t)
  }
  const cached: number[] = []
  for (let i = 0; i < n; i++) {
    const t = performance.now()
    await cache.context(`f${i}.example.com`)
    cached.push((performance.now() - t) * 1000)
  }
  return { issueMs: median(issue), firstUseMs: median(first), cachedUs: median(cached) }
}

if (import.meta.main) {
  process.stdout.write(JSON.stringify(await measureMinting(), null, 2) + '\n')
}
