import { randomUUID } from 'node:crypto'
import { PutObjectCommand } from '@aws-sdk/client-s3'
import type { Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { ADMIN_KEY, createTestApp, type TestApp } from '../helpers/app.js'
import { type BrowserSession, describeInChromium, ensureWebBuild, openUi } from '../helpers/browser.js'
import { startReceiver, type Receiver } from '../helpers/receiver.js'
import { startS3rver, type S3rverHandle } from '../helpers/s3.js'
import { until } from '../helpers/poll.js'

// Nothing clips at 390 px (issue #18): the agent page, the sync manifest dialog and the push
// attempts table, checked element by element — a table that scrolls inside its own box is clipped
// to a person on a phone even when the page itself does not scroll sideways. The data is made
// through the API; the UI only shows it. Once, not per backend (as test/integration/ui.test.ts).
describeInChromium('layout at 390 px', () => {
  let t: TestApp
  let s3: S3rverHandle
  let receiver: Receiver
  let browser: BrowserSession
  let page: Page
  let base: string
  let agentId: string
  let sourceId: string
  let pullSyncId: string
  let sinkId: string
  let pushSyncId: string

  beforeAll(async () => {
    ensureWebBuild()
    s3 = await startS3rver({ buckets: ['layout'] })
    // the first attempt fails with a 503, the retry is delivered: two rows of attempts
    receiver = await startReceiver([{ status: 503 }], { status: 200 })
    t = await createTestApp({ env: { FERRY_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8,::1/128', FERRY_PUSH_RETRY_SCHEDULE_MS: '200' } })

    agentId = (await t.api('POST', '/api/v1/agents', { body: { name: 'layout', timezone: 'Europe/Berlin' } })).json().id
    const secretId = (await t.api('POST', '/api/v1/secrets', {
      body: { name: 's3rver', type: 'aws', value: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } },
    })).json().id
    const key = 'daily-uploads/suppliers/north-east-region/warehouse-inventory-export-2025-11-29T06-00-00Z-final.csv'
    await s3.client().send(new PutObjectCommand({
      Bucket: 'layout', Key: key, Body: 'sku,name,quantity,price\nA-1,Anchor,10,4.5\nE-5,Epoxy,ten,9\nF-6,Fender,8,15\n',
    }))
    const sources = `/api/v1/agents/${agentId}/data-sources`
    sourceId = (await t.api('POST', sources, {
      body: {
        name: 'daily drops', role: 'INVENTORY_SOURCE', type: 's3', validate: false,
        config: { bucket: 'layout', prefix: 'daily-uploads/', region: 'us-east-1', secretRef: secretId, endpoint: s3.endpoint, forcePathStyle: true },
      },
    })).json().id
    const pulled = await t.api('POST', `${sources}/${sourceId}/pull?wait=true`)
    expect(pulled.statusCode, pulled.body).toBe(200)
    pullSyncId = pulled.json().id
    const uploadId = pulled.json().manifest[0].uploadId
    sinkId = (await t.api('POST', sources, {
      body: { name: 'ERP import', role: 'RESULTS_SINK', type: 'webhook', config: { url: `${receiver.url}/hook` }, validate: false },
    })).json().id
    const job = await until('the mapping job', async () => {
      const [j] = (await t.api('GET', `/api/v1/agents/${agentId}/jobs?uploadId=${uploadId}`)).json().items
      return j?.status === 'succeeded' ? j as { id: string } : null
    })
    pushSyncId = (await t.api('POST', `${sources}/${sinkId}/push`, { body: { jobId: job.id } })).json().syncId
    await until('the push', async () => (await t.api('GET', `${sources}/${sinkId}/syncs/${pushSyncId}`)).json().status === 'succeeded')

    ;({ base, browser, page } = await openUi(t.app, { viewport: { width: 390, height: 844 }, key: ADMIN_KEY }))
  })

  afterAll(async () => {
    await browser?.close()
    await t?.close()
    await receiver?.close()
    await s3?.close()
  })

  /**
   * Every element under `root` that is cut off sideways: reaching past the viewport, or a box whose
   * content is wider than the box (it scrolls or hides the rest). Visually hidden elements (1 px,
   * clipped: screen-reader text, a stacked table's header; the skip link off-screen) do not count.
   */
  const clipped = (root: Locator) => root.evaluate((el) => {
    const width = document.documentElement.clientWidth
    const name = (e: Element) =>
      [e.tagName.toLowerCase(), ...typeof e.className === 'string' ? e.className.split(/\s+/).filter(Boolean) : []].join('.')
    const found: string[] = []
    for (const e of [el, ...el.querySelectorAll('*')]) {
      const box = e.getBoundingClientRect()
      // visually hidden: 1 px boxes, and boxes wholly off-screen on purpose (the skip link until it has focus)
      if (box.width <= 1 || box.height <= 1 || box.right <= 0) continue
      if (e.closest('thead') && getComputedStyle(e.closest('thead')!).position === 'absolute') continue
      const style = getComputedStyle(e)
      if (box.right > width + 0.5 || box.left < -0.5) found.push(`${name(e)} spans ${Math.round(box.left)}…${Math.round(box.right)} of ${width}`)
      if (style.overflowX !== 'visible' && e.scrollWidth > e.clientWidth + 1) found.push(`${name(e)} holds ${e.scrollWidth} px in ${e.clientWidth}`)
    }
    return found
  })
  const card = (id: string) => page.locator(`[data-source-id="${id}"]`)

  it('shows each agent\'s health in the agents list without clipping', async () => {
    await t.api('POST', '/api/v1/agents', { body: { name: 'fresh' } })
    // an open pending item on the pulled source (written directly: no failing pull needed to show the count)
    await t.database.db.query(`INSERT INTO pending_items (id, org_id, agent_id, source_id, type, status, message)
      SELECT $1, org_id, agent_id, id, 'DATA_SOURCE_PULL_FAILED', 'open', 'x' FROM data_sources WHERE id = $2`, [randomUUID(), sourceId])
    await page.goto(`${base}/#/`)
    await page.reload()
    const row = (name: string) => page.locator('.agent-row').filter({ has: page.getByRole('link', { name, exact: true }) })
    const layout = row('layout').getByTestId('agent-health')
    await layout.locator('[data-status="succeeded"]').waitFor()
    expect(await layout.locator('time').count()).toBe(1)
    await layout.getByText('2 sources').waitFor()
    await layout.getByText('1 open pending item').waitFor()
    await row('fresh').getByTestId('agent-health').getByText('No syncs yet').waitFor()
    expect(await row('fresh').getByTestId('agent-health').getByText('0 sources').count()).toBe(1)
    expect(await clipped(page.locator('body'))).toEqual([])
    await browser.screenshot(page, 'layout-agents-list-390')
  })

  it('shows the agent page without clipping', async () => {
    await page.goto(`${base}/#/agents/${agentId}`)
    await card(sourceId).locator(`tr[data-sync-id="${pullSyncId}"]`).waitFor()
    await card(sinkId).locator(`tr[data-sync-id="${pushSyncId}"]`).waitFor()
    await page.locator('.tab-panel .state-loading').waitFor({ state: 'detached' })
    expect(await clipped(page.locator('body'))).toEqual([])
    await browser.screenshot(page, 'layout-agent-390')
  })

  it('shows the sync manifest dialog without clipping', async () => {
    await card(sourceId).locator(`tr[data-sync-id="${pullSyncId}"] button`).click()
    const dialog = page.getByRole('dialog', { name: 'Sync details' })
    await dialog.getByText('Row 3:').waitFor()
    expect(await clipped(dialog)).toEqual([])
    await browser.screenshot(page, 'layout-manifest-390', { fullPage: false })
    await page.keyboard.press('Escape')
    await dialog.waitFor({ state: 'detached' })
  })

  it('shows the push attempts without clipping', async () => {
    await card(sinkId).locator(`tr[data-sync-id="${pushSyncId}"] button`).click()
    const dialog = page.getByRole('dialog', { name: 'Sync details' })
    const attempts = dialog.getByRole('region', { name: 'Delivery attempts' })
    await attempts.getByText('HTTP 200 · Delivered').waitFor()
    await attempts.getByText(/HTTP 503/).waitFor()
    expect(await clipped(dialog)).toEqual([])
    await browser.screenshot(page, 'layout-attempts-390', { fullPage: false })
    await page.keyboard.press('Escape')
  })

  it('shows the other views without clipping', async () => {
    const views: Array<[string, string]> = [
      ['#/', 'Agents'], ['#/secrets', 'Secrets'], ['#/api-keys', 'API keys'], ['#/audit-log', 'Audit log'],
      [`#/agents/${agentId}/pending`, 'layout'], [`#/agents/${agentId}/channels`, 'layout'],
    ]
    const found: string[] = []
    for (const [hash, heading] of views) {
      await page.goto(`${base}/${hash}`)
      await page.getByRole('heading', { name: heading, level: 1 }).waitFor()
      await page.locator('.state-loading').first().waitFor({ state: 'detached' })
      for (const problem of await clipped(page.locator('body'))) found.push(`${hash}: ${problem}`)
    }
    expect(found).toEqual([])
  })

  it('logged no uncaught errors', () => {
    expect(browser.problems).toEqual([])
  })
})
