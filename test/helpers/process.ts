import { spawn, type ChildProcess } from 'node:child_process'
import net from 'node:net'
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
