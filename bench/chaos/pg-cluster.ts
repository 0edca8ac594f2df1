/**
 * A PostgreSQL server the chaos suite may restart.
 *
 * - `private` (default): a throw-away cluster of the installed PostgreSQL (initdb + pg_ctl as the
 *   `postgres` user, on a free port, trust auth on 127.0.0.1 only). Restarting it disturbs nobody,
 *   so the scenario is safe on a machine where other test suites share the system server.
 * - `system`: the machine's own cluster, restarted with
 *   `pg_ctlcluster --skip-systemctl-redirect <version> main restart` (FERRY_CHAOS_PG=system).
 *   Every client of that server sees the restart: never from `npm test`.
 */
import { execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { createPostgresDatabase, POSTGRES_URL } from '../../test/helpers/db.js'
import { freePort } from '../../test/helpers/process.js'

export interface RestartableServer {
  mode: 'private' | 'system'
  /** a fresh database on it */
  database: { url: string, drop(): Promise<void> }
  restart (): Promise<void>
  close (): Promise<void>
}

function pgBin (): string {
  const root = '/usr/lib/postgresql'
  const versions = fs.existsSync(root) ? fs.readdirSync(root).sort((a, b) => Number(b) - Number(a)) : []
  for (const v of versions) if (fs.existsSync(path.join(root, v, 'bin/pg_ctl'))) return path.join(root, v, 'bin')
  throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql')
}

// stdout/stderr are not captured: a postmaster started by pg_ctl inherits them, and a pipe would
// keep execFileSync waiting for EOF as long as the server runs (its output goes to -l <log>)
// (asynchronous, so the Ferry process under test keeps running while the server goes down and up)
async function asPostgres (cmd: string, args: string[]): Promise<void> {
  const root = process.getuid?.() === 0
  const child = root
    ? spawn('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: ['ignore', 'ignore', 'inherit'] })
    : spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] })
  const code = await new Promise<number | null>((resolve, reject) => { child.on('error', reject); child.on('exit', resolve) })
  if (code !== 0) throw new Error(`${path.basename(cmd)} ${args[0] ?? ''} exited with ${code}`)
}

async function waitUntilUp (url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const c = new pg.Client({ connectionString: url })
    try {
      await c.connect()
      await c.query('SELECT 1')
      await c.end()
      return
    } catch (err) {
      await c.end().catch(() => {})
      if (Date.now() > deadline) throw err
      await new Promise(resolve => setTimeout(resolve, 200))
    }
  }
}

async function asRoot (cmd: string, args: string[]): Promise<void> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] })
  const code = await new Promise<number | null>((resolve, reject) => { child.on('error', reject); child.on('exit', resolve) })
  if (code !== 0) throw new Error(`${cmd} exited with ${code}`)
}

export async function startRestartableServer (mode: 'private' | 'system'): Promise<RestartableServer> {
  if (mode === 'system') {
    const version = fs.readdirSync('/etc/postgresql')[0]
    return {
      mode,
      database: await createPostgresDatabase(),
      async restart () {
        await asRoot('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'restart'])
        await waitUntilUp(POSTGRES_URL)
      },
      async close () {},
    }
  }
  const bin = pgBin()
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ferry-chaos-pg-'))
  if (process.getuid?.() === 0) execFileSync('chown', ['-R', 'postgres:postgres', dir])
  const data = path.join(dir, 'data')
  await asPostgres(path.join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8'])
  const port = await freePort()
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=on`
  await asPostgres(path.join(bin, 'pg_ctl'), ['-D', data, '-o', options, '-l', path.join(dir, 'log'), '-w', 'start'])
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`
  await waitUntilUp(url)
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  await admin.query('CREATE DATABASE ferry_chaos')
  await admin.end()
  return {
    mode,
    database: { url: `postgres://postgres@127.0.0.1:${port}/ferry_chaos`, drop: async () => {} },
    async restart () {
      // fast: terminate every session and roll back open transactions, as a crash-restart would
      await asPostgres(path.join(bin, 'pg_ctl'), ['-D', data, '-l', path.join(dir, 'log'), '-m', 'fast', '-w', 'restart'])
      await waitUntilUp(url)
    },
    async close () {
      await asPostgres(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {})
      await fsp.rm(dir, { recursive: true, force: true })
    },
  }
}
