// The raw side of CONNECT: parsing its authority-form target, opening the upstream TCP connection behind the SSRF
// guard (the resolved address is checked, as for every other upstream), and writing a refusal on the raw socket.

import { STATUS_CODES } from 'node:http'
import { connect, isIP, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { AirlockError } from '../../core/errors.ts'
import { forbidden, guardedLookup, isPrivateAddress } from '../ssrf.ts'
import { checkedHostName } from './certificates.ts'

export interface Destination {
  /** Host name (lower case) or IP address (IPv6 without brackets). */
  host: string
  port: number
  /** https://host[:port]: how routes name this destination. */
  origin: string
}

/** The destination as an origin of another scheme (a plain http:// route can be CONNECTed to as well). */
export function originAs(dest: Destination, scheme: 'http' | 'https'): string {
  return new URL(`${scheme}://${dest.host.includes(':') ? `[${dest.host}]` : dest.host}:${dest.port}`).origin
}

/** RFC 9110 §9.3.6: CONNECT's target is host:port, an IPv6 address in brackets. */
export function parseAuthority(target: string | undefined): Destination {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]/@?#\s]+)):(\d{1,5})$/.exec(target ?? '')
  const port = Number(m?.[3])
  const bad = () =>
    new AirlockError(
      'AIRLOCK_PROXY_BAD_TARGET',
      `CONNECT needs host:port (e.g. api.example.com:443), not ${JSON.stringify((target ?? '').slice(0, 100))}`,
    )
  if (!m || port < 1 || port > 65535) throw bad()
  let host: string
  if (m[1] !== undefined) {
    if (isIP(m[1]) !== 6) throw bad()
    host = m[1].toLowerCase()
  } else if (isIP(m[2]!) === 4) {
    host = m[2]!
  } else {
    try {
      host = checkedHostName(m[2]!)
    } catch {
      throw bad()
    }
  }
  const dest = { host, port, origin: '' }
  dest.origin = originAs(dest, 'https')
  return dest
}

/** Connects to the destination; private addresses are refused unless allowed. Rejects with an AirlockError. */
export function openTunnel(dest: Destination, allowPrivate: boolean, timeoutMs: number): Promise<Socket> {
  if (!allowPrivate && isIP(dest.host) && isPrivateAddress(dest.host)) return Promise.reject(forbidden(dest.host))
  return new Promise((resolve, reject) => {
    // noDelay: bytes relayed through a tunnel go on at once (Nagle would hold small writes for the peer's delayed ACK).
    const socket = connect({
      host: dest.host,
      port: dest.port,
      timeout: timeoutMs,
      noDelay: true,
      ...(allowPrivate ? {} : { lookup: guardedLookup }),
    })
    const fail = (err: unknown) => {
      socket.destroy()
      reject(tunnelError(err, dest, timeoutMs))
    }
    socket.once('timeout', () => fail(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })))
    socket.once('error', fail)
    socket.once('connect', () => {
      socket.setTimeout(0)
      socket.removeListener('error', fail)
      resolve(socket)
    })
  })
}

function tunnelError(err: unknown, dest: Destination, timeoutMs: number): AirlockError {
  if (err instanceof AirlockError) return err
  const code = (err as { code?: string }).code ?? ''
  const where = `${dest.host}:${dest.port}`
  if (code === 'ETIMEDOUT')
    return new AirlockError(
      'AIRLOCK_UPSTREAM_TIMEOUT',
      `the upstream ${where} did not accept a connection within ${timeoutMs} ms`,
      {},
      { cause: err },
    )
  return new AirlockError(
    'AIRLOCK_UPSTREAM_CONNECT',
    `could not reach the upstream ${where} (${code || 'connection failed'})`,
    {},
    { cause: err },
  )
}

/** Joins two sockets; either side closing or failing closes both. */
export function splice(a: Duplex, b: Duplex): void {
  const close = () => {
    a.destroy()
    b.destroy()
  }
  a.on('error', close).on('close', close)
  b.on('error', close).on('close', close)
  a.pipe(b)
  b.pipe(a)
}

/** Writes a whole HTTP/1.1 response on a raw socket (a refused CONNECT) and closes it. */
export async function writeRaw(socket: Duplex, res: Response): Promise<void> {
  const body = Buffer.from(await res.arrayBuffer())
  let head = `HTTP/1.1 ${res.status} ${STATUS_CODES[res.status] ?? ''}\r\n`
  res.headers.forEach((value, name) => {
    if (name !== 'content-length' && name !== 'connection') head += `${name}: ${value}\r\n`
  })
  head += `content-length: ${body.length}\r\nconnection: close\r\n\r\n`
  if (!socket.destroyed) socket.end(Buffer.concat([Buffer.from(head, 'latin1'), body]))
}
