// Processes for the benchmark: spawning pinned to a CPU set, waiting for a port, stopping, and reading what the
// kernel accounts for them in /proc (CPU time, peak RSS), so the figures are the kernel's, not the process's own.
import { type ChildProcess, execFileSync, type StdioOptions, spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { type AddressInfo, createConnection, createServer } from 'node:net'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { repoRoot } from '../gateway/node/toolchain/opa.ts'

/**
 * Where things run. With two or more CPUs the system under test (the proxy and, for the sidecar, OPA) gets CPU 0
 * to itself, and the load generator and the upstream share CPU 1, identically for every configuration, so every
 * proxy is measured on the same single-core budget and never competes with the traffic it is measured with.
 * With one CPU nothing is pinned.
 */
export const layout = availableParallelism() >= 2 ? { sut: '0', load: '1' } : { sut: undefined, load: undefined }

/**
 * The Node that runs the benchmark's children (Airlock, the proxies, the load generator): this one when it strips
 * TypeScript types itself (>= 22.18), else the project's pinned Node (node_modules/.bin/node), e.g. when vitest was
 * started by an older system node.
 */
export const NODE = (() => {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number)
  if (major > 22 || (major === 22 && minor >= 18)) return process.execPath
  return join(repoRoot, 'node_modules/.bin/node')
})()

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

export interface Proc {
  name: string
  child: ChildProcess
  pid: number
  /** The last 8 KiB of stderr, for error messages. */
  stderr(): string
  exited(): boolean
  /** Lines on stderr that started with `marker` (see SpawnOptions.countMarker). */
  marked(): number
  stop(): Promise<void>
}

export interface SpawnOptions {
  cpus?: string | undefined
  env?: NodeJS.ProcessEnv
  cwd?: string
  /** Where stdout goes: 'ignore' is /dev/null, which is what an operator's log shipper costs at best. */
  stdout?: 'ignore' | 'pipe'
  /** Count stderr lines starting with this (bench/uncaught-guard.ts). */
  countMarker?: string
}

/** Spawns `cmd args` (through taskset when cpus is given; taskset execs, so the pid is the program's). */
export function start(name: string, cmd: string, args: string[], opts: SpawnOptions = {}): Proc {
  const [file, argv] = opts.cpus !== undefined ? ['taskset', ['-c', opts.cpus, cmd, ...args]] : [cmd, args]
  const stdio: StdioOptions = ['ignore', opts.stdout ?? 'ignore', 'pipe']
  const child = spawn(file, argv as string[], { stdio, env: opts.env ?? process.env, cwd: opts.cwd })
  let err = ''
  let marked = 0
  let partial = ''
  child.stderr?.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-8192)
    if (!opts.countMarker) return
    const lines = (partial + d.toString()).split('\n')
    partial = lines.pop() ?? ''
    for (const l of lines) if (l.startsWith(opts.countMarker)) marked++
  })
  let done = false
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      done = true
      resolve()
    })
    child.once('error', (e) => {
      err += `\n${e.message}`
      done = true
      resolve()
    })
  })
  return {
    name,
    child,
    pid: child.pid ?? -1,
    stderr: () => err,
    exited: () => done,
    marked: () => marked,
    async stop() {
      if (done) return
      child.kill('SIGTERM')
      const t = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exit
      clearTimeout(t)
    },
  }
}

/** Runs a program to completion and returns its stdout; throws with its stderr when it fails. */
export function run(
  cmd: string,
  args: string[],
  opts: { cpus?: string | undefined; timeoutMs: number; env?: NodeJS.ProcessEnv },
): Promise<string> {
  const [file, argv] = opts.cpus !== undefined ? ['taskset', ['-c', opts.cpus, cmd, ...args]] : [cmd, args]
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv as string[], { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-8192)))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${cmd} did not finish within ${opts.timeoutMs} ms`))
    }, opts.timeoutMs)
    child.once('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      if (code === 0) resolve(out)
      else reject(new Error(`${cmd} ${args.slice(0, 3).join(' ')} … exited with ${code}: ${err.trim() || out.trim()}`))
    })
  })
}

export async function freePort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  const { port } = srv.address() as AddressInfo
  await new Promise<void>((resolve) => srv.close(() => resolve()))
  return port
}

/** Resolves once something accepts connections on the port; fails early (with its stderr) if the process exits. */
export async function waitForPort(port: number, proc: Proc, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (proc.exited()) throw new Error(`${proc.name} exited before listening on ${port}:\n${proc.stderr().trim()}`)
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port }, () => {
        s.destroy()
        resolve(true)
      })
      s.once('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > deadline)
      throw new Error(`${proc.name} did not listen on ${port} within ${timeoutMs} ms:\n${proc.stderr().trim()}`)
    await sleep(50)
  }
}

/** Polls a URL until it answers 200 (a gateway is listening before its policy is loaded). */
export async function waitForOk(url: string, proc: Proc, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (proc.exited()) throw new Error(`${proc.name} exited before ${url} answered:\n${proc.stderr().trim()}`)
    const status = await fetch(url).then(
      (r) => {
        void r.body?.cancel()
        return r.status
      },
      () => 0,
    )
    if (status === 200) return
    if (Date.now() > deadline)
      throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (last ${status}):\n${proc.stderr().trim()}`)
    await sleep(100)
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

// ---------------------------------------------------------------------------------------------------------------
// /proc

/** The pid and every descendant (nginx's workers), found by parent pid. */
export function processTree(root: number): number[] {
  const parent = new Map<number, number>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]))
    } catch {
      // gone meanwhile
    }
  }
  const out = [root]
  for (let i = 0; i < out.length; i++) for (const [pid, ppid] of parent) if (ppid === out[i]) out.push(pid)
  return out
}

/** utime + stime in seconds (fields 14 and 15 of /proc/<pid>/stat), 0 when the process is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ') // f[0] is field 3 (state)
    return (Number(f[11]) + Number(f[12])) / CLK_TCK
  } catch {
    return 0
  }
}

/** VmHWM (peak RSS) and VmRSS in bytes from /proc/<pid>/status. */
export function memory(pid: number): { hwm: number; rss: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024
    return { hwm: kb('VmHWM'), rss: kb('VmRSS') }
  } catch {
    return { hwm: 0, rss: 0 }
  }
}

/** A snapshot of a set of process trees: summed CPU seconds and summed peak RSS. */
export function snapshot(roots: number[]): { cpu: number; hwm: number; rss: number } {
  let cpu = 0
  let hwm = 0
  let rss = 0
  for (const root of roots) {
    for (const pid of processTree(root)) {
      cpu += cpuSeconds(pid)
      const m = memory(pid)
      hwm += m.hwm
      rss += m.rss
    }
  }
  return { cpu, hwm, rss }
}

/** Seconds the whole machine was busy (user, nice, system, irq, softirq) and stolen by the hypervisor (/proc/stat). */
export function machineCpu(): { busy: number; steal: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
  const at = (i: number) => f[i] ?? 0
  return { busy: (at(0) + at(1) + at(2) + at(5) + at(6)) / CLK_TCK, steal: at(7) / CLK_TCK }
}

/** CPU seconds of this process, everything it runs now, and the children it has reaped (cutime + cstime). */
export function ownCpu(): number {
  let total = 0
  for (const pid of processTree(process.pid)) total += cpuSeconds(pid)
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    total += (Number(f[13]) + Number(f[14])) / CLK_TCK
  } catch {
    // not Linux
  }
  return total
}

/** Starts a process and waits until `url` answers 200; stops it if it never does. */
export async function startReady(
  name: string,
  cmd: string,
  args: string[],
  opts: SpawnOptions,
  url: string,
): Promise<Proc> {
  const proc = start(name, cmd, args, opts)
  try {
    await waitForOk(url, proc)
  } catch (err) {
    await proc.stop()
    throw err
  }
  return proc
}
