import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { eventually, startHttpReceiver, startMailReceiver, type HttpReceiver, type MailReceiver } from '../helpers/channels-receivers.js'

// Editing after creation (docs/decisions.md "Edit everything"): channels get PATCH and names, sources
// and sinks clear optional settings with null, and every edit leaves an audit entry with its diff.
// FERRY_PUBLIC_URL makes receiveUrl absolute and puts links into notifications.

const PUBLIC_URL = 'https://ferry.example.com/ops'
let t: TestApp
let http: HttpReceiver
let smtp: MailReceiver
let agentId: string

const api = (method: string, url: string, body?: unknown) => t.api(method, `/api/v1${url}`, { body })

beforeAll(async () => {
  ;[http, smtp] = await Promise.all([startHttpReceiver(), startMailReceiver()])
  t = await createTestApp({
    env: { FERRY_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8,::1/128', FERRY_SMTP_URL: smtp.url, FERRY_PUBLIC_URL: `${PUBLIC_URL}/` },
  })
  agentId = (await api('POST', '/agents', { name: 'editable' })).json().id
})
afterAll(async () => {
  await t?.close()
  await Promise.all([http?.close(), smtp?.close()])
})

const auditOf = async (resourceId: string) =>
  (await api('GET', `/audit-log?resourceId=${resourceId}&limit=50`)).json().items as Array<{ action: string, changes?: Record<string, any> }>

describe('channels', () => {
  it('are named, renamed and reconfigured with PATCH; the audit entry holds the diff', async () => {
    const secret = (await api('POST', '/secrets', { name: 'channel signing', type: 'webhook' })).json()
    const created = await api('POST', `/agents/${agentId}/channels`, { name: 'Ops hook', type: 'webhook', config: { url: `${http.url}/hook-a` } })
    expect(created.statusCode, created.body).toBe(201)
    expect(created.json().name).toBe('Ops hook')
    const cid = created.json().id

    const patched = await api('PATCH', `/agents/${agentId}/channels/${cid}`, {
      name: 'Ops hook (new)', config: { url: `${http.url}/hook-b`, secretRef: secret.id },
    })
    expect(patched.statusCode, patched.body).toBe(200)
    expect(patched.json()).toMatchObject({ name: 'Ops hook (new)', type: 'webhook', config: { url: `${http.url}/hook-b`, secretRef: secret.id } })

    const cleared = await api('PATCH', `/agents/${agentId}/channels/${cid}`, { config: { secretRef: null } })
    expect(cleared.statusCode, cleared.body).toBe(200)
    expect(cleared.json().config).toEqual({ url: `${http.url}/hook-b` })
    const listed = (await api('GET', `/agents/${agentId}/channels`)).json().items.find((c: { id: string }) => c.id === cid)
    expect(listed).toMatchObject({ name: 'Ops hook (new)', config: { url: `${http.url}/hook-b` } })

    const updates = (await auditOf(cid)).filter(e => e.action === 'update')
    expect(updates).toHaveLength(2)
    const first = updates.find(e => e.changes?.name)!
    expect(first.changes!.name).toEqual({ before: 'Ops hook', after: 'Ops hook (new)' })
    expect(first.changes!.config.after).toEqual({ url: `${http.url}/hook-b`, secretRef: secret.id })
  })

  it('refuses an invalid edit, naming the field, and leaves the channel as it was', async () => {
    const cid = (await api('POST', `/agents/${agentId}/channels`, { type: 'slack', config: { url: `${http.url}/slack/T1/B1/abcdefgh` } })).json().id
    const bad = await api('PATCH', `/agents/${agentId}/channels/${cid}`, { config: { url: 'ftp://nope' } })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().details.field).toBe('config.url')
    const wrongSecret = await api('PATCH', `/agents/${agentId}/channels/${cid}`, { config: { secretRef: '00000000-0000-7000-8000-000000000000' } })
    expect(wrongSecret.statusCode).toBe(400)
    expect((await api('PATCH', `/agents/${agentId}/channels/00000000-0000-7000-8000-000000000000`, { name: 'x' })).statusCode).toBe(404)
    const now = (await api('GET', `/agents/${agentId}/channels`)).json().items.find((c: { id: string }) => c.id === cid)
    expect(now.name).toBe('slack channel')
    // the Slack URL is a credential: redacted in answers and in the audit log
    const renamed = await api('PATCH', `/agents/${agentId}/channels/${cid}`, { config: { url: `${http.url}/slack/T1/B1/zyxwvuts` } })
    expect(renamed.statusCode, renamed.body).toBe(200)
    expect(renamed.body).not.toContain('zyxwvuts')
    expect(JSON.stringify(await auditOf(cid))).not.toContain('zyxwvuts')
  })

  it('notifications link to the pending items under FERRY_PUBLIC_URL (slack, webhook, e-mail)', async () => {
    const link = `${PUBLIC_URL}/#/agents/${agentId}/pending`
    const ids = [
      (await api('POST', `/agents/${agentId}/channels`, { type: 'slack', config: { url: `${http.url}/slack/T9/B9/linkcheck` } })).json().id,
      (await api('POST', `/agents/${agentId}/channels`, { type: 'webhook', config: { url: `${http.url}/hook-link` } })).json().id,
      (await api('POST', `/agents/${agentId}/channels`, { type: 'email', config: { to: ['ops@example.com'] } })).json().id,
    ]
    for (const id of ids) expect((await api('POST', `/agents/${agentId}/channels/${id}/test`)).json().ok).toBe(true)
    await eventually(() => smtp.mails.length >= 1, 'the test mail')
    expect(JSON.stringify(http.on('/slack/T9/B9/linkcheck')[0].json.blocks)).toContain(`<${link}|Open in Ferry>`)
    expect(http.on('/hook-link')[0].json.data.url).toBe(link)
    // quoted-printable: soft line breaks undone
    expect(smtp.mails[0].raw.replace(/=\r?\n/g, '')).toContain(link)
  })
})

describe('sources and sinks', () => {
  it('an inbound source answers an absolute receiveUrl', async () => {
    const res = await api('POST', `/agents/${agentId}/data-sources`, { name: 'push in', role: 'INVENTORY_SOURCE', type: 'webhook', config: {} })
    expect(res.statusCode, res.body).toBe(201)
    expect(res.json().receiveUrl).toBe(`${PUBLIC_URL}/api/v1/inbound/${res.json().id}`)
    const listed = (await api('GET', `/agents/${agentId}/data-sources`)).json().items.find((s: { id: string }) => s.id === res.json().id)
    expect(listed.receiveUrl).toBe(`${PUBLIC_URL}/api/v1/inbound/${res.json().id}`)
  })

  it('parse options and fieldMap are changed and cleared with null; the audit entry holds the diff', async () => {
    const res = await api('POST', `/agents/${agentId}/data-sources`, {
      name: 'parsed', role: 'INVENTORY_SOURCE', type: 'webhook',
      config: { format: 'csv', parse: { delimiter: ';', headerRow: 2 }, fieldMap: { sku: 'Art.Nr', quantity: 'Menge' } },
    })
    expect(res.statusCode, res.body).toBe(201)
    const sid = res.json().id
    const edit = await api('PATCH', `/agents/${agentId}/data-sources/${sid}`, {
      name: 'parsed (edited)', config: { format: null, parse: { delimiter: '\t', headerRow: null }, fieldMap: { quantity: null, name: 'Bezeichnung' } },
    })
    expect(edit.statusCode, edit.body).toBe(200)
    const config = edit.json().config
    expect(config.format).toBeUndefined()
    expect(config.parse).toEqual({ delimiter: '\t' })
    expect(config.fieldMap).toEqual({ sku: 'Art.Nr', name: 'Bezeichnung' })
    const cleared = await api('PATCH', `/agents/${agentId}/data-sources/${sid}`, { config: { parse: null, fieldMap: null } })
    expect(cleared.json().config.parse).toBeUndefined()
    expect(cleared.json().config.fieldMap).toBeUndefined()
    const updates = (await auditOf(sid)).filter(e => e.action === 'update')
    expect(updates.length).toBe(2)
    const named = updates.find(e => e.changes?.name)!
    expect(named.changes!.name).toEqual({ before: 'parsed', after: 'parsed (edited)' })
    expect(named.changes!.config.before.parse).toEqual({ delimiter: ';', headerRow: 2 })
  })

  it('every optional S3 setting is changed and cleared with null', async () => {
    const value = { accessKeyId: 'AKIAEDIT', secretAccessKey: 'edit-secret-key' }
    const aws = (await api('POST', '/secrets', { name: 'edit s3', type: 'aws', value })).json()
    const res = await api('POST', `/agents/${agentId}/data-sources`, {
      name: 's3 edit', role: 'INVENTORY_SOURCE', type: 's3', validate: false, scheduleCron: '0 5 * * *',
      config: {
        bucket: 'edit-bucket', prefix: 'in/', region: 'eu-west-1', secretRef: aws.id, endpoint: 'http://127.0.0.1:9',
        forcePathStyle: true, pattern: '*.csv', format: 'csv', parse: { encoding: 'windows-1252' }, fieldMap: { sku: 'Code' },
      },
    })
    expect(res.statusCode, res.body).toBe(201)
    const sid = res.json().id
    const changed = await api('PATCH', `/agents/${agentId}/data-sources/${sid}`, {
      validate: false,
      scheduleCron: '15 6 * * *',
      config: { bucket: 'other-bucket', prefix: 'drops/', region: 'us-east-2', pattern: '**/*.xlsx', format: 'xlsx' },
    })
    expect(changed.statusCode, changed.body).toBe(200)
    expect(changed.json()).toMatchObject({
      scheduleCron: '15 6 * * *',
      config: { bucket: 'other-bucket', prefix: 'drops/', region: 'us-east-2', pattern: '**/*.xlsx', format: 'xlsx', endpoint: 'http://127.0.0.1:9' },
    })
    const cleared = await api('PATCH', `/agents/${agentId}/data-sources/${sid}`, {
      validate: false, scheduleCron: null,
      config: { prefix: null, pattern: null, format: null, endpoint: null, forcePathStyle: null, parse: null, fieldMap: null },
    })
    expect(cleared.statusCode, cleared.body).toBe(200)
    expect(cleared.json().scheduleCron).toBeNull()
    const config = cleared.json().config
    for (const k of ['pattern', 'format', 'endpoint', 'forcePathStyle', 'parse', 'fieldMap']) expect(config[k], k).toBeUndefined()
    expect(config).toMatchObject({ bucket: 'other-bucket', region: 'us-east-2', secretRef: aws.id })
  })

  it('a sink\'s optional secrets and format are cleared with null', async () => {
    const header = (await api('POST', '/secrets', {
      name: 'sink header', type: 'http_header', value: { name: 'Authorization', value: 'Bearer abc123456' },
    })).json()
    const signing = (await api('POST', '/secrets', { name: 'sink signing', type: 'webhook' })).json()
    const res = await api('POST', `/agents/${agentId}/data-sources`, {
      name: 'sink', role: 'RESULTS_SINK', type: 'webhook', validate: false,
      config: { url: `${http.url}/sink`, secretRef: signing.id, headerSecretRef: header.id, format: 'ndjson' },
    })
    expect(res.statusCode, res.body).toBe(201)
    const edit = await api('PATCH', `/agents/${agentId}/data-sources/${res.json().id}`, {
      validate: false, config: { url: `${http.url}/sink2`, secretRef: null, headerSecretRef: null, format: null },
    })
    expect(edit.statusCode, edit.body).toBe(200)
    // a cleared format falls back to the default
    expect(edit.json().config).toEqual({ url: `${http.url}/sink2`, format: 'json' })
  })
})

describe('agents', () => {
  it('schedule, timezone, rules and mapping are edited with PATCH and audited with the diff', async () => {
    const id = (await api('POST', '/agents', { name: 'to edit', scheduleCron: '0 6 * * *' })).json().id
    const res = await api('PATCH', `/agents/${id}`, {
      scheduleCron: '30 7 * * 1-5', timezone: 'Europe/Berlin', rules: { autoMap: false },
      mapping: { fieldMap: { sku: 'Code' }, output: [{ column: 'SKU', from: 'sku' }] },
    })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toMatchObject({
      scheduleCron: '30 7 * * 1-5', timezone: 'Europe/Berlin', rules: { autoMap: false }, mapping: { fieldMap: { sku: 'Code' } },
    })
    const [entry] = (await auditOf(id)).filter(e => e.action === 'update')
    expect(entry.changes!.scheduleCron).toEqual({ before: '0 6 * * *', after: '30 7 * * 1-5' })
    expect(entry.changes!.timezone).toEqual({ before: 'UTC', after: 'Europe/Berlin' })
  })
})
