// nginx from Debian, in two roles: the upstream every configuration talks to (a fixed 1 KiB JSON answer, so the
// upstream costs next to nothing and is identical for all), and configuration (e), the native proxy_pass floor.
// Each instance runs in the foreground with its own temp prefix, one worker, no access log.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Proc, start, waitForPort } from './procs.ts'

/** The upstream's response body: 1,024 bytes of JSON (no `$`, `'` or `\`, so it sits in nginx's return as is). */
export const UPSTREAM_BODY = (() => {
  const base = {
    id: 'evt_1NbenchmarkAirlock',
    object: 'event',
    type: 'charge.succeeded',
    created: 1700000000,
    data: {
      object: { id: 'ch_3Nbench', amount: 2000, currency: 'usd', status: 'succeeded', metadata: { order: '6735' } },
    },
    padding: '',
  }
  const size = JSON.stringify(base).length
  base.padding = 'x'.repeat(1024 - size)
  const text = JSON.stringify(base)
  if (Buffer.byteLength(text) !== 1024) throw new Error(`upstream body is ${text.length} bytes, not 1024`)
  return text
})()

function common(prefix: string): string {
  for (const d of ['tmp/body', 'tmp/proxy', 'tmp/fastcgi', 'tmp/uwsgi', 'tmp/scgi'])
    mkdirSync(join(prefix, d), { recursive: true })
  return `worker_processes 1;
daemon off;
master_process on;
pid ${join(prefix, 'nginx.pid')};
error_log ${join(prefix, 'error.log')} warn;
${process.getuid?.() === 0 ? 'user root;' : ''}
events { worker_connections 4096; }
`
}

function http(prefix: string, body: string): string {
  return `http {
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 75s;
  client_body_temp_path ${join(prefix, 'tmp/body')};
  proxy_temp_path ${join(prefix, 'tmp/proxy')};
  fastcgi_temp_path ${join(prefix, 'tmp/fastcgi')};
  uwsgi_temp_path ${join(prefix, 'tmp/uwsgi')};
  scgi_temp_path ${join(prefix, 'tmp/scgi')};
${body}
}
`
}

export function upstreamConf(prefix: string, port: number): string {
  return (
    common(prefix) +
    http(
      prefix,
      `  server {
    listen 127.0.0.1:${port};
    location / {
      default_type application/json;
      return 200 '${UPSTREAM_BODY}';
    }
  }`,
    )
  )
}

/** The same upstream over TLS, for the intercepted path (bench/intercept-compare.ts). */
export function sslUpstreamConf(prefix: string, port: number, certFile: string, keyFile: string): string {
  return (
    common(prefix) +
    http(
      prefix,
      `  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${certFile};
    ssl_certificate_key ${keyFile};
    location / {
      default_type application/json;
      return 200 '${UPSTREAM_BODY}';
    }
  }`,
    )
  )
}

export function proxyConf(prefix: string, port: number, upstreamPort: number): string {
  return (
    common(prefix) +
    http(
      prefix,
      `  upstream backend {
    server 127.0.0.1:${upstreamPort};
    keepalive 256;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }`,
    )
  )
}

export async function startNginx(
  name: string,
  nginx: string,
  prefix: string,
  conf: string,
  port: number,
  cpus: string | undefined,
): Promise<Proc> {
  mkdirSync(prefix, { recursive: true })
  const file = join(prefix, 'nginx.conf')
  writeFileSync(file, conf)
  const proc = start(name, nginx, ['-p', prefix, '-c', file, '-e', join(prefix, 'error.log')], { cpus })
  await waitForPort(port, proc)
  return proc
}
