import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { STAGING_LEASE_SECONDS, purgeAbandonedUploads } from '../../src/retention/staged.js'
import { pullSource } from '../../src/sync/pull.js'
import type { Sync } from '../../src/db/sql/syncs.js'
import { backend } from '../helpers/db.js'
import { multipartFile } from '../helpers/multipart.js'
import { startSftpWorld, type SftpWorld } from '../helpers/sftp-world.js'
import { generateKeyPair, sshdUnavailable } from '../helpers/sshd.js'

/**
 * The `sftp` kind end to end against Debian's OpenSSH server, through the API on both database
 * backends: the black-box checks S3 passes (test/integration/sources.test.ts, push-s3.test.ts):
 * save-time ping with diagnostics, Test, exactly-once pulls, a sink's `job-{jobId}.{format}`,
 * secrets never shown, and a connection dropped mid-pull.
 */

const ROOT = path.resolve(import.meta.dirname, '../..')
const MASTER_KEY = Buffer.alloc(32, 7).toString('base64') // the key createTestApp uses
const unavailable = sshdUnavailable()
const inCi = process.env.CI === 'true'
if (unavailable !== null && !inCi) console.warn(`[sftp-kind.test] SKIPPED: ${unavailable}`)

let w: SftpWorld
const csv = (prefix: string, rows: number) =>
  'sku,name,quantity\n' + Array.from({ length: rows }, (_, i) => `${prefix}-${i + 1},item ${i + 1},${i}\n`).join('')

const base = () => `/api/v1/agents/${w.agentId}/data-sources`
const create = (body: Record<string, unknown>) => w.t.api('POST', base(), { body })
const pull = async (sourceId: string) => {
  const res = await w.t.api('POST', `${base()}/${sourceId}/pull?wait=true`)
  expect(res.statusCode, res.body).toBe(200)
  return res.json() as { status: string, filesCount: number, rowsAccepted: number, manifest: Array<{ key: string, status: string, reason?: string }> }
}
const statusOf = (sync: { manifest: Array<{ key: string, status: string }> }) => Object.fromEntries(sync.manifest.map(e => [e.key, e.status]))

/** uploads and item rows per file name of a source: a file ingested twice would show 2 uploads */
async function ledgerKeys (sourceId: string): Promise<string[]> {
  const { rows } = await w.t.database.db.query<{ key: string }>('SELECT key FROM source_files WHERE source_id = $1 ORDER BY key', [sourceId])
  return rows.map(r => r.key)
}

async function landed (sourceId: string): Promise<Record<string, { uploads: number, rows: number }>> {
  const { rows } = await w.t.database.db.query<{ file_name: string, uploads: number, rows: number }>(
    `SELECT u.file_name, count(DISTINCT u.id) AS uploads, count(i.upload_seq) AS rows
     FROM inventory_uploads u LEFT JOIN inventory_items i ON i.upload_seq = u.seq
     WHERE u.source_id = $1 GROUP BY u.file_name`, [sourceId])
  return Object.fromEntries(rows.map(r => [r.file_name, { uploads: Number(r.uploads), rows: Number(r.rows) }]))
}

const until = async <T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 30_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await fn()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

describe.runIf(unavailable !== null && inCi)('SFTP kind against OpenSSH', () => {
  it('needs Debian\'s openssh-server in CI', () => {
    throw new Error(unavailable!)
  })
})

describe.skipIf(unavailable !== null)('SFTP sources and sinks against OpenSSH', () => {
  beforeAll(async () => {
    w = await startSftpWorld({
      name: 'sftp',
      env: { FERRY_TARGET_TIMEOUT_MS: '5000', FERRY_PUSH_RETRY_SCHEDULE_MS: '50,50', FERRY_PULL_FILE_CONCURRENCY: '1' },
    })
  })
  afterAll(async () => { await w?.close() })

  it('validates at save time: a wrong password, host key or path is refused saying what to fix; the host key error names the presented one', async () => {
    await w.sshd.write('check/a.csv', csv('C', 1))
    const wrongPassword = (await w.t.api('POST', '/api/v1/secrets', {
      body: { name: 'wrong password', type: 'sftp', value: { username: w.sshd.username, password: 'not-the-password' } },
    })).json().id
    const refused = await create({ name: 'x', role: 'INVENTORY_SOURCE', type: 'sftp', config: w.config('check', { secretRef: wrongPassword }) })
    expect(refused.statusCode).toBe(422)
    expect(refused.json()).toMatchObject({ code: 'SOURCE_VALIDATION_FAILED', details: { field: 'config.secretRef', reason: 'auth_failed' } })
    expect(refused.body).not.toContain('not-the-password')

    const otherKey = generateKeyPair('ed25519').fingerprint
    const wrongKey = await create({ name: 'x', role: 'INVENTORY_SOURCE', type: 'sftp', config: w.config('check', { hostKey: otherKey }) })
    expect(wrongKey.statusCode).toBe(422)
    expect(wrongKey.json()).toMatchObject({
      code: 'SOURCE_VALIDATION_FAILED',
      details: { field: 'config.hostKey', reason: 'host_key_mismatch', errorCode: 'SFTP_HOST_KEY_MISMATCH', presentedFingerprint: w.sshd.hostKeyFingerprint },
    })
    expect(wrongKey.json().message).toContain(w.sshd.hostKeyFingerprint)
    expect(wrongKey.json().message).toContain(otherKey)

    // no key yet: the answer is the fingerprint to confirm with the server's administrator
    for (const hostKey of ['', 'MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48']) {
      const missing = await create({ name: 'x', role: 'INVENTORY_SOURCE', type: 'sftp', config: w.config('check', { hostKey }) })
      expect(missing.statusCode, hostKey).toBe(422)
      expect(missing.json().details).toMatchObject({ field: 'config.hostKey', reason: 'host_key_missing', presentedFingerprint: w.sshd.hostKeyFingerprint })
      expect(missing.json().message).toContain(`set hostKey to "${w.sshd.hostKeyFingerprint}"`)
    }
    const absent = await create({ name: 'x', role: 'INVENTORY_SOURCE', type: 'sftp', config: { ...w.config('check'), hostKey: undefined } })
    expect(absent.statusCode).toBe(400)
    expect(absent.json().details.field).toBe('config.hostKey')

    const noPath = await create({ name: 'x', role: 'INVENTORY_SOURCE', type: 'sftp', config: w.config('no-such-dir') })
    expect(noPath.statusCode).toBe(422)
    expect(noPath.json().details).toMatchObject({ field: 'config.path', reason: 'path_not_found' })

    // the host key with its padding is stored in ssh-keygen's form; the port defaults to 22
    const padded = await create({
      name: 'padded', role: 'INVENTORY_SOURCE', type: 'sftp', config: w.config('check', { hostKey: ` ${w.sshd.hostKeyFingerprint}= ` }),
    })
    expect(padded.statusCode, padded.body).toBe(201)
    expect(padded.json().config).toMatchObject({ hostKey: w.sshd.hostKeyFingerprint, path: w.dir('check') })
    const skipped = await create({
      name: 'later', role: 'INVENTORY_SOURCE', type: 'sftp', config: { ...w.config('check', { hostKey: '' }), port: undefined }, validate: false,
    })
    expect(skipped.statusCode, skipped.body).toBe(201)
    expect(skipped.json()).toMatchObject({ validationSkipped: true, config: { port: 22 } })
  })

  it('Tests step by step, pulls exactly once (first all, second nothing, a new or changed file once), with a private key', async () => {
    await w.sshd.write('daily/a.csv', 'sku,quantity\nA1,1\nA2,2\n', new Date('2026-01-01T00:00:00Z'))
    await w.sshd.write('daily/sub/b.ndjson', '{"sku":"B1","quantity":3}\n')
    await w.sshd.write('daily/notes.pdf', '%PDF-1.4 fake', new Date('2025-01-01T00:00:00Z'))
    await w.sshd.write('other/c.csv', 'sku\nC1\n')

    const secret = (await w.t.api('GET', `/api/v1/secrets/${w.keySecretId}`)).json()
    expect(secret.redacted).toEqual({ username: w.sshd.username, privateKey: `ssh-ed25519 ${w.key.fingerprint}` })

    const created = await create({
      name: 'daily drops', role: 'INVENTORY_SOURCE', type: 'sftp', config: w.config('daily', { pattern: '**/*', secretRef: w.keySecretId }),
    })
    expect(created.statusCode, created.body).toBe(201)
    const source = created.json()
    expect(source).toMatchObject({ validationSkipped: false, redactedSecrets: { secretRef: { type: 'sftp' } } })

    const test = (await w.t.api('POST', `${base()}/${source.id}/test`)).json()
    expect(test.ok, JSON.stringify(test)).toBe(true)
    expect(test.checks.map((c: { name: string }) => c.name)).toEqual(['secret', 'address', 'host key', 'credentials', 'path', 'prefix', 'format'])
    expect(test.checks[2].message).toContain(w.sshd.hostKeyFingerprint)
    expect(test.checks[5].message).toMatch(/lists 3 files, 3 matching, 3 new/)

    const first = await pull(source.id)
    expect(first).toMatchObject({ status: 'succeeded', filesCount: 2, rowsAccepted: 3 })
    expect(statusOf(first)).toEqual({
      [`${w.dir('daily')}/a.csv`]: 'ingested', [`${w.dir('daily')}/sub/b.ndjson`]: 'ingested', [`${w.dir('daily')}/notes.pdf`]: 'skipped',
    })
    expect(await pull(source.id)).toMatchObject({ status: 'succeeded', filesCount: 0, manifest: [] })

    // a changed file (new size:mtime) and a new one are taken once; an untouched one is not
    await w.sshd.write('daily/a.csv', 'sku,quantity\nA1,10\n')
    await w.sshd.write('daily/sub/new.csv', 'sku\nN1\n')
    const third = await pull(source.id)
    expect(statusOf(third)).toEqual({ [`${w.dir('daily')}/a.csv`]: 'ingested', [`${w.dir('daily')}/sub/new.csv`]: 'ingested' })
    expect(third).toMatchObject({ status: 'succeeded', filesCount: 2, rowsAccepted: 2 })
    expect(await pull(source.id)).toMatchObject({ manifest: [] })
    expect(await landed(source.id)).toEqual({ 'a.csv': { uploads: 2, rows: 3 }, 'b.ndjson': { uploads: 1, rows: 1 }, 'new.csv': { uploads: 1, rows: 1 } })

    // a broken pin fails the Test at the host key step, with the presented key
    await w.t.database.db.query(`UPDATE data_sources SET config = jsonb_set(config, '{hostKey}', to_jsonb($2::text)) WHERE id = $1`,
      [source.id, generateKeyPair('ed25519').fingerprint])
    const broken = (await w.t.api('POST', `${base()}/${source.id}/test`)).json()
    expect(broken.ok).toBe(false)
    expect(broken.checks.at(-1)).toMatchObject({ name: 'host key', ok: false })
    expect(broken.checks.at(-1).message).toContain(w.sshd.hostKeyFingerprint)
    const failed = await pull(source.id)
    expect(failed.status).toBe('failed')
  })

  it('a sink writes {path}/job-{jobId}.{format} after a mapping job (auto-push), never leaving a .partial', async () => {
    await w.sshd.write('out/README', 'results land here\n')
    const refusedAuto = await create({ name: 'eager', role: 'RESULTS_SINK', type: 'sftp', config: w.config('out'), autoPush: true })
    expect(refusedAuto.statusCode).toBe(409)
    const sinkRes = await create({ name: 'results', role: 'RESULTS_SINK', type: 'sftp', config: w.config('out', { format: 'ndjson' }) })
    expect(sinkRes.statusCode, sinkRes.body).toBe(201)
    const sink = sinkRes.json()
    const test = (await w.t.api('POST', `${base()}/${sink.id}/test`)).json()
    expect(test.ok, JSON.stringify(test)).toBe(true)
    expect(test.checks.at(-1).message).toContain(`${w.dir('out')}/job-<jobId>.ndjson`)
    expect((await w.t.api('PATCH', `${base()}/${sink.id}`, { body: { autoPush: true } })).statusCode).toBe(200)

    const { payload, headers } = multipartFile('sku,name,quantity\nR-1,Widget,3\nR-2,Gadget,5\n', { fileName: 'stock.csv' })
    const up = await w.t.app.inject({
      method: 'POST', url: `/api/v1/agents/${w.agentId}/inventory/uploads`, payload, headers: { ...headers, authorization: `Bearer ${w.t.adminKey}` },
    })
    expect(up.statusCode, up.body).toBe(201)
    const job = await until('the job', async () => {
      const [j] = (await w.t.api('GET', `/api/v1/agents/${w.agentId}/jobs?uploadId=${up.json().id}`)).json().items
      return j && (j.status === 'succeeded' || j.status === 'failed') ? j : null
    })
    expect(job.status).toBe('succeeded')
    const [summary] = await until('the push', async () => {
      const items = (await w.t.api('GET', `${base()}/${sink.id}/syncs`)).json().items as Array<{ id: string, status: string }>
      return items.length > 0 && items.every(s => s.status !== 'running' && s.status !== 'retrying') ? items : null
    })
    const sync = (await w.t.api('GET', `${base()}/${sink.id}/syncs/${summary.id}`)).json()
    const key = `${w.dir('out')}/job-${job.id}.ndjson`
    expect(sync).toMatchObject({ direction: 'outbound', trigger: 'job_complete', status: 'succeeded', filesCount: 1, rowsAccepted: 2 })
    expect(sync.manifest[0]).toMatchObject({ key, status: 'delivered', format: 'ndjson', jobId: job.id })
    const written = await fs.readFile(key, 'utf8')
    expect(written.trim().split('\n').map(l => JSON.parse(l).sku)).toEqual(['R-1', 'R-2'])
    expect(sync.manifest[0].size).toBe(Buffer.byteLength(written))
    expect((await fs.readdir(w.dir('out'))).sort()).toEqual(['README', `job-${job.id}.ndjson`])

    // a second (manual) push of the job replaces the file: still one file
    const again = await w.t.api('POST', `${base()}/${sink.id}/push?wait=true`, { body: { jobId: job.id } })
    expect(again.json(), again.body).toMatchObject({ status: 'succeeded', trigger: 'manual' })
    expect((await fs.readdir(w.dir('out'))).sort()).toEqual(['README', `job-${job.id}.ndjson`])
  })

  it('never shows or logs a password or private key', async () => {
    const listed = await w.t.api('GET', '/api/v1/secrets')
    const sources = await w.t.api('GET', base())
    const keyLines = w.key.privateKey.split('\n').filter(l => l.length > 20 && !l.startsWith('-----'))
    for (const text of [listed.body, sources.body, w.t.logs.join('\n')]) {
      expect(text).not.toContain(w.sshd.password)
      for (const line of keyLines) expect(text).not.toContain(line)
    }
    expect(listed.json().items.find((s: { id: string }) => s.id === w.secretId).redacted)
      .toMatchObject({ username: w.sshd.username, password: expect.stringMatching(/^mt_byo_\*{4}/) })
  })

  it('tries a new password on every source using the secret before storing it', async () => {
    const wrong = await w.t.api('PATCH', `/api/v1/secrets/${w.secretId}`, { body: { value: { username: w.sshd.username, password: 'a-wrong-new-password' } } })
    expect(wrong.statusCode).toBe(422)
    expect(wrong.json()).toMatchObject({ code: 'SOURCE_VALIDATION_FAILED', details: { field: 'value', reason: 'auth_failed' } })
    expect(wrong.body).not.toContain('a-wrong-new-password')
    const same = await w.t.api('PATCH', `/api/v1/secrets/${w.secretId}`, { body: { value: { username: w.sshd.username, password: w.sshd.password } } })
    expect(same.statusCode, same.body).toBe(200)
  })

  it('a connection dropped in the middle of a pull: every file lands exactly once over the next pulls', async () => {
    await w.sshd.write('drop/1-first.csv', csv('D1', 3))
    await w.sshd.write('drop/2-big.csv', csv('D2', 60_000))
    await w.sshd.write('drop/3-last.csv', csv('D3', 2))
    const sourceId = await w.newSource('drop')
    const running = pullSource(w.t.runtime.deps, { sourceId, trigger: 'manual' })
    // files are taken in key order one at a time (FERRY_PULL_FILE_CONCURRENCY=1): once the first
    // is in the ledger, the big one is being read
    await until('the first file', async () => {
      const { rows } = await w.t.database.db.query<{ n: number }>('SELECT count(*) AS n FROM source_files WHERE source_id = $1', [sourceId])
      return Number(rows[0].n) >= 1
    }, 60_000)
    w.sshd.dropSessions()
    const first: Sync = await running
    expect(['partial', 'failed', 'succeeded']).toContain(first.status)
    const dropped = first.manifest.find(e => e.key.endsWith('2-big.csv'))
    // the drop struck mid-file (or, on a fast machine, just after it): never a half-ingested file
    if (dropped?.status === 'failed') expect(dropped.reason).toBeTruthy()

    const second: Sync = await pullSource(w.t.runtime.deps, { sourceId, trigger: 'manual' })
    expect(second.status).toBe('succeeded')
    expect(await landed(sourceId)).toEqual({
      '1-first.csv': { uploads: 1, rows: 3 }, '2-big.csv': { uploads: 1, rows: 60_000 }, '3-last.csv': { uploads: 1, rows: 2 },
    })
    expect((await pullSource(w.t.runtime.deps, { sourceId, trigger: 'manual' })).manifest).toEqual([])
  })

  // a second process cannot share PGlite's database (test/integration/pull-faults.test.ts): PostgreSQL only
  it.skipIf(backend() === 'pglite')('a worker killed in the middle of an SFTP file leaves nothing of it; the next pull takes it once', async () => {
    await w.sshd.write('kill/1-first.csv', csv('K1', 3))
    await w.sshd.write('kill/2-big.csv', csv('K2', 60_000))
    const sourceId = await w.newSource('kill')
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-pull-child-'))
    w.cleanup(() => fs.rm(dataDir, { recursive: true, force: true }))
    const url = new URL(w.t.database.url!)
    url.searchParams.set('application_name', 'ferry-pull-child')
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/helpers/pull-child.ts'), sourceId], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        DATABASE_URL: url.toString(),
        FERRY_DATA_DIR: dataDir,
        FERRY_MASTER_KEY: MASTER_KEY,
        FERRY_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8,::1/128',
        FERRY_PULL_LEASE_SECONDS: '2', // the dead worker's lease runs out quickly
        FERRY_PULL_FILE_CONCURRENCY: '1', // files in key order: 1-first.csv lands, then 2-big.csv is read
        FERRY_TARGET_TIMEOUT_MS: '600000', // the frozen server must not time out: the child is killed first
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (d) => { output += d })
    child.stderr.on('data', (d) => { output += d })
    const exited = new Promise<NodeJS.Signals | number | null>(resolve => child.on('exit', (code, signal) => resolve(signal ?? code)))
    w.cleanup(async () => { child.kill('SIGKILL') })
    await Promise.race([
      until('the first file in the ledger', async () => (await ledgerKeys(sourceId)).length >= 1, 60_000),
      exited.then(() => { throw new Error(`pull child exited early:\n${output}`) }),
    ])
    // the server stops answering: the child is held in the middle of the big file
    const thaw = w.sshd.freezeSessions()
    try {
      expect(await ledgerKeys(sourceId)).toEqual([`${w.dir('kill')}/1-first.csv`])
      child.kill('SIGKILL')
      expect(await exited).toBe('SIGKILL')
    } finally {
      thaw()
    }
    expect(await ledgerKeys(sourceId)).toEqual([`${w.dir('kill')}/1-first.csv`])
    // what it had staged of the big file (never visible) is swept once its staging lease has lapsed
    await purgeAbandonedUploads(w.t.database.db, { asOf: new Date(Date.now() + (STAGING_LEASE_SECONDS + 60) * 1000) })
    expect(await landed(sourceId)).toEqual({ '1-first.csv': { uploads: 1, rows: 3 } })

    const next = await pullSource(w.t.runtime.deps, { sourceId, trigger: 'manual', leaseWaitMs: 30_000 })
    expect(next.status).toBe('succeeded')
    expect(statusOf(next)).toEqual({ [`${w.dir('kill')}/2-big.csv`]: 'ingested' })
    expect(await landed(sourceId)).toEqual({ '1-first.csv': { uploads: 1, rows: 3 }, '2-big.csv': { uploads: 1, rows: 60_000 } })
    expect((await pullSource(w.t.runtime.deps, { sourceId, trigger: 'manual' })).manifest).toEqual([])
  })
})
