// Regression: an agent that disconnects while Airlock streams the upstream's answer must not crash the gateway
// (Readable.toWeb threw ERR_INVALID_STATE as an uncaught exception when wrk closed its connections mid-response).
import { request } from 'node:http'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { keys, startTestGateway, type TestGateway, testConfig } from '../support/gateway.ts'
import { startUpstream, type TestUpstream } from '../support/upstream.ts'

let upstream: TestUpstream
let gw: TestGateway
const uncaught: unknown[] = []
const onUncaught = (err: unknown) => uncaught.push(err)

beforeAll(async () => {
  process.on('uncaughtException', onUncaught)
  // Streams 64 KiB chunks for a while: the agent leaves after the first.
  upstream = await startUpstream(async (req, res) => {
    if (req.url === '/small') {
      // Answers while the agent is already gone: the gateway gets the head, then the whole body, then 'end'.
      await new Promise((r) => setTimeout(r, 20))
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ pad: 'x'.repeat(1000) }))
      return
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' })
    for (let i = 0; i < 40 && !res.destroyed; i++) {
      res.write(Buffer.alloc(65536, i))
      await new Promise((r) => setTimeout(r, 5))
    }
    res.end()
  })
  gw = await startTestGateway(
    testConfig({ routes: [{ name: 'httpbin', prefix: '/httpbin', upstream: upstream.url, allow_private: true }] }),
  )
})
afterAll(async () => {
  process.off('uncaughtException', onUncaught)
  await gw?.close()
  await upstream?.close()
})

it('survives agents that disconnect mid-response, and keeps serving', async () => {
  for (let i = 0; i < 20; i++) {
    await new Promise<void>((resolve) => {
      const req = request(`${gw.url}/httpbin/stream`, { headers: { 'airlock-agent-key': keys.billing } }, (res) => {
        res.once('data', () => {
          req.destroy()
          resolve()
        })
      })
      req.on('error', () => resolve())
      req.end()
    })
  }
  // Agents that leave before the answer arrives, many at once (what a load generator does when it stops).
  await Promise.all(
    [...Array(60)].map(
      (_, i) =>
        new Promise<void>((resolve) => {
          const req = request(`${gw.url}/httpbin/small`, { headers: { 'airlock-agent-key': keys.billing } })
          req.on('error', () => resolve())
          req.on('close', () => resolve())
          req.end()
          setTimeout(() => req.destroy(), 10 + (i % 25))
        }),
    ),
  )
  await new Promise((r) => setTimeout(r, 500))
  expect(uncaught).toEqual([])
  const res = await fetch(`${gw.url}/httpbin/stream`, { headers: { 'airlock-agent-key': keys.billing } })
  expect(res.status).toBe(200)
  expect((await res.arrayBuffer()).byteLength).toBe(40 * 65536)
})
