/**
 * Scheduler scenario (issue 6): N sources (default 10,000; --quick 1,000) on a one-minute cron, all
 * due on the same minute, in a deployment of 1 API + 2 worker processes (`ferry serve --role …`) on
 * one PostgreSQL. Measures the time from that minute to the moment the last of the N pull jobs is
 * committed (visible in pg-boss's job table), and counts duplicates (a source enqueued twice for the
 * minute) and misses (a source not enqueued). Jobs re-enqueued by the pull workers' fair share
 * (data.deferrals, src/scheduler/fairness.ts) are the same pull waiting for a slot, not enqueues. The workers pull as they would in production (against
 * an s3rver in its own process, empty prefixes), so the scheduler competes with real pulls.
 *
 *   node --openssl-legacy-provider --import tsx bench/scheduler.ts [--quick] [--sources=N]
 *
 * Prints one JSON line: {"sources","msToLastEnqueue","duplicates","misses", …details}.
 * Needs the local PostgreSQL server (test/helpers/db.ts). Not part of `npm test`; run by
 * bench/scheduler-run.ts (`npm run bench`).
 */
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { createPostgresDatabase } from '../test/helpers/db.js'
import { freePort, spawnFerry, waitForHttp, type FerryProcess } from '../test/helpers/process.js'
import { BENCH_ADMIN_KEY, ferryEnv } from './lib/ferry.js'
import { S3_CREDENTIALS, startS3rverProcess } from './lib/s3.js'

const argv = process.argv.slice(2)
const quick = argv.includes('--quick')
const SOURCES = Number(argv.find(a => a.startsWith('--sources='))?.split('=')[1] ?? (quick ? 1000 : 10_000))
const WORKERS = 2
const log = (line: string) => process.stderr.write(`[scheduler] ${line}\n`)

const cleanups: Array<() => Promise<unknown>> = []
async function cleanup (): Promise<void> {
  for (const c of cleanups.reverse()) await c().catch(() => {})
}

async function main (): Promise<Record<string, unknown>> {
  const database = await createPostgresDatabase()
  cleanups.push(database.drop)
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-bench-sched-'))
  cleanups.push(() => fs.rm(dataDir, { recursive: true, force: true }))
  const s3 = await startS3rverProcess({ directory: path.join(dataDir, 's3'), buckets: ['scheduled'] })
  cleanups.push(() => s3.close())

  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const env = ferryEnv(database.url, path.join(dataDir, 'ferry'), { PORT: String(port) })
  const processes: FerryProcess[] = []
  const spawn = (role: string, extra: Record<string, string> = {}) => {
    const p = spawnFerry(['serve', '--role', role], { ...env, ...extra })
    processes.push(p)
    cleanups.push(async () => {
      if (p.child.exitCode !== null) return
      p.child.kill('SIGTERM')
      const timer = setTimeout(() => p.child.kill('SIGKILL'), 15_000)
      await p.exited
      clearTimeout(timer)
    })
    return p
  }
  const api = spawn('api')
  let apiAlive = true
  api.exited.then(() => { apiAlive = false })
  await waitForHttp(`${base}/readyz`, 120_000, () => apiAlive)
  // info: the workers say when they are running (they have no HTTP port)
  const workers = Array.from({ length: WORKERS }, () => spawn('worker', { LOG_LEVEL: 'info' }))
  await Promise.all(workers.map(async (w) => {
    const deadline = Date.now() + 120_000
    while (!w.output().includes('ferry is running')) {
      if (w.child.exitCode !== null || Date.now() > deadline) throw new Error(`a worker did not start: ${w.output().slice(-500)}`)
      await new Promise(resolve => setTimeout(resolve, 100))
    }
  }))
  log(`1 API + ${WORKERS} workers running on ${database.url.replace(/\/\/[^@]*@/, '//')}`)

  const call = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(`${base}/api/v1${url}`, {
      method, headers: { authorization: `Bearer ${BENCH_ADMIN_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body)
    })
    const json = await res.json() as Record<string, any>
    if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(json)}`)
    return json
  }
  const secret = await call('POST', '/secrets', { name: 's3rver', type: 'aws', value: { ...S3_CREDENTIALS } })
  const agent = await call('POST', '/agents', { name: 'every minute', scheduleCron: '* * * * *', timezone: 'UTC' })

  const client = new pg.Client({ connectionString: database.url })
  await client.connect()
  cleanups.push(() => client.end())

  // the minute all sources are due: the next whole minute at least 15 s away (time to insert them)
  const now = Date.now()
  let due = Math.ceil(now / 60_000) * 60_000
  if (due - now < 15_000) due += 60_000
  const dueAt = new Date(due)
  // the sources go straight into the table (creating 10,000 through the API is not what is measured)
  const { rows: [{ org_id: orgId }] } = await client.query<{ org_id: string }>('SELECT org_id FROM agents WHERE id = $1', [agent.id])
  await client.query(
    `INSERT INTO data_sources (id, org_id, agent_id, name, role, type, config, validation_skipped, next_pull_at)
     SELECT gen_random_uuid(), $1, $2, 'source ' || n, 'INVENTORY_SOURCE', 's3',
       jsonb_build_object('bucket', 'scheduled', 'prefix', 's' || n || '/', 'region', 'us-east-1',
         'secretRef', $3::text, 'endpoint', $4::text, 'forcePathStyle', true),
       true, $5
     FROM generate_series(1, $6::int) AS n`,
    [orgId, agent.id, secret.id, s3.endpoint, dueAt, SOURCES])
  log(`${SOURCES} sources due at ${dueAt.toISOString()} (in ${Math.round((due - Date.now()) / 1000)} s)`)

  // watch the committed pull jobs of this minute appear
  const enqueued = async (): Promise<number> => {
    const { rows } = await client.query<{ n: string }>("SELECT count(*) AS n FROM pgboss.job WHERE name = 'pull-source' AND NOT data ? 'deferrals'")
    return Number(rows[0].n)
  }
  while (Date.now() < due - 200) await new Promise(resolve => setTimeout(resolve, 100))
  let lastEnqueueAt: number | null = null
  const deadline = due + 55_000
  let seen = 0
  while (Date.now() < deadline) {
    seen = await enqueued()
    if (seen >= SOURCES) {
      lastEnqueueAt = Date.now()
      break
    }
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  // a late duplicate would show up within the next seconds; the next minute's run is ≥ 60 s away
  await new Promise(resolve => setTimeout(resolve, Math.max(0, Math.min(deadline, Date.now() + 5_000) - Date.now())))

  const { rows: perSource } = await client.query<{ jobs: string }>(
    `SELECT count(j.id) AS jobs FROM data_sources s
     LEFT JOIN pgboss.job j ON j.name = 'pull-source' AND j.singleton_key = s.id::text AND j.created_on < $2 AND NOT j.data ? 'deferrals'
     WHERE s.agent_id = $1 GROUP BY s.id`, [agent.id, new Date(due + 59_000)])
  const counts = perSource.map(r => Number(r.jobs))
  const duplicates = counts.reduce((n, c) => n + Math.max(0, c - 1), 0)
  const misses = counts.filter(c => c === 0).length
  const { rows: [next] } = await client.query<{ min: Date, max: Date }>(
    'SELECT min(next_pull_at), max(next_pull_at) FROM data_sources WHERE agent_id = $1', [agent.id])
  const { rows: [pulled] } = await client.query<{ n: string }>("SELECT count(*) AS n FROM syncs WHERE trigger = 'schedule'")
  const { rows: [firstJob] } = await client.query<{ first: Date | null }>("SELECT min(created_on) AS first FROM pgboss.job WHERE name = 'pull-source'")

  return {
    sources: SOURCES,
    msToLastEnqueue: lastEnqueueAt === null ? null : lastEnqueueAt - due,
    duplicates,
    misses,
    enqueuedWithin55s: seen,
    workers: WORKERS,
    firstTickAfterMs: firstJob.first ? new Date(firstJob.first).getTime() - due : null,
    nextPullAt: { min: next.min, max: next.max },
    pullsStartedMeanwhile: Number(pulled.n),
  }
}

try {
  const result = await main()
  process.stdout.write(`${JSON.stringify(result)}\n`)
  await cleanup()
  process.exit(result.msToLastEnqueue === null ? 1 : 0)
} catch (err) {
  process.stderr.write(`bench/scheduler.ts failed: ${(err as Error).stack ?? String(err)}\n`)
  await cleanup()
  process.exit(1)
}
