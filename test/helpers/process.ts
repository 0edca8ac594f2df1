import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

const ROOT = path.resolve(import.meta.dirname, '../..')

export async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port
      srv.close(() => resolve(port))
    })
    srv.on('error', reject)
  })
}

export interface FerryProcess {
  child: ChildProcess
  output: () => string
  exited: Promise<number | null>
}

/** Runs the real CLI from source (`ferry <args>`) as a child process. */
export function spawnFerry (args: string[], env: Record<string, string>): FerryProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli.ts'), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout!.on('data', (d) => { out += d })
  child.stderr!.on('data', (d) => { out += d })
  const exited = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)))
  return { child, output: () => out, exited }
}

export interface PullChild {
  child: ChildProcess
  output: () => string
  /** the exit code, or the signal that ended it */
  exited: Promise<NodeJS.Signals | number | null>
  /** `reached`, unless the child exits first: then it rejects with the child's output */
  whileAlive (reached: Promise<unknown>): Promise<unknown>
}

/**
 * Starts test/helpers/pull-child.ts: one pull of `sourceId` (as `jobId`'s, when given) in its own
 * process, as a worker that can be SIGKILLed mid-file. Its files go one at a time in key order, and
 * a stalled download never times out: the test kills the child first. `cleanup` registers the
 * teardown (kill, then remove its data directory) with the test's own.
 */
export async function spawnPullChild ({ databaseUrl, sourceId, jobId, leaseSeconds, chunkRows, cleanup }: {
  databaseUrl: string, sourceId: string, jobId?: string, leaseSeconds: number, cleanup: (fn: () => Promise<unknown>) => void
  /** rows per staged chunk of the child's pipeline (default: the backend's) */
  chunkRows?: number
}): Promise<PullChild> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-pull-child-'))
  cleanup(() => fs.rm(dataDir, { recursive: true, force: true }))
  const script = path.join(ROOT, 'test/helpers/pull-child.ts')
  const child = spawn(process.execPath, ['--import', 'tsx', '--openssl-legacy-provider', script, sourceId, ...(jobId ? [jobId] : [])], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      DATABASE_URL: databaseUrl,
      FERRY_DATA_DIR: dataDir,
      FERRY_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'), // the key createTestApp uses
      FERRY_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8,::1/128',
      FERRY_PULL_LEASE_SECONDS: String(leaseSeconds),
      FERRY_PULL_FILE_CONCURRENCY: '1',
      FERRY_TARGET_TIMEOUT_MS: '600000',
      ...(chunkRows ? { PULL_CHILD_CHUNK_ROWS: String(chunkRows) } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout!.on('data', (d) => { out += d })
  child.stderr!.on('data', (d) => { out += d })
  const exited = new Promise<NodeJS.Signals | number | null>(resolve => child.on('exit', (code, signal) => resolve(signal ?? code)))
  cleanup(async () => { child.kill('SIGKILL') })
  return {
    child,
    output: () => out,
    exited,
    whileAlive: reached => Promise.race([reached, exited.then(() => { throw new Error(`pull child exited early:\n${out}`) })]),
  }
}

export async function waitForHttp (url: string, timeoutMs = 60_000, isAlive: () => boolean = () => true): Promise<number> {
  const start = Date.now()
  while (Date.now() - start < timeoutMs) {
    if (!isAlive()) throw new Error('process exited before answering')
    try {
      const res = await fetch(url)
      if (res.ok) return Date.now() - start
    } catch {}
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  throw new Error(`no answer from ${url} within ${timeoutMs} ms`)
}
