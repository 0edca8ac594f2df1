/**
 * The chaos scenarios. Each one sets up s3rver (in its own process) with files of known content, a
 * Ferry runtime on a PostgreSQL database, breaks things while pulls run, lets the system settle
 * (a final clean pull, which also closes syncs orphaned by a dead worker) and then checks the
 * invariants of ./invariants.ts. They are run by `npm run chaos` (test/chaos/*.test.ts, full sizes)
 * and, small, by test/integration/chaos-short.test.ts in `npm test`.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { startFerry, type FerryInstance } from '../lib/ferry.js'
import { placeObject, startS3rverProcess, type S3rverProcess } from '../lib/s3.js'
import { ROOT } from '../lib/proc.js'
import { getSyncById, type Sync } from '../../src/db/sql/syncs.js'
import { pullSource } from '../../src/sync/pull.js'
import { FAULTS, FaultProxy, type Fault } from './proxy.js'
import { checkInvariants, type ExpectedFile } from './invariants.js'
import { startRestartableServer } from './pg-cluster.js'

export interface ScenarioReport {
  scenario: string
  description: string
  rounds: number
  /** faults injected, by kind (S3 faults, SIGKILLs, PostgreSQL restarts) */
  faults: Record<string, number>
  faultsInjected: number
  pulls: { total: number, succeeded: number, partial: number, failed: number, threw: number }
  filesChecked: number
  rowsChecked: number
  anomalies: string[]
  seconds: number
}

type Log = (line: string) => void

/** A deterministic dice for delays and choices. */
export function dice (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = Math.imul(a ^ (a >>> 15), a | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** One CSV file of the scenarios: `rows` rows whose SKUs are unique to (file, version). */
async function placeCsv (s3Dir: string, key: string, file: number, version: number, rows: number): Promise<ExpectedFile> {
  const lines = ['sku,name,quantity,price']
  for (let r = 0; r < rows; r++) lines.push(`F${file}v${version}-R${r},Item ${file}/${r},${r % 90},${(r % 500) / 10}`)
  const { etag } = await placeObject(s3Dir, 'chaos', key, Buffer.from(lines.join('\n') + '\n'))
  return { key, etag, rows }
}

const smallRows = (i: number) => 3 + ((i * 7) % 38)
const keyOf = (prefix: string, i: number, big: boolean) => `${prefix}${big ? 'big' : 'small'}-${String(i).padStart(4, '0')}.csv`

/**
 * `files` small CSVs (3–40 rows) and `bigFiles` of ~`bigRows` rows (large enough that a fault or a
 * kill lands mid-body), every SKU unique, placed in s3rver's directory.
 */
export async function makeFiles (s3Dir: string, prefix: string, options: { files: number, bigFiles?: number, bigRows?: number }): Promise<ExpectedFile[]> {
  const out: ExpectedFile[] = []
  const total = options.files + (options.bigFiles ?? 0)
  for (let i = 0; i < total; i++) {
    const big = i >= options.files
    out.push(await placeCsv(s3Dir, keyOf(prefix, i, big), i, 1, big ? (options.bigRows ?? 50_000) : smallRows(i)))
  }
  return out
}

function tally (pulls: ScenarioReport['pulls'], outcome: Sync | 'threw'): void {
  pulls.total++
  if (outcome === 'threw') pulls.threw++
  else if (outcome.status === 'succeeded') pulls.succeeded++
  else if (outcome.status === 'partial') pulls.partial++
  else pulls.failed++
}

/** Pulls until one succeeds with nothing failed (at most `tries`); returns the outcomes. */
async function settle (pull: () => Promise<Sync>, pulls: ScenarioReport['pulls'], tries = 4, log?: Log): Promise<void> {
  for (let i = 0; i < tries; i++) {
    try {
      const sync = await pull()
      tally(pulls, sync)
      log?.(`settling pull ${i + 1}: ${sync.status}, ${sync.filesCount} files`)
      if (sync.status === 'succeeded') return
    } catch (err) {
      tally(pulls, 'threw')
      log?.(`settling pull ${i + 1} threw: ${(err as Error).message}`)
      await new Promise(resolve => setTimeout(resolve, 1000))
    }
  }
}

interface Stage { s3: S3rverProcess, ferry: FerryInstance, files: ExpectedFile[], dir: string }

async function stage (options: {
  files: number, bigFiles: number, bigRows?: number, env?: Record<string, string>, database?: { url: string, drop(): Promise<void> }
}): Promise<Stage> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-chaos-'))
  const s3Dir = path.join(dir, 's3')
  await fs.mkdir(path.join(s3Dir, 'chaos'), { recursive: true })
  const files = await makeFiles(s3Dir, 'in/', options)
  const s3 = await startS3rverProcess({ directory: s3Dir, buckets: ['chaos'] })
  const ferry = await startFerry({ env: options.env, database: options.database })
  return { s3, ferry, files, dir }
}

async function teardown (st: Partial<Stage>): Promise<void> {
  await st.ferry?.close().catch(() => {})
  await st.s3?.close().catch(() => {})
  if (st.dir) await fs.rm(st.dir, { recursive: true, force: true })
}

/**
 * S3 faults: a proxy in front of s3rver answers a share of all requests (listings and GETs) with
 * 500, 503 SlowDown, a reset connection, a stalled body or a truncated body. Several pulls run under
 * faults, then one without.
 */
export async function s3FaultScenario (options: {
  files: number, bigFiles: number, bigRows?: number, rate: number, faultyPulls: number, seed: number, faults?: Fault[], log?: Log
  /** before each faulty pull after the first: this many new files, and this many existing keys rewritten (a new version, new ETag) */
  newFilesPerPull?: number, rewritesPerPull?: number
}): Promise<ScenarioReport> {
  const started = Date.now()
  const st: Partial<Stage> = {}
  let proxy: FaultProxy | undefined
  try {
    // a short idle timeout so stalls are noticed quickly; the SDK retries 500/503/resets itself
    Object.assign(st, await stage({ ...options, env: { FERRY_TARGET_TIMEOUT_MS: '1500', LOG_LEVEL: 'error' } }))
    proxy = await new FaultProxy({ target: st.s3!.endpoint, rate: options.rate, seed: options.seed, faults: options.faults }).listen()
    const source = await st.ferry!.addS3Source({ endpoint: proxy.url, bucket: 'chaos', prefix: 'in/', validate: false })
    const pulls = { total: 0, succeeded: 0, partial: 0, failed: 0, threw: 0 }
    const current = new Map(st.files!.map(f => [f.key, f]))
    const superseded: ExpectedFile[] = []
    const random = dice(options.seed + 1)
    let nextFile = st.files!.length
    let version = 1
    for (let i = 0; i < options.faultyPulls; i++) {
      if (i > 0) {
        // new work for every pull: files that appear, and keys overwritten with new content
        version++
        const s3Dir = path.join(st.dir!, 's3')
        // only keys whose current version is already taken are rewritten: a version that failed and was
        // replaced before the next pull is legitimately never ingested, and would blur the invariants
        const taken = new Set((await st.ferry!.deps.db.query<{ key: string, etag: string }>(
          'SELECT key, etag FROM source_files WHERE source_id = $1', [source.id])).rows.map(r => `${r.key}\u0000${r.etag}`))
        const keys = [...current.values()].filter(f => f.key.includes('/small-') && taken.has(`${f.key}\u0000${f.etag}`)).map(f => f.key)
        for (let n = 0; n < (options.newFilesPerPull ?? 0); n++, nextFile++) {
          const f = await placeCsv(s3Dir, keyOf('in/', nextFile, false), nextFile, 1, smallRows(nextFile))
          current.set(f.key, f)
        }
        for (let n = 0; n < (options.rewritesPerPull ?? 0) && keys.length; n++) {
          const key = keys.splice(Math.floor(random() * keys.length), 1)[0]
          const file = Number(/(\d+)\.csv$/.exec(key)![1])
          superseded.push(current.get(key)!)
          current.set(key, await placeCsv(s3Dir, key, file, version, smallRows(file + version)))
        }
      }
      try {
        const sync = await st.ferry!.pull(source.id)
        tally(pulls, sync)
        const failed = sync.manifest.filter(e => e.status === 'failed').length
        options.log?.(`faulty pull ${i + 1}: ${sync.status}, ${sync.filesCount} files, ${failed} failed; faults so far ${proxy!.injected}`)
      } catch (err) {
        tally(pulls, 'threw')
        options.log?.(`faulty pull ${i + 1} threw: ${(err as Error).message}`)
      }
    }
    proxy.rate = 0
    await settle(() => st.ferry!.pull(source.id), pulls, 4, options.log)
    const check = await checkInvariants(st.ferry!.deps.db, source.id, [...current.values()], superseded)
    const { passed: _passed, ...faults } = proxy.counts
    return {
      scenario: 's3-faults',
      description: `${options.faultyPulls} pulls through a proxy failing ${Math.round(options.rate * 100)} % of S3 requests ` +
        `(${(options.faults ?? FAULTS).join(', ')}), ` +
        `${options.newFilesPerPull ?? 0} new files and ${options.rewritesPerPull ?? 0} rewritten keys before each, then a clean pull`,
      rounds: options.faultyPulls,
      faults,
      faultsInjected: proxy.injected,
      pulls,
      ...check,
      seconds: (Date.now() - started) / 1000,
    }
  } finally {
    await proxy?.close()
    await teardown(st)
  }
}

interface Worker { child: ChildProcess, pulling: Promise<boolean>, exited: Promise<number | null>, output: () => string }

function startWorker (sourceId: string, env: Record<string, string>, leaseWaitMs: number): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/lib/pull-child.mjs'), sourceId, String(leaseWaitMs)], {
    cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let resolvePulling: (v: boolean) => void
  const pulling = new Promise<boolean>(resolve => { resolvePulling = resolve })
  child.stdout!.on('data', (d) => { out += d; if (out.includes('"pulling":true')) resolvePulling(true) })
  child.stderr!.on('data', (d) => { out += d })
  const exited = new Promise<number | null>(resolve => child.on('exit', (code) => { resolvePulling(false); resolve(code) }))
  return { child, pulling, exited, output: () => out }
}

/**
 * Worker processes SIGKILLed at random points of their pulls: each round starts `workers` processes
 * pulling the same source (one holds the lease, the others wait for it), and kills each at a random
 * moment after it began pulling. Then a worker that is left alone settles the source.
 */
export async function killScenario (options: {
  files: number, bigFiles: number, bigRows?: number, rounds: number, workers: number, maxKillDelayMs: number, seed: number, log?: Log
}): Promise<ScenarioReport> {
  const started = Date.now()
  const st: Partial<Stage> = {}
  const random = dice(options.seed)
  try {
    Object.assign(st, await stage({ ...options, env: { FERRY_PULL_LEASE_SECONDS: '2', LOG_LEVEL: 'error' } }))
    const source = await st.ferry!.addS3Source({ endpoint: st.s3!.endpoint, bucket: 'chaos', prefix: 'in/', validate: false })
    const env = { ...st.ferry!.env, FERRY_PULL_LEASE_SECONDS: '2' }
    const faults = { sigkill: 0 }
    const pulls = { total: 0, succeeded: 0, partial: 0, failed: 0, threw: 0 }
    for (let round = 0; round < options.rounds; round++) {
      const workers = Array.from({ length: options.workers }, () => startWorker(source.id, env, 30_000))
      await Promise.all(workers.map(async (w) => {
        if (!await w.pulling) return
        // a random point: once a random share (0–60 %) of the files is committed, or after a random
        // delay, whichever comes first — so kills land before the first commit, between commits and
        // mid-file, whatever the machine's speed
        const target = Math.floor(random() * st.files!.length * 0.6)
        const deadline = Date.now() + Math.floor(random() * options.maxKillDelayMs)
        while (w.child.exitCode === null && Date.now() < deadline) {
          const done = (await st.ferry!.deps.db.query<{ n: number }>('SELECT count(*)::int AS n FROM source_files WHERE source_id = $1', [source.id])).rows[0].n
          if (done >= target && target > 0) break
          await new Promise(resolve => setTimeout(resolve, 25))
        }
        if (w.child.exitCode === null) {
          faults.sigkill++
          w.child.kill('SIGKILL')
        }
        const code = await w.exited
        if (code === null) return // killed
        // finished (or gave up waiting for the lease) before its kill came
        const last = w.output().trim().split('\n').reverse().find(l => l.startsWith('{"status"'))
        tally(pulls, last ? JSON.parse(last) as Sync : 'threw')
      }))
      const taken = (await st.ferry!.deps.db.query<{ n: number }>('SELECT count(*)::int AS n FROM source_files WHERE source_id = $1', [source.id])).rows[0].n
      options.log?.(`round ${round + 1}: ${faults.sigkill} kills so far, ${taken}/${st.files!.length} files committed`)
    }
    const settleWithWorker = async (): Promise<Sync> => {
      const w = startWorker(source.id, env, 30_000)
      const code = await w.exited
      if (code !== 0) throw new Error(`settling worker exited ${code}: ${w.output().slice(-400)}`)
      const last = (await st.ferry!.deps.db.query<{ id: string }>('SELECT id FROM syncs WHERE source_id = $1 ORDER BY id DESC LIMIT 1', [source.id])).rows[0]
      return (await getSyncById(st.ferry!.deps.db, last.id))!
    }
    await settle(settleWithWorker, pulls, 3, options.log)
    const check = await checkInvariants(st.ferry!.deps.db, source.id, st.files!)
    return {
      scenario: 'sigkill-workers',
      description: `${options.rounds} rounds of ${options.workers} worker processes pulling one source, ` +
        `each SIGKILLed at a random point (after 0–60 % of the files or 0–${options.maxKillDelayMs} ms), then a clean pull`,
      rounds: options.rounds,
      faults,
      faultsInjected: faults.sigkill,
      pulls,
      ...check,
      seconds: (Date.now() - started) / 1000,
    }
  } finally {
    await teardown(st)
  }
}

/**
 * PostgreSQL restarted (fast shutdown: every session terminated, open transactions rolled back)
 * while a pull is writing; the same Ferry process then carries on (its pool reconnects) and settles.
 */
export async function postgresRestartScenario (options: {
  files: number, bigFiles: number, bigRows?: number, restarts: number, maxDelayMs: number, seed: number, mode: 'private' | 'system', log?: Log
}): Promise<ScenarioReport> {
  const started = Date.now()
  const random = dice(options.seed)
  const server = await startRestartableServer(options.mode)
  const st: Partial<Stage> = {}
  try {
    Object.assign(st, await stage({ ...options, env: { FERRY_PULL_LEASE_SECONDS: '3', LOG_LEVEL: 'error' }, database: server.database }))
    const deps = st.ferry!.deps
    const pulls = { total: 0, succeeded: 0, partial: 0, failed: 0, threw: 0 }
    const faults = { postgresRestart: 0 }
    const total = { filesChecked: 0, rowsChecked: 0, anomalies: [] as string[] }
    for (let i = 0; i < options.restarts; i++) {
      // a new source over the same prefix each round: a first pull with all the files to take
      const source = await st.ferry!.addS3Source({ endpoint: st.s3!.endpoint, bucket: 'chaos', prefix: 'in/', validate: false, name: `restart ${i + 1}` })
      let settled = false
      const pull = pullSource(deps, { sourceId: source.id, trigger: 'manual', leaseWaitMs: 20_000 })
        .then(sync => sync, (err: Error) => err).finally(() => { settled = true })
      // restart at a random point: once a random share (0–60 %) of the files is committed, or after a
      // random delay, whichever comes first
      const target = Math.floor(random() * st.files!.length * 0.6)
      const deadline = Date.now() + Math.floor(random() * options.maxDelayMs)
      // eslint-disable-next-line no-unmodified-loop-condition -- the pull's .finally() sets it
      while (!settled && Date.now() < deadline) {
        const done = (await deps.db.query<{ n: number }>('SELECT count(*)::int AS n FROM source_files WHERE source_id = $1', [source.id])).rows[0].n
        if (target > 0 && done >= target) break
        await new Promise(resolve => setTimeout(resolve, 25))
      }
      await server.restart()
      faults.postgresRestart++
      const outcome = await pull
      const committed = (await deps.db.query<{ n: number }>('SELECT count(*)::int AS n FROM source_files WHERE source_id = $1', [source.id])).rows[0].n
      if (outcome instanceof Error) {
        tally(pulls, 'threw')
        options.log?.(`restart ${i + 1}: the interrupted pull failed after committing ${committed}/${st.files!.length} files: ${outcome.message}`)
      } else {
        tally(pulls, outcome)
        options.log?.(`restart ${i + 1}: the interrupted pull ended ${outcome.status}`)
      }
      await settle(() => pullSource(deps, { sourceId: source.id, trigger: 'manual', leaseWaitMs: 20_000 }), pulls, 5, options.log)
      const check = await checkInvariants(deps.db, source.id, st.files!)
      total.filesChecked += check.filesChecked
      total.rowsChecked += check.rowsChecked
      total.anomalies.push(...check.anomalies.map(a => `restart ${i + 1}: ${a}`))
    }
    const check = total
    return {
      scenario: 'postgres-restart',
      description: `${options.restarts} restarts of ` +
        `${options.mode === 'private' ? 'a private PostgreSQL cluster (pg_ctl restart -m fast)' : 'the system PostgreSQL cluster (pg_ctlcluster restart)'} ` +
        'while a pull writes, then clean pulls from the same process',
      rounds: options.restarts,
      faults,
      faultsInjected: faults.postgresRestart,
      pulls,
      ...check,
      seconds: (Date.now() - started) / 1000,
    }
  } finally {
    await teardown(st)
    await server.close()
  }
}

/**
 * Pushes under SIGKILL: `pushes` webhook deliveries of one result (one sink each) are queued, and
 * worker processes (`ferry serve --role worker`, the real CLI) draining them are SIGKILLed at random
 * points, round after round; then one worker is left alone until every delivery is final.
 *
 * Checked: every delivery `delivered` and its sync `succeeded` with exactly one manifest entry
 * reporting `delivered` and exactly one attempt with that outcome; no sync left `running`; the
 * receiver saw every webhook-id; a webhook-id it saw twice is only allowed where Ferry recorded an
 * attempt whose outcome it could not know (a worker killed between sending and recording — the
 * receiver dedupes by webhook-id, as Standard Webhooks intends). A second send after a recorded
 * success would be a duplicate successful delivery: an anomaly.
 */
export async function pushKillScenario (options: {
  pushes: number, rounds: number, workers: number, maxKillDelayMs: number, seed: number, log?: Log
}): Promise<ScenarioReport> {
  const started = Date.now()
  const random = dice(options.seed)
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-chaos-push-'))
  const { createPostgresDatabase } = await import('../../test/helpers/db.js')
  const { startReceiver, preparePushes, queuePushes } = await import('../lib/push-setup.js')
  const { spawnFerry } = await import('../../test/helpers/process.js')
  const { ferryEnv } = await import('../lib/ferry.js')
  const database = await createPostgresDatabase()
  const receiver = await startReceiver(path.join(dir, 'body.json'))
  const pg = (await import('pg')).default
  const db = new pg.Pool({ connectionString: database.url, max: 2 })
  // the forced DROP DATABASE at the end may reach a client the pool is still closing
  db.on('connect', (client) => { client.on('error', () => {}) })
  const live = new Set<ReturnType<typeof spawnFerry>>()
  try {
    const fixture = await preparePushes(database.url, receiver.base, { rows: 200, sinks: options.pushes })
    const syncIds = await queuePushes(database.url, fixture)
    const env = ferryEnv(database.url, path.join(dir, 'ferry'), { LOG_LEVEL: 'error' })
    const delivered = async () => Number((await db.query(
      "SELECT count(*) AS n FROM push_deliveries WHERE sync_id = ANY($1::uuid[]) AND state = 'delivered'", [syncIds])).rows[0].n)
    const faults = { sigkill: 0 }
    for (let round = 0; round < options.rounds; round++) {
      const workers = Array.from({ length: options.workers }, () => spawnFerry(['serve', '--role', 'worker'], env))
      for (const w of workers) live.add(w)
      const before = await delivered()
      // a random point: once a random number of further deliveries is done, or after a random delay
      const target = before + 1 + Math.floor(random() * Math.max(1, (options.pushes - before) * 0.3))
      const deadline = Date.now() + 3000 + Math.floor(random() * options.maxKillDelayMs)
      while (Date.now() < deadline && await delivered() < target) await new Promise(resolve => setTimeout(resolve, 25))
      for (const w of workers) {
        if (w.child.exitCode === null) { w.child.kill('SIGKILL'); faults.sigkill++ }
        await w.exited
        live.delete(w)
      }
      options.log?.(`round ${round + 1}: ${faults.sigkill} kills so far, ${await delivered()}/${options.pushes} delivered`)
    }
    // settle: one worker, left alone (a killed attempt's lease must expire before it is taken over)
    const last = spawnFerry(['serve', '--role', 'worker'], env)
    live.add(last)
    const settleBy = Date.now() + 180_000
    while (Date.now() < settleBy && await delivered() < options.pushes) await new Promise(resolve => setTimeout(resolve, 250))
    last.child.kill('SIGTERM')
    await last.exited
    live.delete(last)
    options.log?.(`settled: ${await delivered()}/${options.pushes} delivered`)

    const anomalies: string[] = []
    const rows = (await db.query(
      `SELECT d.state, d.webhook_id, s.status,
         coalesce(s.manifest_json,
           (SELECT coalesce(jsonb_agg(m.entry ORDER BY m.n), '[]'::jsonb) FROM sync_manifest_entries m WHERE m.sync_id = s.id)) AS manifest_json
       FROM push_deliveries d JOIN syncs s ON s.id = d.sync_id WHERE d.sync_id = ANY($1::uuid[])`, [syncIds])).rows as Array<{
        state: string, webhook_id: string, status: string, manifest_json: Array<{ status: string, attempts?: Array<{ outcome: string }> }>
      }>
    let unknownAttempts = 0
    for (const r of rows) {
      if (r.state !== 'delivered') anomalies.push(`delivery ${r.webhook_id} ended ${r.state}`)
      if (r.status !== 'succeeded') anomalies.push(`push sync of ${r.webhook_id} is ${r.status}`)
      const reported = r.manifest_json.filter(e => e.status === 'delivered').length
      if (reported !== 1) anomalies.push(`push ${r.webhook_id}: ${reported} manifest entries report delivered (expected 1)`)
      const attempts = r.manifest_json.flatMap(e => e.attempts ?? [])
      const successes = attempts.filter(a => a.outcome === 'delivered').length
      if (successes !== 1) anomalies.push(`push ${r.webhook_id}: ${successes} attempts recorded as delivered (expected 1)`)
      unknownAttempts += attempts.filter(a => a.outcome === 'unknown').length
    }
    if (rows.length !== options.pushes) anomalies.push(`${rows.length} deliveries for ${options.pushes} pushes`)
    const seen = await receiver.stats()
    if (seen.unique !== options.pushes) anomalies.push(`the receiver saw ${seen.unique} distinct webhook-ids, expected ${options.pushes}`)
    const resent = seen.count - seen.unique
    if (resent > unknownAttempts) {
      anomalies.push(`the receiver got ${resent} repeated webhook-ids but only ${unknownAttempts} attempts had an unknown outcome: ` +
        'a delivery was sent again after it was recorded')
    }
    options.log?.(`receiver: ${seen.count} requests, ${seen.unique} webhook-ids; ${unknownAttempts} attempts cut off by a kill`)
    return {
      scenario: 'push-sigkill',
      description: `${options.pushes} webhook pushes drained by worker processes (ferry serve --role worker) SIGKILLed at random points, ` +
        `${options.rounds} rounds of ${options.workers}, then one worker alone; ` +
        `receiver-side webhook-id count checked (${resent} repeats after ${unknownAttempts} unrecorded attempts)`,
      rounds: options.rounds,
      faults,
      faultsInjected: faults.sigkill,
      pulls: { total: 0, succeeded: 0, partial: 0, failed: 0, threw: 0 },
      filesChecked: rows.length,
      rowsChecked: 0,
      anomalies,
      seconds: (Date.now() - started) / 1000,
    }
  } finally {
    for (const w of live) w.child.kill('SIGKILL')
    await db.end()
    receiver.close()
    await database.drop().catch(() => {})
    await fs.rm(dir, { recursive: true, force: true })
  }
}
