import { PutObjectCommand } from '@aws-sdk/client-s3'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { type BrowserSession, describeInChromium, ensureWebBuild, openUi, signIn } from '../helpers/browser.js'
import { multipartFile } from '../helpers/multipart.js'
import { startReceiver, type Receiver } from '../helpers/receiver.js'
import { startS3rver, type S3rverHandle } from '../helpers/s3.js'
import { until } from '../helpers/poll.js'

// The source page (#/agents/{id}/sources/{sid}) in Chromium against the real server: paged and
// filtered history, Cancel, Retry now, Reset, at 1280 and 390 px; a viewer sees none of the actions.
// Like the other UI tests it runs once, on PGlite.
const BUCKET = 'ui-source-page'

describeInChromium('the source page, in Chromium', () => {
  let t: TestApp
  let s3: S3rverHandle
  let receiver: Receiver
  let browser: BrowserSession
  let base: string
  let agentId: string
  let sourceId: string
  let sinkId: string
  let viewerKey: string
  let page: Page

  beforeAll(async () => {
    ensureWebBuild()
    s3 = await startS3rver({ buckets: [BUCKET] })
    receiver = await startReceiver([{ status: 503, headers: { 'retry-after': '3600' } }], { status: 200 })
    t = await createTestApp({ env: { FERRY_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8,::1/128', FERRY_PUSH_RETRY_SCHEDULE_MS: '50,50' } })
    const value = { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey }
    const secret = (await t.api('POST', '/api/v1/secrets', { body: { name: 's3rver', type: 'aws', value } })).json()
    agentId = (await t.api('POST', '/api/v1/agents', { body: { name: 'acme', rules: { autoPull: false, autoMap: false } } })).json().id
    const source = await t.api('POST', `/api/v1/agents/${agentId}/data-sources`, {
      body: {
        name: 'daily drops', role: 'INVENTORY_SOURCE', type: 's3',
        config: { bucket: BUCKET, prefix: 'p/', region: 'us-east-1', secretRef: secret.id, endpoint: s3.endpoint, forcePathStyle: true },
      },
    })
    expect(source.statusCode, source.body).toBe(201)
    sourceId = source.json().id
    await s3.client().send(new PutObjectCommand({ Bucket: BUCKET, Key: 'p/a.csv', Body: 'sku,name,quantity\nA-1,one,1\n' }))
    expect((await t.api('POST', `/api/v1/agents/${agentId}/data-sources/${sourceId}/pull?wait=true`)).json().status).toBe('succeeded')
    // 29 older syncs (two pages of 20 with the real one), one of them still "running" (no worker: it can only be cancelled)
    for (let i = 0; i < 29; i++) {
      await t.database.db.query(
        `INSERT INTO syncs (id, org_id, source_id, direction, trigger, status, started_at, finished_at)
         SELECT $2::uuid, org_id, id, 'inbound', $3, $4, now() - make_interval(hours => $5), now() - make_interval(hours => $5)
         FROM data_sources WHERE id = $1`,
        [sourceId, `00000000-0000-7000-8000-${String(i).padStart(12, '0')}`, i % 2 ? 'schedule' : 'manual',
          i === 28 ? 'running' : i % 3 ? 'succeeded' : 'failed', 48 - i])
    }
    await t.database.db.query(`UPDATE syncs SET finished_at = NULL WHERE status = 'running'`)
    // its pull runs "on another worker" (the lease is held), so the lost-pull sweep leaves it alone
    await t.database.db.query(`UPDATE data_sources SET lease_token = gen_random_uuid(), lease_expires_at = now() + interval '1 hour' WHERE id = $1`, [sourceId])

    // a sink whose push waits for a retry an hour away
    const sink = await t.api('POST', `/api/v1/agents/${agentId}/data-sources`, {
      body: { name: 'partner hook', role: 'RESULTS_SINK', type: 'webhook', config: { url: `${receiver.url}/in` }, validate: false },
    })
    sinkId = sink.json().id
    const { payload, headers } = multipartFile('sku,name,quantity\nP-1,Widget,2\n', { fileName: 'stock.csv' })
    const up = await t.app.inject({
      method: 'POST', url: `/api/v1/agents/${agentId}/inventory/uploads`, payload, headers: { ...headers, authorization: `Bearer ${t.adminKey}` },
    })
    const job = (await t.api('POST', `/api/v1/agents/${agentId}/jobs`, { body: { uploadId: up.json().id } })).json()
    await until('the mapping job to succeed', async () =>
      (await t.api('GET', `/api/v1/agents/${agentId}/jobs/${job.id}`)).json().status === 'succeeded', 30_000, 50)
    const pushed = (await t.api('POST', `/api/v1/agents/${agentId}/data-sources/${sinkId}/push`, { body: { jobId: job.id } })).json()
    await until('the push to wait for its retry', async () =>
      (await t.api('GET', `/api/v1/agents/${agentId}/data-sources/${sinkId}/syncs/${pushed.syncId}`)).json().status === 'retrying', 30_000, 50)
    viewerKey = (await t.api('POST', '/api/v1/api-keys', { body: { name: 'dashboard', role: 'viewer' } })).json().apiKey

    ;({ base, browser, page } = await openUi(t.app, { viewport: { width: 1280, height: 900 }, key: t.adminKey }))
  })

  afterAll(async () => {
    await browser?.close()
    await t?.close()
    await receiver?.close()
    await s3?.close()
  })

  /** Every table container on the page shows its whole table: nothing is clipped or needs a sideways scroll. */
  const noClippedTables = async (page: Page) => page.locator('.table-wrap').evaluateAll(els =>
    els.map(el => ({ label: el.getAttribute('aria-label'), scroll: el.scrollWidth, client: el.clientWidth })).filter(e => e.scroll > e.client))
  const historyRows = (page: Page) => page.locator('.history tbody tr')

  it('lists the sources at a glance on the agent page and opens one on its own page', async () => {
    await page.goto(`${base}/#/agents/${agentId}`)
    const overview = page.getByRole('region', { name: 'Sources at a glance' })
    await overview.getByRole('link', { name: 'daily drops' }).waitFor()
    await expect.poll(() => overview.locator(`[data-overview-id="${sinkId}"] [data-status]`).getAttribute('data-status')).toBe('retrying')
    await page.setViewportSize({ width: 390, height: 844 })
    expect(await noClippedTables(page)).toEqual([])
    await page.setViewportSize({ width: 1280, height: 900 })
    // each card shows its last few syncs and links to the whole history
    expect(await page.locator(`[data-source-id="${sourceId}"] tr[data-sync-id]`).count()).toBe(5)
    await overview.getByRole('link', { name: 'daily drops' }).click()
    await page.getByRole('heading', { name: 'daily drops', level: 1 }).waitFor()
    expect(page.url()).toBe(`${base}/#/agents/${agentId}/sources/${sourceId}`)
    await browser.screenshot(page, 'source-page-1280')
  })

  it('pages the history with Load more and filters it by status and trigger', async () => {
    await page.setViewportSize({ width: 1280, height: 900 })
    await page.goto(`${base}/#/agents/${agentId}/sources/${sourceId}`)
    await page.getByRole('heading', { name: 'daily drops', level: 1 }).waitFor()
    await expect.poll(() => historyRows(page).count()).toBe(20)
    await page.getByRole('button', { name: 'Load more' }).click()
    await expect.poll(() => historyRows(page).count()).toBe(30)
    expect(await page.getByRole('button', { name: 'Load more' }).count()).toBe(0)
    const ids = await historyRows(page).evaluateAll(rows => rows.map(r => r.getAttribute('data-sync-id')))
    expect(new Set(ids).size).toBe(30)

    await page.getByLabel('Status').selectOption('failed')
    const statuses = () => historyRows(page).locator('[data-status]').evaluateAll(els => els.map(e => e.getAttribute('data-status')))
    await expect.poll(statuses).toEqual(Array(10).fill('failed'))
    await page.getByLabel('Trigger').selectOption('manual')
    await expect.poll(() => historyRows(page).count()).toBe(5)
    expect(await noClippedTables(page)).toEqual([])
  })

  it('cancels a running sync and resets the ledger after a confirmation, at 390 px', async () => {
    await page.setViewportSize({ width: 390, height: 844 })
    await page.goto(`${base}/#/agents/${agentId}/sources/${sourceId}`)
    await page.getByRole('heading', { name: 'daily drops', level: 1 }).waitFor()
    await page.getByLabel('Status').selectOption('running')
    await expect.poll(() => historyRows(page).count()).toBe(1)
    expect(await noClippedTables(page)).toEqual([])
    await browser.screenshot(page, 'source-page-390')
    await historyRows(page).getByRole('button', { name: 'Cancel' }).click()
    await expect.poll(() => historyRows(page).count()).toBe(0)
    await page.getByLabel('Status').selectOption('cancelled')
    await expect.poll(() => historyRows(page).count()).toBe(1)

    await page.getByRole('button', { name: 'Reset…' }).click()
    const dialog = page.getByRole('dialog', { name: 'Reset “daily drops”?' })
    await dialog.getByRole('button', { name: 'Reset' }).click()
    await expect.poll(() => dialog.locator('[data-forgotten]').getAttribute('data-forgotten')).toBe('1')
    await dialog.getByRole('button', { name: 'Done' }).click()
    await t.database.db.query('UPDATE data_sources SET lease_token = NULL, lease_expires_at = NULL WHERE id = $1', [sourceId])
    // the next pull ingests the file again
    expect((await t.api('POST', `/api/v1/agents/${agentId}/data-sources/${sourceId}/pull?wait=true`)).json()).toMatchObject({ filesCount: 1 })
  })

  it('retries a waiting push at once', async () => {
    await page.setViewportSize({ width: 1280, height: 900 })
    await page.goto(`${base}/#/agents/${agentId}/sources/${sinkId}`)
    await page.getByRole('heading', { name: 'partner hook', level: 1 }).waitFor()
    const row = historyRows(page).first()
    await expect.poll(() => row.locator('[data-status]').getAttribute('data-status')).toBe('retrying')
    expect(await row.textContent()).toMatch(/attempt 1 failed, next/)
    await row.getByRole('button', { name: 'Retry now' }).click()
    await receiver.waitForPosts(2)
    await expect.poll(() => row.locator('[data-status]').getAttribute('data-status'), { timeout: 15_000 }).toBe('succeeded')
  })

  it('offers a viewer none of the actions', async () => {
    // a tab of its own: the session (sessionStorage) is per tab
    const viewer = await browser.context.newPage()
    await viewer.setViewportSize({ width: 1280, height: 900 })
    await signIn(viewer, base, viewerKey)
    await viewer.goto(`${base}/#/agents/${agentId}/sources/${sourceId}`)
    await viewer.getByRole('heading', { name: 'daily drops', level: 1 }).waitFor()
    await expect.poll(() => historyRows(viewer).count()).toBeGreaterThan(0)
    const buttons = await viewer.locator('main button').allTextContents()
    for (const label of ['Reset…', 'Cancel', 'Retry now', 'Pull now', 'Test']) expect(buttons, label).not.toContain(label)
    expect(browser.problems).toEqual([])
  })
})
