/**
 * Benchmark 2 — many files: N objects of ~20 KB each. Ferry's first pull (download + parse + store,
 * one transaction per file) against the download-only peers a user would otherwise script:
 * `aws s3 sync` (Debian's awscli) and `rclone copy` of the same prefix to local disk.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { loadConfig } from '../src/config.js'
import { ferryEnv, firstPull } from './lib/ferry.js'
import { csvBuffer, exists } from './lib/data.js'
import { placeObject, startS3rverProcess, type S3rverProcess } from './lib/s3.js'
import { cleanEnv, findExecutable, run } from './lib/proc.js'
import { compare, measure } from './lib/stats.js'
import type { Benchmark, BenchContext, BenchOutcome, Measure } from './lib/types.js'

const ROWS_PER_FILE = 400 // ≈ 20 KB of CSV

async function countFiles (dir: string): Promise<number> {
  let n = 0
  for (const entry of await fs.readdir(dir, { recursive: true, withFileTypes: true })) if (entry.isFile()) n++
  return n
}

/** s3rver's directory with the N objects (built once, reused between runs and invocations). */
async function fixture (ctx: BenchContext, files: number): Promise<string> {
  const dir = path.join(ctx.cacheDir, `s3-many-${files}`)
  if (await exists(path.join(dir, '.complete'))) return dir
  await fs.rm(dir, { recursive: true, force: true })
  for (let i = 0; i < files; i++) {
    await placeObject(dir, 'bench', `many/file-${String(i).padStart(5, '0')}.csv`, csvBuffer(ROWS_PER_FILE, i * ROWS_PER_FILE + 1))
  }
  await fs.writeFile(path.join(dir, '.complete'), '')
  return dir
}

async function peer (
  name: string,
  ctx: BenchContext,
  s3: S3rverProcess,
  files: number,
  command: (dest: string) => Promise<{ code: number | null, stderr: string, ms: number }>
): Promise<number> {
  const dest = await fs.mkdtemp(path.join(ctx.workDir, `${name}-`))
  try {
    const res = await command(dest)
    if (res.code !== 0) throw new Error(`${name} exited ${res.code}: ${res.stderr.slice(-400)}`)
    const got = await countFiles(dest)
    if (got !== files) throw new Error(`${name} copied ${got} files, expected ${files}`)
    return res.ms
  } finally {
    await fs.rm(dest, { recursive: true, force: true })
  }
}

export const manyFilesBenchmark: Benchmark = {
  id: 'many-files',
  title: '2. Many files: first pull of small objects vs aws s3 sync / rclone copy',
  async run (ctx): Promise<BenchOutcome> {
    const files = ctx.quick ? 200 : 2000
    const s3 = await startS3rverProcess({ directory: await fixture(ctx, files), buckets: ['bench'] })
    const aws = findExecutable(['/usr/bin/aws'])
    const rclone = findExecutable(['/usr/bin/rclone'])
    const home = await fs.mkdtemp(path.join(ctx.workDir, 'home-'))
    const awsEnv = cleanEnv({
      AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_DEFAULT_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true',
      HOME: home, AWS_CONFIG_FILE: path.join(home, 'none'), AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'none'),
    }, ['AWS_PROFILE', 'AWS_CA_BUNDLE', 'AWS_SESSION_TOKEN'])
    // rclone refuses to start while AWS_CA_BUNDLE is set (plain http here)
    const rcloneEnv = cleanEnv({ HOME: home, RCLONE_CONFIG: path.join(home, 'rclone.conf') }, ['AWS_CA_BUNDLE'])
    // values with ':' must be quoted in an on-the-fly remote, or rclone reads the endpoint as a host named "http"
    const remote = `:s3,provider=Other,endpoint='${s3.endpoint}',access_key_id=S3RVER,secret_access_key=S3RVER,region=us-east-1:bench/many`
    const ferry: number[] = []
    const awsMs: number[] = []
    const rcloneMs: number[] = []
    const notes: string[] = []
    try {
      for (let i = 0; i < ctx.runs; i++) {
        const { ms, sync } = await firstPull(s3.endpoint, 'many/')
        if (sync.status !== 'succeeded' || sync.filesCount !== files || sync.rowsAccepted !== files * ROWS_PER_FILE) {
          throw new Error(`pull ended ${sync.status} with ${sync.filesCount} files / ${sync.rowsAccepted} rows`)
        }
        ferry.push(ms)
        ctx.log(`many-files run ${i + 1}: ferry ${Math.round(ms)} ms`)
        if (aws) {
          awsMs.push(await peer('aws', ctx, s3, files, dest =>
            run(aws, ['s3', 'sync', 's3://bench/many/', dest, '--endpoint-url', s3.endpoint, '--no-progress', '--only-show-errors'], { env: awsEnv })))
          ctx.log(`many-files run ${i + 1}: aws s3 sync ${Math.round(awsMs.at(-1)!)} ms`)
        }
        if (rclone) {
          rcloneMs.push(await peer('rclone', ctx, s3, files, dest => run(rclone, ['copy', remote, dest, '--quiet'], { env: rcloneEnv })))
          ctx.log(`many-files run ${i + 1}: rclone copy ${Math.round(rcloneMs.at(-1)!)} ms`)
        }
      }
    } finally {
      await s3.close()
    }
    const measures: Measure[] = [
      measure('ferry.ms', `Ferry first pull: ${files} files downloaded, parsed and stored (${files * ROWS_PER_FILE} rows)`, 'ms', ferry)
    ]
    const comparisons = []
    const target = { text: '≤ 1.0× their time', test: (r: number) => r <= 1.0 }
    if (aws) {
      measures.push(measure('aws.ms', 'aws s3 sync to local disk (download only)', 'ms', awsMs))
      comparisons.push(compare('Ferry time ÷ aws s3 sync time', measures[0], measures.at(-1)!, target))
    } else notes.push('awscli is not installed (/usr/bin/aws): that baseline is unavailable — `apt-get install awscli` (bench/README.md).')
    if (rclone) {
      measures.push(measure('rclone.ms', 'rclone copy to local disk (download only, default 4 transfers)', 'ms', rcloneMs))
      comparisons.push(compare('Ferry time ÷ rclone copy time', measures[0], measures.at(-1)!, target))
    } else notes.push('rclone is not installed (/usr/bin/rclone): that baseline is unavailable — `apt-get install rclone` (bench/README.md).')
    // the limits the pull ran with: the defaults (src/config.ts), as firstPull sets neither
    const defaults = loadConfig(ferryEnv('postgres://unused', ctx.workDir))
    return {
      id: this.id,
      title: this.title,
      status: comparisons.length ? 'ok' : 'unavailable',
      params: {
        files,
        bytesPerFile: csvBuffer(ROWS_PER_FILE).length,
        rowsPerFile: ROWS_PER_FILE,
        runs: ctx.runs,
        ferryFileConcurrency: defaults.pullFileConcurrency,
        ferryBytesInFlight: defaults.pullBytesInFlight,
      },
      measures,
      comparisons,
      notes,
    }
  },
}
