// A throwaway PostgreSQL cluster for tests: Debian's server binaries (/usr/lib/postgresql/<v>/bin), a temporary data
// directory, 127.0.0.1 on a free port, unix sockets inside the data directory, torn down by stop(). initdb refuses to
// run as root, so when the tests run as root the server runs as the `postgres` system user.
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'

export interface PgCluster {
  port: number
  /** A connection URL for a database (created by createDatabase). */
  url(database: string): string
  createDatabase(name?: string): Promise<string>
  /** Stops the server (fast shutdown), keeping the data: start() brings it back on the same port. */
  pause(): void
  start(): void
  stop(): void
}

function binDir(): string {
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : []
  const v = versions.sort((a, b) => Number(b) - Number(a))[0]
  if (!v)
    throw new Error(
      'PostgreSQL server binaries not found under /usr/lib/postgresql/<version>/bin: apt-get install postgresql',
    )
  return join(root, v, 'bin')
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

export async function startPostgres(): Promise<PgCluster> {
  const bin = binDir()
  const dir = mkdtempSync(join(tmpdir(), 'airlock-pg-'))
  const data = join(dir, 'data')
  const asRoot = process.getuid?.() === 0
  let uid = 0
  let gid = 0
  if (asRoot) {
    uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim())
    gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim())
    chownSync(dir, uid, gid)
    chmodSync(dir, 0o700)
  }
  const run = (cmd: string, args: string[]) => {
    const r = spawnSync(join(bin, cmd), args, {
      uid: asRoot ? uid : undefined,
      gid: asRoot ? gid : undefined,
      encoding: 'utf8',
      cwd: dir,
    })
    if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr || r.stdout}`)
  }
  run('initdb', ['-D', data, '-U', 'airlock', '--auth=trust', '-E', 'UTF8', '--no-sync'])
  const port = await freePort()
  const opts = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c max_connections=200`
  const start = () => run('pg_ctl', ['-D', data, '-o', opts, '-l', join(dir, 'log'), '-w', '-t', '30', 'start'])
  start()
  const url = (db: string) => `postgres://airlock@127.0.0.1:${port}/${db}`
  let n = 0
  return {
    port,
    url,
    async createDatabase(name = `t${process.pid}_${Date.now()}_${n++}`) {
      const c = new pg.Client({ connectionString: url('postgres') })
      await c.connect()
      try {
        await c.query(`CREATE DATABASE "${name}"`)
      } finally {
        await c.end()
      }
      return url(name)
    },
    pause: () => run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']),
    start,
    stop() {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop'])
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
