import { ContainerSASPermissions, generateBlobSASQueryParameters, StorageSharedKeyCredential } from '@azure/storage-blob'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pullSource } from '../../src/sync/pull.js'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { startAzurite, type AzuriteHandle } from '../helpers/azurite.js'
import { multipartFile } from '../helpers/multipart.js'

/**
 * The azure_blob kind end to end, against Azurite (which checks SharedKey signatures): the
 * black-box checks S3 passes — save-time ping (a wrong key refused with a diagnostic), Test,
 * pull 1 ingests, pull 2 ingests nothing, a new or changed blob once, a sink writes
 * `{prefix}/job-{jobId}.{format}` — and the key never in an answer or a log line.
 */

const WRONG_KEY = Buffer.alloc(64, 9).toString('base64')
let t: TestApp
let azurite: AzuriteHandle
let agentId: string
let secretId: string
let wrongSecretId: string

beforeAll(async () => {
  azurite = await startAzurite()
  await azurite.createContainer('inventory')
  await azurite.createContainer('results')
  t = await createTestApp({
    env: { FERRY_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8,::1/128', FERRY_TARGET_TIMEOUT_MS: '5000', FERRY_PUSH_RETRY_SCHEDULE_MS: '50,50' },
  })
  agentId = (await t.api('POST', '/api/v1/agents', { body: { name: 'azure', rules: { autoPull: false } } })).json().id
  const secret = await t.api('POST', '/api/v1/secrets', {
    body: { name: 'azurite', type: 'azure', value: { accountName: azurite.accountName, accountKey: azurite.accountKey } },
  })
  expect(secret.statusCode, secret.body).toBe(201)
  expect(secret.json().redacted.accountName).toBe(azurite.accountName)
  secretId = secret.json().id
  wrongSecretId = (await t.api('POST', '/api/v1/secrets', {
    body: { name: 'rotated', type: 'azure', value: { accountName: azurite.accountName, accountKey: WRONG_KEY } },
  })).json().id
}, 60_000)
afterAll(async () => {
  await t?.close()
  await azurite?.stop()
})

const base = () => `/api/v1/agents/${agentId}/data-sources`
const put = (name: string, body: string) => azurite.container('inventory').getBlockBlobClient(name).upload(body, Buffer.byteLength(body))
const config = (extra: Record<string, unknown> = {}) => ({ container: 'inventory', secretRef: secretId, endpoint: azurite.endpoint, ...extra })
const create = (role: 'INVENTORY_SOURCE' | 'RESULTS_SINK', cfg: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  t.api('POST', base(), { body: { name: `azure ${Math.random()}`, role, type: 'azure_blob', config: cfg, ...extra } })
const pull = (sourceId: string) => pullSource(t.runtime.deps, { sourceId, trigger: 'manual' })

async function landed (sourceId: string): Promise<Record<string, number>> {
  const { rows } = await t.database.db.query<{ file_name: string, uploads: number }>(
    'SELECT file_name, count(*) AS uploads FROM inventory_uploads WHERE source_id = $1 GROUP BY file_name', [sourceId])
  return Object.fromEntries(rows.map(r => [r.file_name, Number(r.uploads)]))
}

const until = async <T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 30_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await fn()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

describe('azure_blob sources and sinks against Azurite', () => {
  it('refuses at save time what would not work, naming the field', async () => {
    const wrongKey = await create('INVENTORY_SOURCE', config({ secretRef: wrongSecretId }))
    expect(wrongKey.statusCode, wrongKey.body).toBe(422)
    expect(wrongKey.json()).toMatchObject({ code: 'SOURCE_VALIDATION_FAILED', details: { field: 'config.secretRef', reason: 'auth_failed' } })
    expect(wrongKey.json().message).toMatch(/refused the account key of account "devstoreaccount1"/)

    const noContainer = await create('INVENTORY_SOURCE', config({ container: 'no-such-container' }))
    expect(noContainer.statusCode).toBe(422)
    expect(noContainer.json()).toMatchObject({ details: { field: 'config.container', reason: 'container_not_found' } })

    const sas = await create('INVENTORY_SOURCE', config({ endpoint: `${azurite.endpoint}?sv=2022&sig=abc` }))
    expect(sas.statusCode).toBe(422)
    expect(sas.json()).toMatchObject({ details: { field: 'config.endpoint' } })
    expect(sas.json().message).toMatch(/SAS token belongs in the secret/)

    const badName = await create('INVENTORY_SOURCE', config({ container: 'Bad--Name' }))
    expect(badName.statusCode).toBe(400)

    // unchecked, the same source is saved (and its Test says what is wrong)
    const unchecked = await create('INVENTORY_SOURCE', config({ secretRef: wrongSecretId, prefix: 'x/' }), { validate: false })
    expect(unchecked.statusCode, unchecked.body).toBe(201)
    const test = (await t.api('POST', `${base()}/${unchecked.json().id}/test`)).json()
    expect(test.ok).toBe(false)
    expect(test.checks.find((c: { ok: boolean }) => !c.ok)).toMatchObject({ name: 'credentials' })
    // and a pull of it fails with the diagnosis, taking nothing
    const sync = await pull(unchecked.json().id)
    expect(sync).toMatchObject({ status: 'failed', error: { code: 'AZURE_AUTH_FAILED' }, manifest: [] })
  })

  it('Test, then pull 1 ingests, pull 2 nothing, a new or changed blob exactly once', async () => {
    await put('daily/a.csv', 'sku,name,quantity\nA-1,Anchor,3\n')
    await put('daily/b.csv', 'sku,name,quantity\nB-1,Buoy,5\nB-2,Bell,1\n')
    await put('daily/notes.txt', 'not inventory')
    await put('elsewhere/c.csv', 'sku,quantity\nC-1,1\n')
    const res = await create('INVENTORY_SOURCE', config({ prefix: '/daily/', pattern: '*.csv' }))
    expect(res.statusCode, res.body).toBe(201)
    expect(res.json().config).toMatchObject({ prefix: 'daily/', container: 'inventory' })
    const sourceId = res.json().id as string

    const test = (await t.api('POST', `${base()}/${sourceId}/test`)).json()
    expect(test.ok, JSON.stringify(test)).toBe(true)
    expect(test.checks.map((c: { name: string }) => c.name)).toEqual(['secret', 'endpoint', 'credentials', 'container', 'prefix', 'format'])
    expect(test.checks[4].message).toBe('Prefix "daily/" lists 3 blobs, 2 matching, 2 new (not yet pulled).')
    expect(test.checks[5].message).toMatch(/recognised as CSV/)

    const first = await pull(sourceId)
    expect(first.status, JSON.stringify(first.error)).toBe('succeeded')
    expect(await landed(sourceId)).toEqual({ 'a.csv': 1, 'b.csv': 1 })
    expect((await pull(sourceId)).manifest).toEqual([])
    expect(await landed(sourceId)).toEqual({ 'a.csv': 1, 'b.csv': 1 })

    await put('daily/a.csv', 'sku,name,quantity\nA-1,Anchor,4\n')
    await put('daily/d.csv', 'sku,name,quantity\nD-1,Davit,2\n')
    const third = await pull(sourceId)
    expect(third.manifest.filter(e => e.status === 'ingested').map(e => e.key).sort()).toEqual(['daily/a.csv', 'daily/d.csv'])
    expect((await pull(sourceId)).manifest).toEqual([])
    expect(await landed(sourceId)).toEqual({ 'a.csv': 2, 'b.csv': 1, 'd.csv': 1 })
  })

  it('a sink is write-checked at save time and an auto-push writes {prefix}/job-{jobId}.{format} as a block blob', async () => {
    const res = await create('RESULTS_SINK', config({ container: 'results', prefix: 'ferry/out/', format: 'json' }))
    expect(res.statusCode, res.body).toBe(201)
    const sinkId = res.json().id as string
    expect((await t.api('POST', `${base()}/${sinkId}/test`)).json().ok).toBe(true)
    expect((await t.api('PATCH', `${base()}/${sinkId}`, { body: { autoPush: true } })).statusCode).toBe(200)

    const { payload, headers } = multipartFile('sku,name,quantity\nR-1,Rope,3\nR-2,Reel,1\n', { fileName: 'stock.csv' })
    const up = await t.app.inject({
      method: 'POST', url: `/api/v1/agents/${agentId}/inventory/uploads`, payload, headers: { ...headers, authorization: `Bearer ${t.adminKey}` },
    })
    expect(up.statusCode, up.body).toBe(201)
    const job = await until('the job', async () => {
      const [j] = (await t.api('GET', `/api/v1/agents/${agentId}/jobs?uploadId=${up.json().id}`)).json().items
      return j?.status === 'succeeded' ? j : null
    })
    const sync = await until('the push', async () => {
      const [s] = (await t.api('GET', `${base()}/${sinkId}/syncs`)).json().items
      return s && s.status !== 'running' && s.status !== 'retrying' ? s : null
    })
    expect(sync.status).toBe('succeeded')
    const key = `ferry/out/job-${job.id}.json`
    const full = (await t.api('GET', `${base()}/${sinkId}/syncs/${sync.id}`)).json()
    expect(full.manifest[0]).toMatchObject({ key })
    const names: string[] = []
    for await (const blob of azurite.container('results').listBlobsFlat()) names.push(blob.name)
    // jobs of the pulled files may land here too: every blob is a job's, none half-written or left from the write check
    expect(names).toContain(key)
    for (const name of names) expect(name).toMatch(/^ferry\/out\/job-[\w-]+\.json$/)
    const body = JSON.parse((await azurite.container('results').getBlobClient(key).downloadToBuffer()).toString())
    expect(JSON.stringify(body)).toContain('R-2')
  })

  it('a SAS token: read and list make a source, but a sink needs write permission (checked at save time)', async () => {
    const sasToken = generateBlobSASQueryParameters({
      containerName: 'results', permissions: ContainerSASPermissions.parse('rl'), expiresOn: new Date(Date.now() + 3_600_000),
    }, new StorageSharedKeyCredential(azurite.accountName, azurite.accountKey)).toString()
    const secret = await t.api('POST', '/api/v1/secrets', {
      body: { name: 'read-only sas', type: 'azure', value: { accountName: azurite.accountName, sasToken } },
    })
    expect(secret.statusCode, secret.body).toBe(201)
    expect(secret.json().redacted).toMatchObject({ sasPermissions: 'rl', sasExpiry: expect.any(String) })
    const cfg = config({ container: 'results', prefix: 'sas/', secretRef: secret.json().id })
    expect((await create('INVENTORY_SOURCE', cfg)).statusCode).toBe(201)
    const sink = await create('RESULTS_SINK', cfg)
    expect(sink.statusCode, sink.body).toBe(422)
    expect(sink.json()).toMatchObject({ details: { field: 'config.secretRef', reason: 'permission_denied' } })
    expect(sink.json().message).toMatch(/Write \(w\) and Create \(c\)/)
    const body = JSON.stringify([secret.json(), sink.json()]) + t.logs.join('\n')
    expect(body).not.toContain(sasToken)
    expect(body).not.toContain(new URLSearchParams(sasToken).get('sig')!)
  })

  it('a rotated key is tried on the sources that use it before it is stored', async () => {
    const res = await t.api('PATCH', `/api/v1/secrets/${secretId}`, { body: { value: { accountName: azurite.accountName, accountKey: WRONG_KEY } } })
    expect(res.statusCode, res.body).toBe(422)
    expect(res.json().code).toBe('SOURCE_VALIDATION_FAILED')
  })

  it('never shows or logs the account key', async () => {
    const list = await t.api('GET', '/api/v1/secrets')
    const sources = await t.api('GET', base())
    for (const text of [list.body, sources.body, t.logs.join('\n')]) {
      expect(text).not.toContain(azurite.accountKey)
      expect(text).not.toContain(WRONG_KEY)
    }
  })
})
