import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

export const ROOT = path.resolve(import.meta.dirname, '../..')

export interface RunResult { code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string, ms: number }

/** Runs a command to completion (no shell), timing it from spawn to exit. */
export async function run (cmd: string, args: string[], options: { env?: NodeJS.ProcessEnv, cwd?: string, timeoutMs?: number } = {}): Promise<RunResult> {
  const start = process.hrtime.bigint()
  const child = spawn(cmd, args, { cwd: options.cwd ?? ROOT, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => { stdout += d })
  child.stderr.on('data', (d) => { stderr += d })
  const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.on('error', reject)
    child.on('exit', (c, s) => resolve([c, s]))
  })
  if (timer) clearTimeout(timer)
  return { code, signal, stdout, stderr, ms: Number(process.hrtime.bigint() - start) / 1e6 }
}

/** Runs a TypeScript entry point of this repository with node + tsx. */
export function runTs (entry: string, args: string[], options: { env?: NodeJS.ProcessEnv, nodeArgs?: string[], timeoutMs?: number } = {}): Promise<RunResult> {
  return run(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', path.join(ROOT, entry), ...args], options)
}

/** The last line of stdout that parses as JSON. */
export function lastJson<T> (stdout: string): T {
  const lines = stdout.trim().split('\n').reverse()
  for (const line of lines) {
    try { return JSON.parse(line) as T } catch {}
  }
  throw new Error(`no JSON line in output: ${stdout.slice(-500)}`)
}

/** The executable path if it exists and runs, else null. */
export function findExecutable (candidates: string[]): string | null {
  for (const c of candidates) {
    try {
      fs.accessSync(c, fs.constants.X_OK)
      return c
    } catch {}
  }
  return null
}

/** The environment without variables that change how the peers behave (e.g. rclone refuses AWS_CA_BUNDLE over plain http). */
export function cleanEnv (extra: Record<string, string> = {}, drop: string[] = []): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const k of drop) delete env[k]
  return { ...env, ...extra }
}
