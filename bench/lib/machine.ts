import os from 'node:os'
import pg from 'pg'
import { POSTGRES_URL } from '../../test/helpers/db.js'
import { findExecutable, run } from './proc.js'

export interface MachineInfo {
  date: string
  cpus: number
  cpuModel: string
  memoryGiB: number
  os: string
  node: string
  postgres: string
  awscli: string | null
  rclone: string | null
  loadAverage: number[]
}

async function versionOf (candidates: string[], args: string[]): Promise<string | null> {
  const exe = findExecutable(candidates)
  if (!exe) return null
  const res = await run(exe, args, { timeoutMs: 20_000 }).catch(() => null)
  if (!res || res.code !== 0) return null
  return (res.stdout || res.stderr).split('\n')[0].trim()
}

export async function machineInfo (): Promise<MachineInfo> {
  let postgres = 'unknown'
  try {
    const c = new pg.Client({ connectionString: POSTGRES_URL })
    await c.connect()
    postgres = String((await c.query('SHOW server_version')).rows[0].server_version)
    await c.end()
  } catch {}
  return {
    date: new Date().toISOString(),
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30 * 10) / 10,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    postgres,
    awscli: await versionOf(['/usr/bin/aws'], ['--version']),
    rclone: await versionOf(['/usr/bin/rclone'], ['version']),
    loadAverage: os.loadavg().map(l => Math.round(l * 100) / 100),
  }
}
