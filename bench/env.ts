// What the benchmark needs installed, checked up front with one message naming the Debian packages, and the
// machine description written next to the table.
import { execFileSync, spawnSync } from 'node:child_process'
import { accessSync, constants, readFileSync } from 'node:fs'
import { availableParallelism, totalmem } from 'node:os'
import { findOpa } from '../gateway/node/toolchain/opa.ts'
import { layout } from './procs.ts'
import { findSmokescreen, smokescreenVersion } from './smokescreen.ts'

/** The Debian packages the benchmark runs (CI installs them in .ci/run). */
export const APT_PACKAGES = ['nginx', 'wrk'] as const

export interface Tools {
  nginx: string
  wrk: string
  opa: string
  smokescreen: string
}

function which(cmd: string, extra: string[] = []): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(':'), ...extra]) {
    if (!dir) continue
    try {
      accessSync(`${dir}/${cmd}`, constants.X_OK)
      return `${dir}/${cmd}`
    } catch {
      // not here
    }
  }
  return undefined
}

/** Finds nginx, wrk, taskset and OPA, or throws one message that says how to install what is missing. */
export function checkTools(): Tools {
  const nginx = which('nginx', ['/usr/sbin', '/sbin'])
  const wrk = which('wrk')
  const missing = [!nginx && 'nginx', !wrk && 'wrk'].filter(Boolean) as string[]
  if (layout.sut !== undefined && !which('taskset')) missing.push('util-linux (taskset)')
  if (missing.length) {
    throw new Error(
      `the benchmark needs ${missing.join(' and ')} on PATH, which are not installed.\n` +
        `Install them with:  sudo apt-get install -y ${APT_PACKAGES.join(' ')}\n` +
        `(nginx is the native proxy floor and the upstream; wrk measures maximum throughput.)`,
    )
  }
  return { nginx: nginx!, wrk: wrk!, opa: findOpa(), smokescreen: findSmokescreen() }
}

function firstLine(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' })
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').find((l) => l.trim()) ?? '?'
}

export interface Machine {
  nproc: number
  cpu: string
  memory: string
  kernel: string
  node: string
  nginx: string
  wrk: string
  opa: string
  smokescreen: string
  loadavg: string
}

export function describeMachine(tools: Tools): Machine {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8')
  const cpu = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown'
  return {
    nproc: availableParallelism(),
    cpu,
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    kernel: execFileSync('uname', ['-sr'], { encoding: 'utf8' }).trim(),
    node: process.version,
    nginx: firstLine(tools.nginx, ['-v']).replace(/^nginx version:\s*/, ''),
    wrk: firstLine(tools.wrk, ['-v']).replace(/\s*Copyright.*$/, ''),
    opa: firstLine(tools.opa, ['version']).replace(/^Version:\s*/, 'v'),
    smokescreen: smokescreenVersion(),
    loadavg: loadavg(),
  }
}

/** 1/5/15-minute load average: other work on the machine shows up here. */
export function loadavg(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
}
