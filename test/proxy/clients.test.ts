// Every client recipe of docs/egress.md, run for real against an intercepting Airlock: only proxy and trust settings
// change, the code of the "agent" does not. Each request is checked at the upstream (credential injected, body intact).
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import OpenAI from 'openai'
import { ProxyAgent, fetch as undiciFetch } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { keys, type TestGateway } from '../support/gateway.ts'
import type { Handler } from '../support/upstream.ts'
import {
  caFileOf,
  curl,
  type HttpsUpstream,
  proxyPolicy,
  proxyUrl,
  run,
  startHttpsUpstream,
  startProxyGateway,
  type TestPki,
  testPki,
  tmp,
} from './support.ts'

const completion: Handler = (req, res) => {
  const { model } = JSON.parse(req.body.toString())
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(
    JSON.stringify({
      id: 'chatcmpl-test',
      object: 'chat.completion',
      created: 1,
      model,
      choices: [
        { index: 0, message: { role: 'assistant', content: 'hello from the test upstream' }, finish_reason: 'stop' },
      ],
      usage: { prompt_tokens: 1, completion_tokens: 5, total_tokens: 6 },
    }),
  )
}

let pki: TestPki
let api: HttpsUpstream
let openai: HttpsUpstream
let gw: TestGateway
let caFile: string
const env = () => ({ HTTPS_PROXY: proxyUrl(gw), https_proxy: proxyUrl(gw) })

beforeAll(async () => {
  pki = await testPki()
  ;[api, openai] = await Promise.all([startHttpsUpstream(pki), startHttpsUpstream(pki, completion)])
  gw = await startProxyGateway(pki, await proxyPolicy(), {
    routes: [
      { name: 'api', upstream: api.url, tls: 'intercept', allow_private: true, credential: { env: 'UPSTREAM_TOKEN' } },
      {
        name: 'openai',
        upstream: openai.url,
        tls: 'intercept',
        allow_private: true,
        credential: { env: 'UPSTREAM_TOKEN' },
      },
    ],
  })
  caFile = caFileOf(gw)
})
afterAll(async () => {
  await gw?.close()
  await Promise.all([api?.close(), openai?.close()])
})

/** The last request the api upstream received, checked for what every intercepted request must look like. */
function lastAtUpstream(body: object) {
  const seen = api.received.at(-1)!
  expect(seen.headers.authorization).toBe('Bearer sk_live_real_upstream_secret')
  expect(JSON.parse(seen.body.toString())).toEqual(body)
  expect(gw.decisions().at(-1)).toMatchObject({
    mode: 'intercept',
    route: 'api',
    action: 'allow',
    rule: 'p.small_payment',
  })
}
const payment = { amount: 7, currency: 'usd' }

describe('curl', () => {
  it('--proxy, --proxy-user and --cacert', async () => {
    const r = await curl([
      '--proxy',
      gw.url,
      '--proxy-user',
      `billing-bot:${keys.billing}`,
      '--cacert',
      caFile,
      '--json',
      JSON.stringify(payment),
      `${api.url}/v1/payments`,
    ])
    expect(r.status).toBe(200)
    lastAtUpstream(payment)
  })

  it('HTTPS_PROXY and SSL_CERT_FILE from the environment', async () => {
    const r = await curl(['--json', JSON.stringify(payment), `${api.url}/v1/payments`], {
      ...env(),
      SSL_CERT_FILE: caFile,
    })
    expect(r.stderr).toBe('')
    expect(r.status).toBe(200)
    lastAtUpstream(payment)
  })
})

describe('Python', () => {
  it('requests with HTTPS_PROXY and REQUESTS_CA_BUNDLE', async () => {
    const script = `import os, requests
r = requests.post(os.environ["URL"], json={"amount": 7, "currency": "usd"}, headers={"Authorization": "Bearer sk_placeholder"})
print(r.status_code)
print(r.text)`
    const r = await run('python3', ['-c', script], {
      ...env(),
      REQUESTS_CA_BUNDLE: caFile,
      URL: `${api.url}/v1/payments`,
    })
    expect(r.stderr).toBe('')
    expect(r.stdout.split('\n')[0]).toBe('200')
    lastAtUpstream(payment)
  })

  it('requests: a denied request is a 403 whose JSON says why', async () => {
    const script = `import os, requests
r = requests.post(os.environ["URL"], json={"amount": 7, "currency": "eur"})
print(r.status_code, r.json()["error"]["code"], r.json()["error"]["rule"])`
    const r = await run('python3', ['-c', script], {
      ...env(),
      REQUESTS_CA_BUNDLE: caFile,
      URL: `${api.url}/v1/payments`,
    })
    expect(r.stdout.trim()).toBe('403 AIRLOCK_DENIED p.currency')
  })

  it('the standard library (urllib) with HTTPS_PROXY and SSL_CERT_FILE', async () => {
    const script = `import json, os, urllib.request
req = urllib.request.Request(os.environ["URL"], data=json.dumps({"amount": 7, "currency": "usd"}).encode(), headers={"Content-Type": "application/json"})
print(urllib.request.urlopen(req).status)`
    const r = await run('python3', ['-c', script], { ...env(), SSL_CERT_FILE: caFile, URL: `${api.url}/v1/payments` })
    expect(r.stderr).toBe('')
    expect(r.stdout.trim()).toBe('200')
    lastAtUpstream(payment)
  })
})

describe('Node', () => {
  it('any fetch or http code, with NODE_USE_ENV_PROXY=1, HTTPS_PROXY and NODE_EXTRA_CA_CERTS', async () => {
    const agent = join(tmp(), 'agent.mjs')
    writeFileSync(
      agent,
      `const r = await fetch(process.env.URL, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ amount: 7, currency: 'usd' }) })
console.log(r.status)`,
    )
    const r = await run(process.execPath, [agent], {
      ...env(),
      NODE_USE_ENV_PROXY: '1',
      NODE_EXTRA_CA_CERTS: caFile,
      URL: `${api.url}/v1/payments`,
    })
    expect(r.stderr).toBe('')
    expect(r.stdout.trim()).toBe('200')
    lastAtUpstream(payment)
  })

  it("undici's ProxyAgent with the CA in requestTls", async () => {
    const dispatcher = new ProxyAgent({ uri: proxyUrl(gw), requestTls: { ca: gw.caCert! } })
    try {
      const res = await undiciFetch(`${api.url}/v1/payments`, {
        method: 'POST',
        dispatcher,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payment),
      })
      expect(res.status).toBe(200)
      lastAtUpstream(payment)
    } finally {
      await dispatcher.close()
    }
  })

  it('the official OpenAI SDK, configured only with a proxy dispatcher: the key it holds is a placeholder', async () => {
    const dispatcher = new ProxyAgent({ uri: proxyUrl(gw), requestTls: { ca: gw.caCert! } })
    // The SDK's documented proxy setup (fetch and ProxyAgent from one undici); baseURL stands in for api.openai.com.
    const client = new OpenAI({
      apiKey: 'sk-placeholder',
      baseURL: `${openai.url}/v1`,
      fetch: undiciFetch as never,
      fetchOptions: { dispatcher } as never,
      maxRetries: 0,
    })
    try {
      const ok = await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'hi' }],
      })
      expect(ok.choices[0]!.message.content).toBe('hello from the test upstream')
      expect(openai.received.at(-1)!.headers.authorization).toBe('Bearer sk_live_real_upstream_secret')
      expect(gw.decisions().at(-1)).toMatchObject({ mode: 'intercept', route: 'openai', rule: 'p.model' })

      const before = openai.received.length
      const denied = await client.chat.completions
        .create({ model: 'gpt-4-32k', messages: [{ role: 'user', content: 'hi' }] })
        .catch((e: unknown) => e)
      expect(denied).toBeInstanceOf(OpenAI.PermissionDeniedError)
      expect((denied as InstanceType<typeof OpenAI.PermissionDeniedError>).status).toBe(403)
      expect(openai.received.length).toBe(before)
    } finally {
      await dispatcher.close()
    }
  })
})

describe('the operating system store', () => {
  it('update-ca-certificates (run on a scratch copy of the store), then Node with NODE_USE_SYSTEM_CA=1 and curl use it', async () => {
    // The documented recipe writes to /usr/local/share/ca-certificates and /etc/ssl/certs; the same command with its
    // folders redirected builds the same bundle without touching this machine.
    const store = tmp()
    for (const d of ['local', 'etc', 'hooks']) mkdirSync(join(store, d))
    copyFileSync(caFile, join(store, 'local', 'airlock-ca.crt'))
    copyFileSync('/etc/ca-certificates.conf', join(store, 'conf'))
    const update = await run('update-ca-certificates', [
      '--certsconf',
      join(store, 'conf'),
      '--localcertsdir',
      join(store, 'local'),
      '--etccertsdir',
      join(store, 'etc'),
      '--hooksdir',
      join(store, 'hooks'),
    ])
    expect(update.stdout).toMatch(/\d+ added/)
    const bundle = join(store, 'etc', 'ca-certificates.crt')
    expect(readFileSync(bundle, 'utf8')).toContain(gw.caCert!.split('\n')[1])

    const agent = join(tmp(), 'agent.mjs')
    writeFileSync(
      agent,
      `const r = await fetch(process.env.URL, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ amount: 7, currency: 'usd' }) })
console.log(r.status)`,
    )
    // SSL_CERT_FILE stands in for OpenSSL's default bundle path (/etc/ssl/certs/ca-certificates.crt).
    const node = await run(process.execPath, [agent], {
      ...env(),
      NODE_USE_ENV_PROXY: '1',
      NODE_USE_SYSTEM_CA: '1',
      SSL_CERT_FILE: bundle,
      URL: `${api.url}/v1/payments`,
    })
    expect(node.stderr).toBe('')
    expect(node.stdout.trim()).toBe('200')
    lastAtUpstream(payment)
    const withoutStore = await run(process.execPath, [agent], {
      ...env(),
      NODE_USE_ENV_PROXY: '1',
      SSL_CERT_FILE: bundle,
      URL: `${api.url}/v1/payments`,
    })
    expect(withoutStore.code).not.toBe(0) // Node's own bundle does not know Airlock's CA
    const c = await curl(['--json', JSON.stringify(payment), `${api.url}/v1/payments`], {
      ...env(),
      CURL_CA_BUNDLE: bundle,
    })
    expect(c.status).toBe(200)
  })
})
