import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.js'
import { openDb } from '../../src/db/open.js'
import type { Db } from '../../src/db/client.js'
import { createLogger } from '../../src/log.js'
import { startRuntime, type Runtime } from '../../src/runtime.js'
import { ADMIN_KEY } from '../helpers/app.js'
import { backend, createTestDatabase, type TestDatabase } from '../helpers/db.js'

/**
 * The canary: secret values that must never appear outside the vault's ciphertext. They are
 * driven through create, read, list, rename, value rotation, validation failures, conflicts,
 * another organisation's ids, a use with the wrong type, a use that throws, and a decryption
 * failure; then every log line, every response body, every pg-boss job row, every table of the
 * database and (PGlite) every byte of the database files is searched for them.
 *
 * PostgreSQL keeps its files on the server, out of reach of a test; there the check is every
 * column of every table as text (including the bytea ciphertext in its hex form).
 */
const tag = randomBytes(6).toString('hex')
const CANARY = {
  awsSecretKey: `CanarySAK${tag}wJalrXUtnFEMIK7MDENG`,
  awsAccessKeyId: `AKIACANARY${tag.toUpperCase()}`,
  awsSessionToken: `CanarySessionToken${tag}FwoGZXIvYXdz`,
  awsRotated: `CanaryRotated${tag}bPxRfiCYEXAMPLEKEY`,
  headerValue: `Bearer CanaryBearer${tag}tok`,
  // the key bytes embed the tag, so the base64 is unique to this run
  webhook: 'whsec_' + Buffer.concat([Buffer.from(`canary${tag}`), randomBytes(6)]).toString('base64'),
}
/** each canary, and the forms it could be re-encoded into on its way somewhere */
const NEEDLES = Object.values(CANARY).flatMap(v => [v, v.replace(/^(Bearer |whsec_)/, '')])
const LOG_MARKER = `LOG_MARKER_${tag}`

let dataDir: string
let database: TestDatabase | undefined
let db: Db
let runtime: Runtime
const logs: string[] = []
const bodies: string[] = []

async function api (method: string, url: string, options: { key?: string, body?: unknown, raw?: string } = {}) {
  const res = await runtime.app!.inject({
    method: method as 'GET',
    url,
    headers: { authorization: `Bearer ${options.key ?? ADMIN_KEY}`, ...(options.raw !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(options.raw !== undefined ? { payload: options.raw } : options.body !== undefined ? { payload: options.body as object } : {}),
  })
  bodies.push(res.body)
  return res
}

function findCanary (text: string): string | undefined {
  return NEEDLES.find(n => text.includes(n))
}

beforeAll(async () => {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-canary-'))
  if (backend() === 'pglite') {
    // a file-backed embedded database, so its files can be searched afterwards
    db = await openDb({ dataDir })
  } else {
    database = await createTestDatabase()
    db = database.db
  }
  const config = loadConfig({ FERRY_DATA_DIR: dataDir, FERRY_BOOTSTRAP_API_KEY: ADMIN_KEY, LOG_LEVEL: 'debug' })
  const logger = createLogger({ level: 'trace', destination: new Writable({ write (chunk, _e, cb) { logs.push(chunk.toString()); cb() } }) })
  runtime = await startRuntime(config, { role: 'all', logger, db: { ...db, close: async () => {} }, print: () => {} })
})
afterAll(async () => {
  await runtime?.stop().catch(() => {})
  await (database ? database.drop() : db?.close())
  await fs.rm(dataDir, { recursive: true, force: true })
})

describe('canary secrets', () => {
  it('are driven through every path', async () => {
    const otherKey = (await api('POST', '/api/v1/admin/orgs', { body: { name: 'other' } })).json().apiKey as string

    // create, one of each type
    const aws = await api('POST', '/api/v1/secrets', {
      body: {
        name: 'canary-aws', type: 'aws',
        value: { accessKeyId: CANARY.awsAccessKeyId, secretAccessKey: CANARY.awsSecretKey, sessionToken: CANARY.awsSessionToken },
      },
    })
    expect(aws.statusCode).toBe(201)
    const hook = await api('POST', '/api/v1/secrets', { body: { name: 'canary-hook', type: 'webhook', value: { signingSecret: CANARY.webhook } } })
    expect(hook.statusCode).toBe(201)
    const header = await api('POST', '/api/v1/secrets', {
      body: { name: 'canary-header', type: 'http_header', value: { name: 'Authorization', value: CANARY.headerValue } },
    })
    expect(header.statusCode).toBe(201)
    const awsId = aws.json().id as string
    const hookId = hook.json().id as string

    // read and list
    expect((await api('GET', `/api/v1/secrets/${awsId}`)).statusCode).toBe(200)
    expect((await api('GET', '/api/v1/secrets')).statusCode).toBe(200)

    // update: rename, new value
    expect((await api('PATCH', `/api/v1/secrets/${awsId}`, { body: { name: 'canary-aws-2' } })).statusCode).toBe(200)
    const rotated = await api('PATCH', `/api/v1/secrets/${awsId}`, {
      body: { value: { accessKeyId: CANARY.awsAccessKeyId, secretAccessKey: CANARY.awsRotated } },
    })
    expect(rotated.statusCode).toBe(200)

    // error paths, each carrying a canary
    const refused: Array<[string, string, { body?: unknown, raw?: string, key?: string }, number]> = [
      ['POST', '/api/v1/secrets', {
        body: { name: 'bad', type: 'aws', value: { accessKeyId: CANARY.awsAccessKeyId, secretAccessKey: CANARY.awsSecretKey + ' ' } },
      }, 400],
      ['POST', '/api/v1/secrets', { body: { name: 'bad', type: 'aws', value: { accessKeyId: CANARY.awsAccessKeyId } } }, 400],
      ['POST', '/api/v1/secrets', {
        body: {
          name: 'bad', type: 'aws',
          value: { accessKeyId: CANARY.awsAccessKeyId, secretAccessKey: CANARY.awsSecretKey, [CANARY.awsRotated]: CANARY.awsSecretKey },
        },
      }, 400],
      ['POST', '/api/v1/secrets', { body: { name: 'bad', type: 'webhook', value: { signingSecret: CANARY.webhook.slice(6) } } }, 400],
      ['POST', '/api/v1/secrets', { body: { name: 'bad', type: 'webhook', value: { signingSecret: CANARY.webhook + '!' } } }, 400],
      ['POST', '/api/v1/secrets', {
        body: { name: 'bad', type: 'http_header', value: { name: 'Authorization', value: CANARY.headerValue + '\r\nX: y' } },
      }, 400],
      ['POST', '/api/v1/secrets', { body: { name: 'bad', type: 'http_header', value: { name: CANARY.headerValue, value: CANARY.headerValue } } }, 400],
      ['POST', '/api/v1/secrets', { body: { name: 'bad', type: 'ftp', value: { secretAccessKey: CANARY.awsSecretKey } } }, 400],
      ['POST', '/api/v1/secrets', {
        body: { name: 'bad', type: 'aws', value: { accessKeyId: CANARY.awsAccessKeyId, secretAccessKey: CANARY.awsSecretKey.repeat(400) } },
      }, 400],
      ['POST', '/api/v1/secrets', { raw: `{"name":"bad","type":"aws","value":{"secretAccessKey":"${CANARY.awsSecretKey}",}` }, 400],
      ['POST', '/api/v1/secrets', { body: { name: 'canary-hook', type: 'webhook', value: { signingSecret: CANARY.webhook } } }, 409],
      ['PATCH', `/api/v1/secrets/${awsId}`, { body: { value: { signingSecret: CANARY.webhook } } }, 400],
      ['PATCH', `/api/v1/secrets/${awsId}`, {
        body: { value: { accessKeyId: CANARY.awsAccessKeyId, secretAccessKey: CANARY.awsSecretKey }, extra: CANARY.awsSecretKey },
      }, 400],
      ['PATCH', `/api/v1/secrets/${awsId}`, {
        key: otherKey, body: { value: { accessKeyId: CANARY.awsAccessKeyId, secretAccessKey: CANARY.awsSecretKey } },
      }, 404],
      ['PATCH', `/api/v1/secrets/${awsId}`, {
        key: 'fy_not_a_key', body: { value: { accessKeyId: CANARY.awsAccessKeyId, secretAccessKey: CANARY.awsSecretKey } },
      }, 401],
      ['GET', `/api/v1/secrets?cursor=${CANARY.awsSecretKey}`, {}, 400],
    ]
    for (const [method, url, options, status] of refused) {
      const res = await api(method, url, options)
      expect(res.statusCode, `${method} ${url} ${JSON.stringify(options).slice(0, 60)}`).toBe(status)
    }

    const { vault } = runtime.deps
    const orgId = (await db.query<{ org_id: string }>('SELECT org_id FROM secrets WHERE id = $1', [awsId])).rows[0].org_id

    // a use with the wrong type, logged the way a worker would
    const wrongType = await vault.withSecret(db, orgId, hookId, 'aws', async s => s.reveal()).catch((e: Error) => e)
    runtime.deps.logger.error({ err: wrongType }, 'pull failed')

    // a use that fails inside, with an SDK-style error quoting the credentials
    const failing = await vault.withSecret(db, orgId, awsId, 'aws', async (s) => {
      const v = s.reveal()
      throw Object.assign(new Error(`InvalidAccessKeyId: ${v.accessKeyId} with ${v.secretAccessKey}`), {
        cause: new Error(`signature over ${v.secretAccessKey}`),
      })
    }).catch((e: Error) => e)
    runtime.deps.logger.error({ err: failing, secret: await vault.resolve(db, orgId, awsId, 'aws') }, 'pull failed')
    runtime.deps.logger.info({ value: await vault.resolve(db, orgId, hookId, 'webhook'), marker: LOG_MARKER }, 'resolved a secret')

    // a decryption failure (a tampered copy)
    await db.query('UPDATE secrets SET tag = set_byte(tag, 0, get_byte(tag, 0) # 1) WHERE id = $1', [hookId])
    const broken = await vault.withSecret(db, orgId, hookId, 'webhook', async s => s.reveal()).catch((e: Error) => e)
    expect(broken).toMatchObject({ code: 'SECRET_DECRYPT_FAILED' })
    runtime.deps.logger.error({ err: broken }, 'push failed')

    // a job goes through pg-boss with the secret's id, the way connectors are meant to use it
    await runtime.deps.boss.createQueue('canary-test').catch(() => {})
    await runtime.deps.boss.send('canary-test', { secretId: awsId })

    // delete
    expect((await api('DELETE', `/api/v1/secrets/${awsId}`)).statusCode).toBe(204)
  })

  it('appear in no log line (the log is not empty: positive control)', () => {
    expect(logs.length).toBeGreaterThan(20)
    expect(logs.some(l => l.includes(LOG_MARKER))).toBe(true)
    expect(logs.some(l => l.includes('"secret":"[REDACTED]"'))).toBe(true)
    const leaks = logs.filter(l => findCanary(l) !== undefined)
    expect(leaks).toEqual([])
  })

  it('appear in no response body', () => {
    expect(bodies.length).toBeGreaterThan(20)
    expect(bodies.filter(b => findCanary(b) !== undefined)).toEqual([])
  })

  it('appear in no pg-boss job row, and in no column of any table (bytea in hex too)', async () => {
    const jobs = await db.query<{ row: string }>('SELECT j::text AS row FROM pgboss.job j')
    expect(jobs.rows.length).toBeGreaterThan(0)
    expect(jobs.rows.filter(r => findCanary(r.row) !== undefined)).toEqual([])

    const hexNeedles = NEEDLES.map(n => Buffer.from(n).toString('hex'))
    const { rows: tables } = await db.query<{ schema: string, name: string }>(
      `SELECT table_schema AS schema, table_name AS name FROM information_schema.tables
       WHERE table_schema IN ('public', 'pgboss') AND table_type = 'BASE TABLE'`)
    expect(tables.map(t => t.name)).toContain('secrets')
    let scanned = 0
    for (const t of tables) {
      const { rows } = await db.query<{ row: string }>(`SELECT x::text AS row FROM "${t.schema}"."${t.name}" x`)
      for (const r of rows) {
        scanned++
        expect(findCanary(r.row), `${t.schema}.${t.name}`).toBeUndefined()
        expect(hexNeedles.find(h => r.row.includes(h)), `${t.schema}.${t.name} (hex)`).toBeUndefined()
      }
    }
    expect(scanned).toBeGreaterThan(5)
  })

  it.runIf(backend() === 'pglite')('appear nowhere in the embedded database files (a plain marker does: positive control)', async () => {
    const marker = `PLAIN_MARKER_${tag}`
    await db.query('INSERT INTO organisations (id, name) VALUES ($1, $2)', ['00000000-0000-7000-8000-00000000c0de', marker])
    await db.exec('CHECKPOINT')
    await runtime.stop()
    await db.close()
    const files: string[] = []
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
        const p = path.join(dir, entry.name)
        if (entry.isDirectory()) await walk(p)
        else if (entry.isFile()) files.push(p)
      }
    }
    await walk(dataDir)
    expect(files.length).toBeGreaterThan(100)
    const needles = NEEDLES.map(n => Buffer.from(n))
    let markerSeen = false
    for (const file of files) {
      const bytes = await fs.readFile(file)
      if (bytes.includes(Buffer.from(marker))) markerSeen = true
      for (const n of needles) expect(bytes.includes(n), `${n.toString()} in ${file}`).toBe(false)
    }
    expect(markerSeen).toBe(true)
  })
})
