// Small responses leave in one write. @hono/node-server streams a Response whose body is a stream by flushing the
// head first and the body after it: two segments per answer. The agent's TCP stack acknowledges the pair late
// (delayed ACK), the kernel's tail-loss probe retransmits the body ≈ 2 ms later, and under load the spurious
// retransmissions and zero-window adverts that follow stalled every in-flight request for tens to hundreds of ms
// (`TcpExtDelayedACKLost`, `TcpRetransSegs` in /proc/net/netstat; docs/performance.md, "the tail stall").
// Reading a body of known, small length first and handing over bytes makes node:http write head and body together.
// Streaming answers (no Content-Length, or larger than this) still stream.

/** Bodies up to this size are sent in one write; bigger ones stream as they arrive. */
export const SINGLE_WRITE_MAX = 64 * 1024

export async function singleWrite(res: Response): Promise<Response> {
  if (!res.body) return res
  const declared = res.headers.get('content-length')
  if (declared === null || !(Number(declared) <= SINGLE_WRITE_MAX)) return res
  const bytes = new Uint8Array(await res.arrayBuffer())
  return new Response(bytes, { status: res.status, statusText: res.statusText, headers: res.headers })
}
