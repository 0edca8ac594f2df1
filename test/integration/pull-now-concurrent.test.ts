import { PutObjectCommand } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TestApp } from '../helpers/app.js'
import type { S3rverHandle } from '../helpers/s3.js'
import { startS3World, type S3World } from '../helpers/s3-world.js'

// issue #14 case 9: concurrent "Pull now" of one source run one pull and record one sync
let world: S3World
let t: TestApp
let s3: S3rverHandle
let agentId: string
let secretId: string
const BUCKET = 'pull-now'

beforeAll(async () => {
  world = await startS3World({ bucket: BUCKET, name: 'acme', env: { FERRY_TARGET_TIMEOUT_MS: '5000' } })
  ;({ t, store: s3, agentId, secretId } = world)
})
afterAll(async () => { await world?.close() })

describe('Pull now, many at once', () => {
  it('answers every request with the one running sync and records nothing else', async () => {
    const source = (await t.api('POST', `/api/v1/agents/${agentId}/data-sources`, {
      body: {
        name: 'busy', role: 'INVENTORY_SOURCE', type: 's3',
        config: { bucket: BUCKET, prefix: 'in/', region: 'us-east-1', secretRef: secretId, endpoint: s3.endpoint, forcePathStyle: true },
      },
    })).json()
    await s3.client().send(new PutObjectCommand({ Bucket: BUCKET, Key: 'in/a.csv', Body: 'sku\nA1\nA2\n' }))

    const answers = await Promise.all(Array.from({ length: 20 }, () =>
      t.api('POST', `/api/v1/agents/${agentId}/data-sources/${source.id}/pull`)))
    for (const res of answers) expect(res.statusCode, res.body).toBe(202)
    const ids = new Set(answers.map(res => res.json().syncId))
    expect(ids.size).toBe(1)
    const [syncId] = [...ids]
    // one request started it; the others joined it
    expect(answers.filter(res => res.json().joined === true)).toHaveLength(19)

    await expect.poll(async () => (await t.api('GET', `/api/v1/agents/${agentId}/data-sources/${source.id}/syncs/${syncId}`)).json().status,
      { timeout: 30_000 }).toBe('succeeded')
    const history = (await t.api('GET', `/api/v1/agents/${agentId}/data-sources/${source.id}/syncs?limit=50`)).json()
    expect(history.items.map((s: { id: string, status: string }) => [s.id, s.status])).toEqual([[syncId, 'succeeded']])
  })

  it('joins a pull that is already running (202 with its id) instead of refusing it', async () => {
    const source = (await t.api('POST', `/api/v1/agents/${agentId}/data-sources`, {
      body: {
        name: 'leased', role: 'INVENTORY_SOURCE', type: 's3',
        config: { bucket: BUCKET, prefix: 'leased/', region: 'us-east-1', secretRef: secretId, endpoint: s3.endpoint, forcePathStyle: true },
      },
    })).json()
    // a pull holding the lease (another worker), with its running sync
    const runningId = '01a22500-0000-7000-8000-0000000000aa'
    await t.database.db.query(`UPDATE data_sources SET lease_token = $2, lease_expires_at = now() + interval '1 minute' WHERE id = $1`, [source.id, runningId])
    await t.database.db.query(`INSERT INTO syncs (id, org_id, source_id, direction, trigger, status) SELECT $1, org_id, id, 'inbound', 'schedule', 'running'
      FROM data_sources WHERE id = $2`, [runningId, source.id])
    const res = await t.api('POST', `/api/v1/agents/${agentId}/data-sources/${source.id}/pull`)
    expect(res.statusCode, res.body).toBe(202)
    expect(res.json()).toEqual({ syncId: runningId, joined: true })
    const history = (await t.api('GET', `/api/v1/agents/${agentId}/data-sources/${source.id}/syncs?limit=50`)).json()
    expect(history.items.map((s: { id: string }) => s.id)).toEqual([runningId])
    await t.database.db.query(`UPDATE data_sources SET lease_token = NULL, lease_expires_at = NULL WHERE id = $1`, [source.id])
    await t.database.db.query(`UPDATE syncs SET status = 'failed' WHERE id = $1`, [runningId])
  })
})
