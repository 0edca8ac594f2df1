import { PutObjectCommand } from '@aws-sdk/client-s3'
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { claimMaintenance } from '../../src/db/sql/retention.js'
import { purgeExpired, runDailyPurge } from '../../src/retention/purge.js'
import type { TestApp } from '../helpers/app.js'
import { multipartFile } from '../helpers/multipart.js'
import type { S3rverHandle } from '../helpers/s3.js'
import { startS3World, type S3World } from '../helpers/s3-world.js'
import { until } from '../helpers/until.js'

// FERRY_RETENTION_DAYS (docs/reliability.md "Retention"): rows past the window are purged in batches,
// recent rows and the file ledger are kept, and a purged file is never ingested again. The clock is
// injected by ageing rows with SQL (and by passing `now`).

let world: S3World
let t: TestApp
let s3: S3rverHandle
let agentId: string
let secretId: string
const BUCKET = 'retention'
const OLD = "interval '100 days'"

const sql = async <T = Record<string, unknown>>(text: string, params: unknown[] = []) =>
  (await t.database.db.query<T>(text, params)).rows
const count = async (text: string, params: unknown[] = []) => Number((await sql<{ n: string }>(text, params))[0].n)

const base = () => `/api/v1/agents/${agentId}/data-sources`
const jobOf = (uploadId: string) => until('the mapping job', async () => {
  const [job] = (await t.api('GET', `/api/v1/agents/${agentId}/jobs?uploadId=${uploadId}`)).json().items
  return job && (job.status === 'succeeded' || job.status === 'failed') ? job as { id: string, status: string } : null
})
const pull = async (sourceId: string) => {
  const res = await t.api('POST', `${base()}/${sourceId}/pull?wait=true`)
  expect(res.statusCode, res.body).toBe(200)
  return res.json() as { id: string, filesCount: number, manifest: Array<{ key: string, status: string, uploadId?: string }> }
}

beforeAll(async () => {
  world = await startS3World({ bucket: BUCKET, name: 'retention', env: { FERRY_TARGET_TIMEOUT_MS: '5000' } })
  ;({ t, store: s3, agentId, secretId } = world)
})
afterAll(async () => { await world?.close() })

describe('retention', () => {
  it('purges old syncs, uploads, items, rejected rows, jobs, deliveries and audit entries; keeps recent rows and the ledger', async () => {
    const put = (key: string, body: string) => s3.client().send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }))
    const source = (await t.api('POST', base(), {
      body: {
        name: 'drops', role: 'INVENTORY_SOURCE', type: 's3',
        config: { bucket: BUCKET, prefix: 'in/', region: 'us-east-1', secretRef: secretId, endpoint: s3.endpoint, forcePathStyle: true },
      },
    })).json() as { id: string }
    const sink = (await t.api('POST', base(), {
      body: {
        name: 'out', role: 'RESULTS_SINK', type: 's3',
        config: { bucket: BUCKET, prefix: 'out/', region: 'us-east-1', secretRef: secretId, endpoint: s3.endpoint, forcePathStyle: true },
      },
    })).json() as { id: string }
    expect(sink.id).toBeTruthy()

    // old: a pull of a file with 7 rows (one rejected), its mapping job, and a push of that job
    await put('in/old.csv', 'sku,quantity\nA1,1\nA2,2\nA3,3\n,4\nA5,5\nA6,6\nA7,7\n')
    const oldSync = await pull(source.id)
    const oldUpload = oldSync.manifest[0].uploadId!
    const oldJob = await jobOf(oldUpload)
    expect(oldJob.status).toBe('succeeded')
    const pushed = await t.api('POST', `${base()}/${sink.id}/push`, { body: { jobId: oldJob.id } })
    expect(pushed.statusCode, pushed.body).toBeLessThan(300)
    const pushSync = await until('the push', async () => {
      const [s] = (await t.api('GET', `${base()}/${sink.id}/syncs`)).json().items
      return s && s.status !== 'running' ? s as { id: string, status: string } : null
    })
    expect(pushSync.status).toBe('succeeded')
    // an old upload whose mapping job is recent (started by hand today) stays, with its job
    const { payload, headers } = multipartFile('sku,quantity\nK1,1\n', { fileName: 'kept.csv' })
    const kept = (await t.app.inject({
      method: 'POST', url: `/api/v1/agents/${agentId}/inventory/uploads`, payload, headers: { ...headers, authorization: `Bearer ${t.adminKey}` },
    })).json() as { id: string }
    const keptJob = await jobOf(kept.id)

    // age everything so far by 100 days, except the job of the kept upload
    await sql(`UPDATE syncs SET started_at = started_at - ${OLD}, finished_at = finished_at - ${OLD}`)
    await sql(`UPDATE inventory_uploads SET created_at = created_at - ${OLD}`)
    await sql(`UPDATE mapping_jobs SET created_at = created_at - ${OLD} WHERE id <> $1`, [keptJob.id])
    await sql(`UPDATE push_deliveries SET created_at = created_at - ${OLD}, finished_at = finished_at - ${OLD}`)
    await sql(`UPDATE audit_log SET at = at - ${OLD}`)
    const oldAudit = await count('SELECT count(*) AS n FROM audit_log')
    expect(oldAudit).toBeGreaterThan(0)
    // webhook-ids: past their 7-day replay window and within it; notifications: old and recent
    await sql(`INSERT INTO inbound_deliveries (source_id, webhook_id, received_at) VALUES
      ($1, 'msg_old', now() - interval '8 days'), ($1, 'msg_recent', now() - interval '1 day')`, [source.id])
    const [org] = await sql<{ org_id: string }>('SELECT org_id FROM agents WHERE id = $1', [agentId])
    const channelId = randomUUID()
    const itemId = randomUUID()
    await sql(`INSERT INTO channels (id, org_id, agent_id, name, type, config) VALUES ($1, $2, $3, 'hook', 'webhook', '{}')`, [channelId, org.org_id, agentId])
    await sql(`INSERT INTO pending_items (id, org_id, agent_id, source_id, type, status, message)
      VALUES ($1, $2, $3, $4, 'DATA_SOURCE_PULL_FAILED', 'open', 'x')`, [itemId, org.org_id, agentId, source.id])
    await sql(`INSERT INTO channel_deliveries (id, org_id, channel_id, item_id, event, status, created_at) VALUES
      ($1, $3, $4, $5, 'opened', 'delivered', now() - ${OLD}), ($2, $3, $4, $5, 'resolved', 'delivered', now())`,
    [randomUUID(), randomUUID(), org.org_id, channelId, itemId])

    // recent: a second file, pulled today
    await put('in/new.csv', 'sku,quantity\nB1,1\nB2,2\n')
    const newSync = await pull(source.id)
    const newUpload = newSync.manifest.find(e => e.key === 'in/new.csv')!.uploadId!
    const newJob = await jobOf(newUpload)
    const [oldSeq] = await sql<{ seq: string }>('SELECT seq FROM inventory_uploads WHERE id = $1', [oldUpload])
    expect(await count('SELECT count(*) AS n FROM inventory_items WHERE upload_seq = $1', [oldSeq.seq])).toBe(6)
    expect(await count('SELECT count(*) AS n FROM inventory_rejected_rows WHERE upload_id = $1', [oldUpload])).toBe(1)
    expect(await count('SELECT count(*) AS n FROM job_results WHERE job_id = $1', [oldJob.id])).toBe(6)

    // batches of 2 rows: every table is purged over several statements
    const counts = await purgeExpired(t.database.db, { retentionDays: 90, batch: 2 })
    expect(counts).toMatchObject({
      syncs: 2, uploads: 1, items: 6, mappingJobs: 1, jobResults: 6, auditEntries: oldAudit, notificationDeliveries: 1, inboundWebhookIds: 1,
    })

    // gone: the old syncs (pull and push), the old upload with its items, rejected rows, job, results and delivery
    expect(await count('SELECT count(*) AS n FROM syncs WHERE id = ANY($1)', [[oldSync.id, pushSync.id]])).toBe(0)
    expect((await t.api('GET', `/api/v1/agents/${agentId}/inventory/uploads/${oldUpload}`)).statusCode).toBe(404)
    expect(await count('SELECT count(*) AS n FROM inventory_items WHERE upload_seq = $1', [oldSeq.seq])).toBe(0)
    expect(await count('SELECT count(*) AS n FROM inventory_rejected_rows WHERE upload_id = $1', [oldUpload])).toBe(0)
    expect(await count('SELECT count(*) AS n FROM mapping_jobs WHERE id = $1', [oldJob.id])).toBe(0)
    expect(await count('SELECT count(*) AS n FROM job_results WHERE job_id = $1', [oldJob.id])).toBe(0)
    expect(await count('SELECT count(*) AS n FROM push_deliveries')).toBe(0)
    expect(await count(`SELECT count(*) AS n FROM audit_log WHERE at < now() - interval '90 days'`)).toBe(0)
    expect((await sql<{ webhook_id: string }>('SELECT webhook_id FROM inbound_deliveries')).map(r => r.webhook_id)).toEqual(['msg_recent'])
    expect((await sql<{ event: string }>('SELECT event FROM channel_deliveries')).map(r => r.event)).toEqual(['resolved'])

    // kept: today's sync, upload, items and job; the old upload a recent job still needs; newer audit entries
    const history = (await t.api('GET', `${base()}/${source.id}/syncs`)).json().items as Array<{ id: string }>
    expect(history.map(s => s.id)).toEqual([newSync.id])
    expect((await t.api('GET', `/api/v1/agents/${agentId}/inventory/uploads/${newUpload}/items`)).json().items).toHaveLength(2)
    expect((await t.api('GET', `/api/v1/agents/${agentId}/jobs/${newJob.id}`)).statusCode).toBe(200)
    expect((await t.api('GET', `/api/v1/agents/${agentId}/inventory/uploads/${kept.id}`)).statusCode).toBe(200)
    expect((await t.api('GET', `/api/v1/agents/${agentId}/jobs/${keptJob.id}`)).statusCode).toBe(200)
    expect(await count('SELECT count(*) AS n FROM audit_log')).toBeGreaterThan(0)

    // the ledger keeps the purged file, so pulling again ingests nothing twice
    expect((await sql<{ key: string }>('SELECT key FROM source_files WHERE source_id = $1 ORDER BY key', [source.id])).map(r => r.key))
      .toEqual(['in/new.csv', 'in/old.csv'])
    const again = await pull(source.id)
    expect(again.manifest.filter(e => e.status === 'ingested')).toEqual([])
    expect(await count('SELECT count(*) AS n FROM inventory_uploads WHERE source_id = $1', [source.id])).toBe(1)

    // nothing is left past the window: a second run deletes nothing
    expect(Object.values(await purgeExpired(t.database.db, { retentionDays: 90 })).every(n => n === 0)).toBe(true)
  })

  it('runs the daily purge in one process a day', async () => {
    const deps = { db: t.database.db, logger: t.runtime.deps.logger, config: { ...t.config, retentionDays: 90 }, signal: new AbortController().signal }
    const claims = await Promise.all([0, 1, 2].map(() => claimMaintenance(t.database.db, 'retention-race', 86_400)))
    expect(claims.filter(Boolean)).toHaveLength(1)

    const first = await runDailyPurge(deps)
    expect(first).not.toBe(false)
    expect(await runDailyPurge(deps)).toBe(false)
    expect(t.logs.some(l => /"msg":"retention purge finished"/.test(l))).toBe(true)
    // a day later it is due again
    await sql("UPDATE maintenance_runs SET started_at = started_at - interval '1 day' WHERE task = 'retention'")
    expect(await runDailyPurge(deps)).not.toBe(false)
  })

  it('keeps everything younger than the window when the clock says so', async () => {
    // the injected clock: 100 days from now with a window of 200 days, nothing is old enough
    const now = new Date(Date.now() + 100 * 86_400_000)
    const syncs = await count('SELECT count(*) AS n FROM syncs')
    expect(syncs).toBeGreaterThan(0)
    expect((await purgeExpired(t.database.db, { retentionDays: 200, now })).syncs).toBe(0)
    expect(await count('SELECT count(*) AS n FROM syncs')).toBe(syncs)
    // and 100 days from now with the default window, today's syncs are past it
    expect((await purgeExpired(t.database.db, { retentionDays: 90, now })).syncs).toBe(syncs)
  })
})
