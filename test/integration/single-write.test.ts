// Regression: the tail stall. A small upstream answer must reach the agent as one write (head and body together);
// flushing the head first made every answer two segments, and the agent's delayed ACK plus the kernel's tail-loss
// probe then stalled in-flight requests under load (docs/performance.md). Large and streamed answers still stream.
import { connect, Socket } from 'node:net'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { SINGLE_WRITE_MAX, singleWrite } from '../../gateway/node/single-write.ts'
import { keys, startTestGateway, type TestGateway, testConfig } from '../support/gateway.ts'
import { startUpstream, type TestUpstream } from '../support/upstream.ts'

let upstream: TestUpstream
let gw: TestGateway
const small = JSON.stringify({ pad: 'x'.repeat(1000) })
/** The chunked upstream sends its second part only once the agent has read the first: streaming, not buffering. */
let firstSeen: () => void = () => {}

beforeAll(async () => {
  upstream = await startUpstream(async (req, res) => {
    if (req.url === '/chunked') {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.write('first,')
      await new Promise<void>((r) => (firstSeen = r))
      res.end('second')
      return
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(small) })
    res.end(small)
  })
  gw = await startTestGateway(
    testConfig({ routes: [{ name: 'httpbin', prefix: '/httpbin', upstream: upstream.url, allow_private: true }] }),
  )
})
afterAll(async () => {
  await gw?.close()
  await upstream?.close()
})

/**
 * One request on a raw connection: the whole answer, and how many writes the gateway's side of that connection made
 * (each write is at least one TCP segment; the client's reads cannot tell, loopback may merge them).
 */
async function rawGet(path: string): Promise<{ text: string; writes: number }> {
  const port = Number(new URL(gw.url).port)
  let writes = 0
  type Writes = { _write: (...a: unknown[]) => unknown; _writev: (...a: unknown[]) => unknown }
  const proto = Socket.prototype as unknown as Writes
  const original = { _write: proto._write, _writev: proto._writev }
  for (const name of ['_write', '_writev'] as const) {
    proto[name] = function (this: Socket, ...args: unknown[]) {
      if (this.localPort === port) writes++
      return original[name].apply(this, args)
    }
  }
  try {
    const text = await new Promise<string>((resolve, reject) => {
      let got = ''
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(`GET ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\nairlock-agent-key: ${keys.billing}\r\n\r\n`)
      })
      socket.on('data', (chunk) => {
        got += chunk.toString('latin1')
        if (got.endsWith(small)) {
          socket.destroy()
          resolve(got)
        }
      })
      socket.once('error', reject)
    })
    return { text, writes }
  } finally {
    Object.assign(proto, original)
  }
}

it('sends a small answer of known length as one write: head and body together', async () => {
  for (let i = 0; i < 3; i++) {
    const { text, writes } = await rawGet('/httpbin/small')
    expect(text).toMatch(/^HTTP\/1\.1 200/)
    expect(text).toContain(`content-length: ${Buffer.byteLength(small)}`)
    expect(writes).toBe(1)
  }
})

it('still streams an answer of unknown length as it arrives', async () => {
  const res = await fetch(`${gw.url}/httpbin/chunked`, { headers: { 'airlock-agent-key': keys.billing } })
  const reader = res.body!.getReader()
  const { value } = await reader.read()
  expect(new TextDecoder().decode(value)).toBe('first,')
  firstSeen()
  let rest = ''
  for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value)
  expect(rest).toBe('second')
})

it('leaves bodyless, unknown-length and large answers as they are, and keeps status and headers', async () => {
  const bodyless = new Response(null, { status: 204 })
  expect(await singleWrite(bodyless)).toBe(bodyless)
  const stream = new Response(new ReadableStream({ start: (c) => c.close() }), { status: 200 })
  expect(await singleWrite(stream)).toBe(stream)
  const big = new Response(new Uint8Array(SINGLE_WRITE_MAX + 1), {
    headers: { 'content-length': String(SINGLE_WRITE_MAX + 1) },
  })
  expect(await singleWrite(big)).toBe(big)
  const ok = new Response(
    new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode('hi'))
        c.close()
      },
    }),
    {
      status: 201,
      headers: { 'content-length': '2', 'x-up': 'yes' },
    },
  )
  const out = await singleWrite(ok)
  expect(out.status).toBe(201)
  expect(out.headers.get('x-up')).toBe('yes')
  expect(await out.text()).toBe('hi')
})
