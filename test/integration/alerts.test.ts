import { DeleteBucketCommand } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runSchedulerTick } from '../../src/scheduler/scheduler.js'
import { afterPull, afterPullError } from '../../src/pending-items/pull-failures.js'
import type { Sync } from '../../src/db/sql/syncs.js'
import { AppError } from '../../src/errors.js'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { eventually, startHttpReceiver, startMailReceiver, type HttpReceiver, type MailReceiver } from '../helpers/channels-receivers.js'
import { startS3rver, type S3rverHandle } from '../helpers/s3.js'

/**
 * The failure path of docs/scaling.md ("Failures of scheduled pulls"), end to end on the real runtime: scheduled pulls of a source
 * whose bucket is missing → one DATA_SOURCE_PULL_FAILED item, channels (a Slack stand-in, a signed
 * webhook, e-mail over smtp-server) notified once; repeats counted, not announced; the bucket
 * appears → the next scheduled pull resolves the item and the resolution is announced once.
 * The scheduler loop is off (FERRY_SCHEDULER_INTERVAL_MS=0): the test runs its ticks.
 */

const SIGNING_SECRET = `whsec_${Buffer.from('alerts-test-signing-secret-0123456789').toString('base64')}`
const BUCKET = 'late-bucket'

let t: TestApp
let s3: S3rverHandle
let http: HttpReceiver
let smtp: MailReceiver
let agentId: string
let awsSecretId: string
let hookSecretId: string

const api = (method: string, url: string, body?: unknown, key?: string) => t.api(method, `/api/v1${url}`, { body, key })

beforeAll(async () => {
  ;[s3, http, smtp] = await Promise.all([startS3rver(), startHttpReceiver({ signingSecret: SIGNING_SECRET }), startMailReceiver()])
  t = await createTestApp({
    env: {
      FERRY_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8,::1/128',
      FERRY_TARGET_TIMEOUT_MS: '5000',
      FERRY_SMTP_URL: `${smtp.url}?from=alerts@ferry.test`,
      FERRY_SCHEDULER_INTERVAL_MS: '0',
    },
  })
  agentId = (await api('POST', '/agents', { name: 'acme', scheduleCron: '0 6 * * *', timezone: 'Europe/Berlin' })).json().id
  const awsSecret = await api('POST', '/secrets', { name: 's3rver', type: 'aws', value: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } })
  awsSecretId = awsSecret.json().id
  const hook = await api('POST', '/secrets', { name: 'hook', type: 'webhook', value: { signingSecret: SIGNING_SECRET } })
  expect(hook.statusCode, hook.body).toBe(201)
  hookSecretId = hook.json().id
})
afterAll(async () => {
  await t?.close()
  await Promise.all([s3?.close(), http?.close(), smtp?.close()])
})

const s3Source = (name: string, agent = agentId) => api('POST', `/agents/${agent}/data-sources`, {
  name, role: 'INVENTORY_SOURCE', type: 's3', validate: false,
  config: { bucket: BUCKET, prefix: `${name}/`, region: 'us-east-1', secretRef: awsSecretId, endpoint: s3.endpoint, forcePathStyle: true },
})

/** Makes the sources due now and runs one scheduler tick; waits until each has a finished scheduled sync more. */
async function scheduledPull (sourceIds: string[]): Promise<void> {
  const before = await countScheduleSyncs(sourceIds)
  await t.database.db.query(`UPDATE data_sources SET next_pull_at = now() - interval '1 minute' WHERE id = ANY($1::uuid[])`, [sourceIds])
  const tick = await runSchedulerTick(t.runtime.deps)
  expect(tick.claimed).toBe(sourceIds.length)
  await eventually(async () => {
    const { rows } = await t.database.db.query<{ n: number }>(
      `SELECT count(*) AS n FROM syncs WHERE source_id = ANY($1::uuid[]) AND trigger = 'schedule' AND status <> 'running'`, [sourceIds])
    return rows[0].n === before + sourceIds.length
  }, 'the scheduled pulls to finish')
  // the job's follow-up (filing or resolving) runs right after the sync is finished: let it land
  await eventually(async () => {
    const { rows } = await t.database.db.query<{ n: number }>(
      `SELECT count(*) AS n FROM pgboss.job WHERE name = 'pull-source' AND state IN ('created', 'active', 'retry')`)
    return rows[0].n === 0
  }, 'the pull jobs to complete')
}

async function countScheduleSyncs (sourceIds: string[]): Promise<number> {
  const { rows } = await t.database.db.query<{ n: number }>(
    `SELECT count(*) AS n FROM syncs WHERE source_id = ANY($1::uuid[]) AND trigger = 'schedule' AND status <> 'running'`, [sourceIds])
  return rows[0].n
}

const deliveries = async (itemId: string) =>
  (await t.database.db.query<{ channel_id: string, event: string, status: string, attempts: number, last_error: string | null }>(
    'SELECT channel_id, event, status, attempts, last_error FROM channel_deliveries WHERE item_id = $1 ORDER BY created_at, id', [itemId])).rows

const items = async (query = '', agent = agentId) => {
  const res = await api('GET', `/agents/${agent}/pending-items${query}`)
  expect(res.statusCode, res.body).toBe(200)
  return res.json().items as Array<Record<string, any>>
}

describe('scheduled pull failures: pending items and channels', () => {
  let slackId: string
  let hookId: string
  let emailId: string
  let sourceId: string

  it('creates channels, validating each at save time', async () => {
    const slack = await api('POST', `/agents/${agentId}/channels`, { type: 'slack', config: { url: `${http.url}/slack/T000/B000/XXXXsecretpart` } })
    expect(slack.statusCode, slack.body).toBe(201)
    // a Slack URL is a credential: it never comes back whole
    expect(slack.json().config.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mt_byo_\*\*\*\*part$/)
    expect(slack.body).not.toContain('XXXXsecretpart')
    slackId = slack.json().id

    const hook = await api('POST', `/agents/${agentId}/channels`, { type: 'webhook', config: { url: `${http.url}/hook`, secretRef: hookSecretId } })
    expect(hook.statusCode, hook.body).toBe(201)
    expect(hook.json()).toMatchObject({
      type: 'webhook', config: { url: `${http.url}/hook`, secretRef: hookSecretId }, redactedSecrets: { secretRef: { type: 'webhook' } },
    })
    expect(hook.body).not.toContain(SIGNING_SECRET)
    hookId = hook.json().id

    const email = await api('POST', `/agents/${agentId}/channels`, { type: 'email', config: { to: ['Ops@Example.com', 'ops@example.com'] } })
    expect(email.statusCode, email.body).toBe(201)
    expect(email.json().config.to).toEqual(['ops@example.com'])
    emailId = email.json().id

    const list = await api('GET', `/agents/${agentId}/channels`)
    expect(list.json().items.map((c: { id: string }) => c.id)).toEqual([slackId, hookId, emailId])
  })

  it('refuses bad channel configs with the field named', async () => {
    const cases: Array<[unknown, number, string]> = [
      [{ type: 'slack', config: { webhookUrl: `${http.url}/slack` } }, 400, 'config.webhookUrl'],
      [{ type: 'slack', config: { url: 'ftp://example.com/x' } }, 400, 'config.url'],
      [{ type: 'webhook', config: { url: 'http://169.254.169.254/latest/meta-data' } }, 422, 'config.url'],
      [{ type: 'webhook', config: { url: 'http://[::ffff:169.254.169.254]/' } }, 422, 'config.url'],
      [{ type: 'webhook', config: { url: 'http://user:pw@example.com/' } }, 422, 'config.url'],
      [{ type: 'webhook', config: { url: `${http.url}/hook`, secretRef: awsSecretId } }, 400, 'config.secretRef'],
      [{ type: 'webhook', config: { url: `${http.url}/hook`, secretRef: '00000000-0000-4000-8000-000000000000' } }, 400, 'config.secretRef'],
      [{ type: 'email', config: { to: [] } }, 400, 'config.to'],
      [{ type: 'email', config: { to: ['not an address'] } }, 400, 'config.to.0'],
    ]
    for (const [body, status, field] of cases) {
      const res = await api('POST', `/agents/${agentId}/channels`, body)
      expect(res.statusCode, JSON.stringify(body)).toBe(status)
      expect(res.json().details.field, JSON.stringify(body)).toBe(field)
    }
    const unknownType = await api('POST', `/agents/${agentId}/channels`, { type: 'pager', config: {} })
    expect(unknownType.statusCode).toBe(400)
  })

  it('a failing scheduled pull opens one item and notifies every channel once', async () => {
    const created = await s3Source('daily')
    expect(created.statusCode, created.body).toBe(201)
    sourceId = created.json().id

    await scheduledPull([sourceId])
    const source = (await api('GET', `/agents/${agentId}/data-sources/${sourceId}`)).json()
    // the next run moved past now, to the next 06:00 in Berlin
    expect(Date.parse(source.nextPullAt)).toBeGreaterThan(Date.now())
    const berlinTime = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit' })
    expect(berlinTime.format(new Date(source.nextPullAt))).toBe('06:00')
    const syncs = (await api('GET', `/agents/${agentId}/data-sources/${sourceId}/syncs`)).json().items
    expect(syncs[0]).toMatchObject({ trigger: 'schedule', status: 'failed', error: { code: 'S3_CONFIG' } })

    const open = await items('?status=open')
    expect(open).toHaveLength(1)
    expect(open[0]).toMatchObject({ sourceId, agentId, type: 'DATA_SOURCE_PULL_FAILED', status: 'open', occurrences: 1, resolvedAt: null, resolution: null })
    expect(open[0].message).toContain('"daily"')
    expect(open[0].message).toContain(BUCKET)
    expect(open[0].message).toMatch(/Test/)

    await eventually(
      () => http.on('/slack/T000/B000/XXXXsecretpart').length === 1 && http.on('/hook').length === 1 && smtp.mails.length === 1,
      'the three notifications')
    const slackMsg = http.on('/slack/T000/B000/XXXXsecretpart')[0]
    expect(slackMsg.headers['content-type']).toBe('application/json')
    expect(slackMsg.json.text).toContain('daily')
    expect(slackMsg.json.text).toContain('failing')
    expect(slackMsg.json.blocks[0]).toMatchObject({ type: 'section', text: { type: 'mrkdwn' } })

    const hookMsg = http.on('/hook')[0]
    expect(hookMsg.signatureValid).toBe(true)
    expect(hookMsg.json).toMatchObject({
      type: 'pending_item.opened',
      data: { agent: { id: agentId, name: 'acme' }, source: { id: sourceId, name: 'daily' }, item: { id: open[0].id, status: 'open', occurrences: 1 } },
    })
    expect(hookMsg.headers['webhook-id']).toBeTruthy()

    const mail = smtp.mails[0]
    expect(mail.to).toEqual(['ops@example.com'])
    expect(mail.from).toBe('alerts@ferry.test')
    expect(mail.subject).toContain('Pull failing: daily')

    await eventually(async () => (await deliveries(open[0].id)).every(d => d.status === 'delivered'), 'deliveries recorded as delivered')
    const recorded = await deliveries(open[0].id)
    expect(recorded.map(d => [d.channel_id, d.event, d.attempts]).sort())
      .toEqual([[slackId, 'opened', 1], [hookId, 'opened', 1], [emailId, 'opened', 1]].sort())
    const viaApi = (await api('GET', `/agents/${agentId}/channels/${hookId}/deliveries`)).json().items
    expect(viaApi).toEqual([expect.objectContaining({ itemId: open[0].id, event: 'opened', status: 'delivered', attempts: 1, lastStatus: 200 })])
  })

  it('repeats are counted on the same item and announced to nobody', async () => {
    const first = (await items('?status=open'))[0]
    await scheduledPull([sourceId])
    await scheduledPull([sourceId])
    const open = await items('?status=open')
    expect(open).toHaveLength(1)
    expect(open[0]).toMatchObject({ id: first.id, occurrences: 3, firstSeenAt: first.firstSeenAt })
    expect(Date.parse(open[0].lastSeenAt)).toBeGreaterThan(Date.parse(first.lastSeenAt))
    // no delivery was even queued for the repeats (they are recorded with the item, in its transaction)
    expect(await deliveries(first.id)).toHaveLength(3)
    expect(http.requests).toHaveLength(2)
    expect(smtp.mails).toHaveLength(1)
  })

  it('the bucket appears: the next scheduled pull resolves the item and announces it once', async () => {
    const itemId = (await items('?status=open'))[0].id
    await s3.createBucket(BUCKET)
    await scheduledPull([sourceId])
    const [item] = await items()
    expect(item).toMatchObject({ id: itemId, status: 'resolved', resolution: 'auto', occurrences: 3 })
    expect(item.resolvedAt).toBeTruthy()
    expect(await items('?status=open')).toEqual([])

    await eventually(() => http.requests.length === 4 && smtp.mails.length === 2, 'the resolution notifications')
    const resolvedHook = http.on('/hook')[1]
    expect(resolvedHook.signatureValid).toBe(true)
    expect(resolvedHook.json).toMatchObject({ type: 'pending_item.resolved', data: { item: { id: itemId, status: 'resolved', resolution: 'auto' } } })
    expect(resolvedHook.headers['webhook-id']).not.toBe(http.on('/hook')[0].headers['webhook-id'])
    expect(http.on('/slack/T000/B000/XXXXsecretpart')[1].json.text).toMatch(/resolved/)
    expect(smtp.mails[1].subject).toContain('Resolved: daily')

    // a further success changes nothing and announces nothing
    await scheduledPull([sourceId])
    expect(await deliveries(itemId)).toHaveLength(6)
    expect((await items()).filter(i => i.status === 'open')).toEqual([])
  })

  it('a new failure opens a new item; resolving it by hand is announced; resolving again changes nothing', async () => {
    await s3.client().send(new DeleteBucketCommand({ Bucket: BUCKET }))
    await scheduledPull([sourceId])
    const open = await items('?status=open')
    expect(open).toHaveLength(1)
    expect(open[0].occurrences).toBe(1)
    const all = await items()
    expect(all[0].id).toBe(open[0].id) // open first
    expect(all).toHaveLength(2)
    await eventually(() => http.requests.length === 6, 'the opened notifications')

    const resolved = await api('POST', `/agents/${agentId}/pending-items/${open[0].id}/resolve`)
    expect(resolved.statusCode, resolved.body).toBe(200)
    expect(resolved.json()).toMatchObject({ id: open[0].id, status: 'resolved', resolution: 'manual' })
    await eventually(() => http.requests.length === 8 && smtp.mails.length === 4, 'the manual resolution notifications')
    expect(http.on('/hook').at(-1)!.json).toMatchObject({ type: 'pending_item.resolved', data: { item: { resolution: 'manual' } } })

    const again = await api('POST', `/agents/${agentId}/pending-items/${open[0].id}/resolve`)
    expect(again.statusCode).toBe(200)
    expect(again.json()).toMatchObject({ status: 'resolved', resolution: 'manual', resolvedAt: resolved.json().resolvedAt })
    expect(await deliveries(open[0].id)).toHaveLength(6)
    expect((await items('?status=resolved')).every(i => i.status === 'resolved')).toBe(true)
    await s3.createBucket(BUCKET)
  })

  it('on-demand pulls never file items; the caller sees the error', async () => {
    const other = (await api('POST', `/agents/${agentId}/data-sources`, {
      name: 'manual only', role: 'INVENTORY_SOURCE', type: 's3', validate: false,
      config: { bucket: 'never-there', region: 'us-east-1', secretRef: awsSecretId, endpoint: s3.endpoint, forcePathStyle: true },
    })).json()
    const pull = await api('POST', `/agents/${agentId}/data-sources/${other.id}/pull?wait=true`)
    expect(pull.statusCode).toBe(200)
    expect(pull.json()).toMatchObject({ status: 'failed', trigger: 'manual', error: { code: 'S3_CONFIG' } })
    expect((await items()).filter(i => i.sourceId === other.id)).toEqual([])
    await api('DELETE', `/agents/${agentId}/data-sources/${other.id}`)
  })

  it('the rule set decides: no item when pendingItem is off; only the chosen channels hear of it', async () => {
    const quiet = (await api('POST', '/agents', { name: 'quiet', rules: { onPullFailure: { pendingItem: false } } })).json()
    const quietSource = (await api('POST', `/agents/${quiet.id}/data-sources`, {
      name: 'quiet source', role: 'INVENTORY_SOURCE', type: 's3', validate: false,
      config: { bucket: 'missing-quiet', region: 'us-east-1', secretRef: awsSecretId, endpoint: s3.endpoint, forcePathStyle: true },
    })).json()
    await api('POST', `/agents/${quiet.id}/channels`, { type: 'slack', config: { url: `${http.url}/quiet` } })
    await scheduledPull([quietSource.id])
    expect(await items('', quiet.id)).toEqual([])

    const picky = (await api('POST', '/agents', { name: 'picky' })).json()
    const chosen = (await api('POST', `/agents/${picky.id}/channels`, { type: 'slack', config: { url: `${http.url}/chosen` } })).json()
    await api('POST', `/agents/${picky.id}/channels`, { type: 'slack', config: { url: `${http.url}/not-chosen` } })
    // a failing channel next to it: recorded and retried, never in the way of the chosen one
    const broken = (await api('POST', `/agents/${picky.id}/channels`, { type: 'webhook', config: { url: `${http.url}/broken` } })).json()
    http.respond('/broken', 500, 'internal stack trace with a secret-ish token')
    const patched = await api('PATCH', `/agents/${picky.id}`, { rules: { onPullFailure: { notify: [chosen.id, broken.id] } } })
    expect(patched.statusCode, patched.body).toBe(200)
    const pickySource = (await api('POST', `/agents/${picky.id}/data-sources`, {
      name: 'picky source', role: 'INVENTORY_SOURCE', type: 's3', validate: false,
      config: { bucket: 'missing-picky', region: 'us-east-1', secretRef: awsSecretId, endpoint: s3.endpoint, forcePathStyle: true },
    })).json()
    await scheduledPull([pickySource.id])
    const [item] = await items('', picky.id)
    expect(item).toMatchObject({ status: 'open', sourceId: pickySource.id })
    await eventually(() => http.on('/chosen').length === 1, 'the chosen channel')
    await eventually(async () => (await deliveries(item.id)).find(d => d.channel_id === broken.id && d.attempts >= 1), 'the broken channel\'s first attempt')
    const broke = (await deliveries(item.id)).find(d => d.channel_id === broken.id)!
    expect(broke).toMatchObject({ status: 'queued', event: 'opened' })
    expect(broke.last_error).toContain('HTTP 500')
    expect(broke.last_error).not.toContain('stack trace')
    expect(http.on('/not-chosen')).toHaveLength(0)
    expect(http.on('/quiet')).toHaveLength(0)
    expect((await deliveries(item.id)).map(d => d.channel_id).sort()).toEqual([chosen.id, broken.id].sort())
  })

  it('a transient failure is retried first and filed on the last attempt; failures that are not the source\'s fault file nothing', async () => {
    const agent = (await api('POST', '/agents', { name: 'retries' })).json()
    const source = (await s3Source('retried', agent.id)).json()
    const deps = t.runtime.deps
    const failed = (code: string, message: string) =>
      ({ id: '0', sourceId: source.id, trigger: 'schedule', status: 'failed', error: { code, message }, manifest: [] }) as unknown as Sync
    const throttled = failed('S3_ERROR', 'The S3 endpoint is throttling requests (SlowDown). This is temporary; the request will be retried with back-off.')
    expect(await afterPull(deps, { sourceId: source.id, trigger: 'schedule', sync: throttled, lastAttempt: false })).toBe('retry')
    expect(await items('', agent.id)).toEqual([])
    expect(await afterPull(deps, { sourceId: source.id, trigger: 'schedule', sync: throttled, lastAttempt: true })).toBe('done')
    const [item] = await items('', agent.id)
    expect(item).toMatchObject({ status: 'open', occurrences: 1 })
    expect(item.message).toContain('SlowDown')
    expect(item.message).toMatch(/retried/)
    // a config failure is filed at once, even with retries left
    const configFailure = failed('S3_CONFIG', 'Bucket late-bucket does not exist.')
    expect(await afterPull(deps, { sourceId: source.id, trigger: 'schedule', sync: configFailure, lastAttempt: false })).toBe('done')
    expect((await items('', agent.id))[0]).toMatchObject({ id: item.id, occurrences: 2 })
    // thrown errors: a secret of the wrong type is the source's problem; another pull holding it is not
    await afterPullError(deps, {
      sourceId: source.id, trigger: 'schedule', error: new AppError('SECRET_TYPE_MISMATCH', 'The secret has the wrong type.'), lastAttempt: false,
    })
    expect((await items('', agent.id))[0].occurrences).toBe(3)
    await afterPullError(deps, { sourceId: source.id, trigger: 'schedule', error: new AppError('PULL_IN_PROGRESS'), lastAttempt: true })
    await afterPullError(deps, { sourceId: source.id, trigger: 'schedule', error: new AppError('INTERNAL'), lastAttempt: true })
    await afterPullError(deps, { sourceId: source.id, trigger: 'manual', error: new AppError('SECRET_TYPE_MISMATCH'), lastAttempt: true })
    expect((await items('', agent.id))[0].occurrences).toBe(3)
    // a listing that worked resolves it, even when files were rejected
    const partial = { ...failed('x', 'x'), status: 'partial', error: null } as unknown as Sync
    expect(await afterPull(deps, { sourceId: source.id, trigger: 'manual', sync: partial, lastAttempt: true })).toBe('ok')
    expect((await items('', agent.id))[0]).toMatchObject({ status: 'resolved', resolution: 'auto' })
  })

  it('the test endpoint sends now and answers how it went, without echoing the receiver', async () => {
    const ok = await api('POST', `/agents/${agentId}/channels/${hookId}/test`)
    expect(ok.statusCode).toBe(200)
    expect(ok.json()).toMatchObject({ ok: true, status: 200 })
    const test = http.on('/hook').at(-1)!
    expect(test.json).toMatchObject({ type: 'channel.test', data: { agent: { id: agentId } } })
    expect(test.signatureValid).toBe(true)

    const mailOk = await api('POST', `/agents/${agentId}/channels/${emailId}/test`)
    expect(mailOk.json()).toMatchObject({ ok: true })
    expect(smtp.mails.at(-1)!.subject).toBe('[Ferry] Test notification')

    const failing = (await api('POST', `/agents/${agentId}/channels`, { type: 'slack', config: { url: `${http.url}/gone` } })).json()
    http.respond('/gone', 404, 'no_service: token xoxb-very-secret')
    const bad = await api('POST', `/agents/${agentId}/channels/${failing.id}/test`)
    expect(bad.statusCode).toBe(200)
    expect(bad.json()).toMatchObject({ ok: false, status: 404 })
    expect(bad.json().message).toMatch(/404/)
    expect(bad.body).not.toContain('xoxb')

    const refused = (await api('POST', `/agents/${agentId}/channels`, { type: 'webhook', config: { url: 'http://127.0.0.1:1/nothing-listens' } })).json()
    const unreachable = await api('POST', `/agents/${agentId}/channels/${refused.id}/test`)
    expect(unreachable.json()).toMatchObject({ ok: false })
    expect(unreachable.json().message).toMatch(/refused/)
  })

  it('a secret used by a channel is in use; deleting the channel frees it', async () => {
    const del = await api('DELETE', `/secrets/${hookSecretId}`)
    expect(del.statusCode).toBe(409)
    expect(del.json().code).toBe('SECRET_IN_USE')
    expect(del.json().details.sources.map((u: { id: string }) => u.id)).toContain(hookId)
    expect((await api('DELETE', `/agents/${agentId}/channels/${hookId}`)).statusCode).toBe(204)
    expect((await api('DELETE', `/agents/${agentId}/channels/${hookId}`)).statusCode).toBe(404)
    expect((await api('DELETE', `/secrets/${hookSecretId}`)).statusCode).toBe(204)
  })

  it('another organisation sees 404 for every pending-item and channel route', async () => {
    const otherKey = await t.newOrg('intruder')
    const [item] = await items()
    for (const [method, url] of [
      ['GET', `/agents/${agentId}/pending-items`],
      ['POST', `/agents/${agentId}/pending-items/${item.id}/resolve`],
      ['GET', `/agents/${agentId}/channels`],
      ['POST', `/agents/${agentId}/channels`],
      ['GET', `/agents/${agentId}/channels/${slackId}/deliveries`],
      ['POST', `/agents/${agentId}/channels/${slackId}/test`],
      ['DELETE', `/agents/${agentId}/channels/${slackId}`],
    ] as const) {
      const body = method === 'POST' && url.endsWith('/channels') ? { type: 'slack', config: { url: `${http.url}/x` } } : undefined
      const res = await api(method, url, body, otherKey)
      expect(res.statusCode, `${method} ${url}`).toBe(404)
    }
    // their own agent cannot reach our items or channels by id either
    const theirs = (await api('POST', '/agents', { name: 'theirs' }, otherKey)).json()
    expect((await api('POST', `/agents/${theirs.id}/pending-items/${item.id}/resolve`, undefined, otherKey)).statusCode).toBe(404)
    expect((await api('POST', `/agents/${theirs.id}/channels/${slackId}/test`, undefined, otherKey)).statusCode).toBe(404)
    expect((await api('GET', `/agents/${agentId}/channels`)).json().items.map((c: { id: string }) => c.id)).toContain(slackId)
  })
})
