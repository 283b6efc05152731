// A Node Readable as a Web ReadableStream, for upstream bodies. Not Readable.toWeb: when the agent disconnects
// mid-body, the web side is cancelled while the Node side still has data in flight, and toWeb then throws
// ERR_INVALID_STATE ("Controller is already closed") as an uncaught exception, which ends the process. Here every
// late event after cancel is ignored, and cancel destroys the upstream body (releasing its connection).
import type { Readable } from 'node:stream'

export function readableToWeb(body: Readable): ReadableStream<Uint8Array> {
  let done = false
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        body.on('data', (chunk: Buffer) => {
          if (done) return
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
          // Backpressure: stop reading the upstream while the agent is slower than it.
          if ((controller.desiredSize ?? 1) <= 0) body.pause()
        })
        body.once('end', () => {
          if (done) return
          done = true
          controller.close()
        })
        body.once('error', (err) => {
          if (done) return
          done = true
          controller.error(err)
        })
      },
      pull() {
        body.resume()
      },
      cancel() {
        done = true
        body.destroy()
      },
    },
    { highWaterMark: 65536, size: (chunk) => chunk.byteLength },
  )
}
