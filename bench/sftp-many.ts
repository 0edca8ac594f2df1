/**
 * Benchmark 9 — many files over SFTP (issue 16): N small CSV files in a directory of Debian's
 * OpenSSH server (test/helpers/sshd.ts, internal-sftp). Ferry's first pull of an `sftp` source
 * (list, download, parse, store; one transaction per file) against `rclone copy` of the same
 * directory over SFTP to local disk (download only), with the same key login.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { createSource } from '../src/sources/service.js'
import { generateKeyPair, sshdUnavailable, startSshd } from '../test/helpers/sshd.js'
import { startFerry } from './lib/ferry.js'
import { csvBuffer } from './lib/data.js'
import { cleanEnv, findExecutable, run } from './lib/proc.js'
import { compare, measure, timed } from './lib/stats.js'
import type { Benchmark, BenchOutcome, Measure } from './lib/types.js'

const ROWS_PER_FILE = 400 // ≈ 16 KB of CSV, as in benchmark 2

async function countFiles (dir: string): Promise<number> {
  let n = 0
  for (const entry of await fs.readdir(dir, { recursive: true, withFileTypes: true })) if (entry.isFile()) n++
  return n
}

export const sftpManyBenchmark: Benchmark = {
  id: 'sftp-many',
  title: '9. Many files over SFTP: first pull of small files vs rclone copy (sftp backend)',
  async run (ctx): Promise<BenchOutcome> {
    const files = ctx.quick ? 100 : 500
    const unavailable = sshdUnavailable()
    if (unavailable !== null) {
      return { id: this.id, title: this.title, status: 'unavailable', params: { files }, measures: [], comparisons: [], notes: [unavailable] }
    }
    const sshd = await startSshd()
    const key = generateKeyPair('ed25519')
    await sshd.authorize(key.publicKey)
    const keyFile = path.join(ctx.workDir, 'sftp-key')
    await fs.writeFile(keyFile, key.privateKey, { mode: 0o600 })
    for (let i = 0; i < files; i++) {
      await sshd.write(`many/file-${String(i).padStart(5, '0')}.csv`, csvBuffer(ROWS_PER_FILE, i * ROWS_PER_FILE + 1))
    }
    const dir = path.join(sshd.root, 'many')
    const rclone = findExecutable(['/usr/bin/rclone'])
    const home = await fs.mkdtemp(path.join(ctx.workDir, 'home-'))
    const rcloneEnv = cleanEnv({ HOME: home, RCLONE_CONFIG: path.join(home, 'rclone.conf') })
    // an on-the-fly remote; shell_type=none: internal-sftp has no shell for rclone's hash commands
    const remote = `:sftp,host=${sshd.host},port=${sshd.port},user=${sshd.username},key_file='${keyFile}',shell_type=none:${dir}`
    const ferry: number[] = []
    const rcloneMs: number[] = []
    const notes: string[] = []
    try {
      for (let i = 0; i < ctx.runs; i++) {
        const f = await startFerry()
        try {
          const { secret } = await f.deps.vault.create(f.orgId, { name: 'sftp', type: 'sftp', value: { username: sshd.username, privateKey: key.privateKey } })
          const { source } = await createSource(f.deps, f.orgId, f.agent.id, {
            name: 'bench sftp', role: 'INVENTORY_SOURCE', type: 'sftp', validate: true,
            config: { host: sshd.host, port: sshd.port, path: dir, hostKey: sshd.hostKeyFingerprint, secretRef: secret.id },
          })
          const { ms, value: sync } = await timed(() => f.pull(source.id))
          if (sync.status !== 'succeeded' || sync.filesCount !== files || sync.rowsAccepted !== files * ROWS_PER_FILE) {
            throw new Error(`pull ended ${sync.status} with ${sync.filesCount} files / ${sync.rowsAccepted} rows`)
          }
          ferry.push(ms)
          ctx.log(`sftp-many run ${i + 1}: ferry ${Math.round(ms)} ms`)
        } finally {
          await f.close()
        }
        if (rclone) {
          const dest = await fs.mkdtemp(path.join(ctx.workDir, 'rclone-'))
          try {
            const res = await run(rclone, ['copy', remote, dest, '--quiet'], { env: rcloneEnv })
            if (res.code !== 0) throw new Error(`rclone exited ${res.code}: ${res.stderr.slice(-400)}`)
            const got = await countFiles(dest)
            if (got !== files) throw new Error(`rclone copied ${got} files, expected ${files}`)
            rcloneMs.push(res.ms)
          } finally {
            await fs.rm(dest, { recursive: true, force: true })
          }
          ctx.log(`sftp-many run ${i + 1}: rclone copy ${Math.round(rcloneMs.at(-1)!)} ms`)
        }
      }
    } finally {
      await sshd.stop()
    }
    const measures: Measure[] = [
      measure('ferry.ms', `Ferry first pull over SFTP: ${files} files downloaded, parsed and stored (${files * ROWS_PER_FILE} rows)`, 'ms', ferry),
    ]
    const comparisons = []
    if (rclone) {
      measures.push(measure('rclone.ms', 'rclone copy over SFTP to local disk (download only, default 4 transfers)', 'ms', rcloneMs))
      // issue 16 asks for the ratio, not a target: it is reported as n/a rather than given a PASS/MISS of our own
      comparisons.push({ ...compare('Ferry time ÷ rclone copy time', measures[0], measures[1], { text: 'none set', test: () => true }), pass: null })
    } else notes.push('rclone is not installed (/usr/bin/rclone): that baseline is unavailable — `apt-get install rclone` (bench/README.md).')
    notes.push('Ferry uses one SSH connection per pull and reads up to 8 files at a time over it (FERRY_PULL_FILE_CONCURRENCY), one 64 KiB ' +
      'read request in flight per file; rclone opens its own connections (4 transfers) and does not check the host key here. ' +
      'Ferry also parses and stores every row in PostgreSQL; rclone only writes the bytes to disk.')
    return {
      id: this.id,
      title: this.title,
      status: comparisons.length ? 'ok' : 'unavailable',
      params: { files, bytesPerFile: csvBuffer(ROWS_PER_FILE).length, rowsPerFile: ROWS_PER_FILE, runs: ctx.runs, ferryFileConcurrency: 4 },
      measures,
      comparisons,
      notes,
    }
  },
}
