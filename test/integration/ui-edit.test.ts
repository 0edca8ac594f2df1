import { randomUUID } from 'node:crypto'
import type { Page } from 'playwright-core'
import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { ADMIN_KEY, createTestApp, type TestApp } from '../helpers/app.js'
import { type BrowserSession, describeInChromium, ensureWebBuild, openUi } from '../helpers/browser.js'
import { multipartFile } from '../helpers/multipart.js'

// The Edit dialogs (agents, sources, channels, secrets) in Debian's Chromium against the real
// server, at 1280 and 390 px. Like ui.test.ts it runs once (PGlite): the UI does not care which backend.
describeInChromium('edit dialogs in Chromium', () => {
  let t: TestApp
  let browser: BrowserSession
  let page: Page
  let base: string
  let agentId: string

  beforeAll(async () => {
    ensureWebBuild()
    t = await createTestApp({ env: { FERRY_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8,::1/128' } })
    agentId = (await t.api('POST', '/api/v1/agents', { body: { name: 'editable', scheduleCron: '0 6 * * *' } })).json().id
    ;({ base, browser, page } = await openUi(t.app, { viewport: { width: 1280, height: 900 }, key: ADMIN_KEY }))
  })

  afterAll(async () => {
    await browser?.close()
    await t?.close()
  })

  const get = async (path: string) => (await t.api('GET', `/api/v1${path}`)).json()
  const noHorizontalScroll = async (width: number) =>
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width)

  it('edits an agent: schedule, timezone and rules filled in, saved, shown in the header', async () => {
    await page.goto(`${base}/#/agents/${agentId}`)
    await page.getByRole('button', { name: 'Edit agent' }).click()
    const form = page.getByRole('form', { name: 'Edit agent' })
    expect(await form.getByLabel('Schedule (cron)').inputValue()).toBe('0 6 * * *')
    expect(await form.getByLabel('Timezone').inputValue()).toBe('UTC')
    await form.getByLabel('Schedule (cron)').fill('30 7 * * 1-5')
    await form.getByLabel('Timezone').fill('Europe/Berlin')
    await form.getByLabel(/auto-map/).uncheck()
    await browser.screenshot(page, 'agent-edit-1280', { fullPage: false })
    await form.getByRole('button', { name: 'Save changes' }).click()
    await form.waitFor({ state: 'detached' })
    await page.locator('.agent-header code.cron-raw').getByText('30 7 * * 1-5').waitFor()
    const agent = await get(`/agents/${agentId}`)
    expect(agent).toMatchObject({ scheduleCron: '30 7 * * 1-5', timezone: 'Europe/Berlin', rules: { autoMap: false } })
  })

  it('edits an inbound source from its card: parse options and field map filled in, changed and cleared', async () => {
    const created = await t.api('POST', `/api/v1/agents/${agentId}/data-sources`, {
      body: { name: 'drops', role: 'INVENTORY_SOURCE', type: 'webhook', config: { parse: { delimiter: ';', headerRow: 2 }, fieldMap: { sku: 'Art' } } },
    })
    expect(created.statusCode, created.body).toBe(201)
    const id = created.json().id
    // the page already shows this agent: reload it so it fetches the new source
    await page.goto(`${base}/#/agents/${agentId}`)
    await page.reload()
    await page.locator(`[data-source-id="${id}"]`).getByRole('button', { name: 'Edit drops' }).click()
    const form = page.getByRole('form', { name: 'Edit “drops”' })
    expect(await form.getByLabel('Name', { exact: true }).inputValue()).toBe('drops')
    expect(await form.getByLabel('Delimiter').inputValue()).toBe(';')
    expect(await form.getByLabel('Header row').inputValue()).toBe('2')
    expect(await form.getByLabel('Column for sku').inputValue()).toBe('Art')
    expect(await form.getByLabel('Type').isDisabled()).toBe(true)
    await form.getByLabel('Name', { exact: true }).fill('drops (tabs)')
    await form.getByLabel('Delimiter').selectOption({ label: 'Tab' })
    await form.getByLabel('Header row').fill('')
    await form.getByLabel('Column for sku').fill('')
    await browser.screenshot(page, 'source-edit-1280', { fullPage: false })
    await form.getByRole('button', { name: 'Save changes' }).click()
    await form.waitFor({ state: 'detached' })
    await page.locator(`[data-source-id="${id}"]`).getByText('drops (tabs)').first().waitFor()
    const source = (await get(`/agents/${agentId}/data-sources`)).items.find((s: { id: string }) => s.id === id)
    expect(source.name).toBe('drops (tabs)')
    expect(source.config.parse).toEqual({ delimiter: '\t' })
    expect(source.config.fieldMap).toBeUndefined()
  })

  it('renames a channel and changes its URL', async () => {
    const ch = await t.api('POST', `/api/v1/agents/${agentId}/channels`, { body: { name: 'ops hook', type: 'webhook', config: { url: 'http://127.0.0.1:9/a' } } })
    expect(ch.statusCode, ch.body).toBe(201)
    await page.goto(`${base}/#/agents/${agentId}/channels`)
    await page.getByRole('button', { name: 'Edit channel ops hook' }).click()
    const form = page.getByRole('form', { name: 'Edit channel' })
    expect(await form.getByLabel('Webhook URL').inputValue()).toBe('http://127.0.0.1:9/a')
    await form.getByLabel('Name').fill('ops alerts')
    await form.getByLabel('Webhook URL').fill('http://127.0.0.1:9/b')
    await form.getByRole('button', { name: 'Save changes' }).click()
    await form.waitFor({ state: 'detached' })
    await page.locator(`[data-channel-id="${ch.json().id}"]`).getByText('ops alerts').waitFor()
    const saved = (await get(`/agents/${agentId}/channels`)).items[0]
    expect(saved).toMatchObject({ name: 'ops alerts', config: { url: 'http://127.0.0.1:9/b' } })
  })

  it('replaces a webhook secret\'s value with a generated one, shown once', async () => {
    const secret = (await t.api('POST', '/api/v1/secrets', { body: { name: 'sender signing', type: 'webhook' } })).json()
    await page.goto(`${base}/#/secrets`)
    await page.getByRole('button', { name: 'Edit secret sender signing' }).click()
    const form = page.getByRole('form', { name: 'Edit secret' })
    await form.getByLabel('Generate a new signing secret').check()
    await form.getByRole('button', { name: 'Save changes' }).click()
    await form.waitFor({ state: 'detached' })
    const shown = await page.getByLabel('Generated signing secret').inputValue()
    expect(shown).toMatch(/^whsec_/)
    expect(shown).not.toBe(secret.signingSecret)
    const after = await get(`/secrets/${secret.id}`)
    expect(after.rotatedAt).not.toBeNull()
    expect(after.redacted.signingSecret.slice(-4)).toBe(shown.slice(-4))
    await page.getByRole('button', { name: /I have stored it/ }).click()
    expect(await page.content()).not.toContain(shown)
  })

  it('uploads and mapping jobs: rejected rows with reasons, results download, the push dialog names jobs by file and hides 0-row ones', async () => {
    const viewsAgent = (await t.api('POST', '/api/v1/agents', { body: { name: 'views' } })).json().id as string
    const upload = async (csv: string, fileName: string) => {
      const { payload, headers } = multipartFile(csv, { fileName })
      const res = await t.app.inject({
        method: 'POST', url: `/api/v1/agents/${viewsAgent}/inventory/uploads`, payload, headers: { ...headers, authorization: `Bearer ${ADMIN_KEY}` },
      })
      expect(res.statusCode, res.body).toBe(201)
      return res.json().id as string
    }
    const good = await upload('sku,name,quantity\nA-1,Anchor,10\nB-2,Buoy,ten\nC-3,Cleat,4\n', 'harbour-stock.csv')
    await upload('sku,name,quantity\n,Nameless,1\n', 'all-rejected.csv')
    await expect.poll(async () => (await get(`/agents/${viewsAgent}/jobs`)).items.filter((j: { status: string }) => j.status === 'succeeded').length,
      { timeout: 30_000 }).toBe(2)

    await page.goto(`${base}/#/agents/${viewsAgent}/uploads`)
    const table = page.getByRole('region', { name: 'Uploads' })
    await table.getByRole('link', { name: 'harbour-stock.csv' }).click()
    const dialog = page.getByRole('dialog', { name: 'harbour-stock.csv' })
    expect(await dialog.locator('[data-rows-landed]').textContent()).toBe('2')
    await dialog.getByRole('region', { name: 'Rejected rows' }).getByText(/quantity/).waitFor()
    expect(page.url()).toContain(`/uploads/${good}`)
    await browser.screenshot(page, 'upload-detail-1280', { fullPage: false })
    await page.keyboard.press('Escape')
    await dialog.waitFor({ state: 'detached' })

    await page.goto(`${base}/#/agents/${viewsAgent}/jobs`)
    const jobs = page.getByRole('region', { name: 'Mapping jobs' })
    await jobs.getByRole('link', { name: 'harbour-stock.csv' }).waitFor()
    const [file] = await Promise.all([
      page.waitForEvent('download'),
      jobs.getByRole('button', { name: 'Download CSV results of harbour-stock.csv' }).click(),
    ])
    expect(file.suggestedFilename()).toBe('harbour-stock-results.csv')
    const text = await new Promise<string>((resolve, reject) => {
      file.createReadStream().then(stream => {
        const chunks: Buffer[] = []
        stream.on('data', (c: Buffer) => chunks.push(c))
        stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
        stream.on('error', reject)
      }, reject)
    })
    expect(text).toContain('A-1')
    expect(text).toContain('C-3')
    await browser.screenshot(page, 'mapping-jobs-1280')

    const sink = await t.api('POST', `/api/v1/agents/${viewsAgent}/data-sources`, {
      body: { name: 'erp', role: 'RESULTS_SINK', type: 'webhook', config: { url: 'http://127.0.0.1:9/erp' }, validate: false },
    })
    expect(sink.statusCode, sink.body).toBe(201)
    await page.goto(`${base}/#/agents/${viewsAgent}`)
    await page.locator(`[data-source-id="${sink.json().id}"]`).getByRole('button', { name: 'Push', exact: true }).click()
    const push = page.getByRole('dialog', { name: 'Push to “erp”' })
    await push.getByText('harbour-stock.csv').waitFor()
    expect(await push.getByText('all-rejected.csv').count()).toBe(0)
    expect(await push.locator('input[type="radio"]').count()).toBe(1)
    await page.keyboard.press('Escape')

    await page.setViewportSize({ width: 390, height: 844 })
    for (const tab of ['uploads', 'jobs']) {
      await page.goto(`${base}/#/agents/${viewsAgent}/${tab}`)
      await page.locator(`div[role="region"][aria-label="${tab === 'uploads' ? 'Uploads' : 'Mapping jobs'}"]`).waitFor()
      await noHorizontalScroll(390)
      await browser.screenshot(page, `${tab === 'uploads' ? 'uploads' : 'mapping-jobs'}-390`)
    }
    await page.setViewportSize({ width: 1280, height: 900 })
  })

  it('a sync\'s manifest entry links to its upload', async () => {
    const created = (await t.api('POST', `/api/v1/agents/${agentId}/data-sources`, {
      body: { name: 'linked', role: 'INVENTORY_SOURCE', type: 'webhook', config: {} },
    })).json()
    const body = 'sku,quantity\nL-1,1\nL-2,two\n'
    const id = `msg_${randomUUID()}`
    const at = new Date()
    const delivered = await t.app.inject({
      method: 'POST',
      url: `/api/v1/inbound/${created.id}`,
      headers: {
        'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': new Webhook(created.signingSecret).sign(id, at, body), 'content-type': 'text/csv', 'x-file-name': 'linked.csv',
      },
      payload: body,
    })
    expect(delivered.statusCode, delivered.body).toBe(200)
    await page.goto(`${base}/#/agents/${agentId}`)
    await page.reload()
    const card = page.locator(`[data-source-id="${created.id}"]`)
    await card.locator('tr[data-sync-id] button').first().click()
    const manifest = page.getByRole('dialog', { name: 'Sync details' })
    await manifest.locator('[data-manifest-key="linked.csv"]').getByRole('link', { name: 'Open the upload' }).click()
    const upload = page.getByRole('dialog', { name: 'linked.csv' })
    await upload.getByRole('region', { name: 'Rejected rows' }).getByText(/quantity "two"/).waitFor()
    expect(await upload.locator('[data-rows-landed]').textContent()).toBe('1')
    await page.keyboard.press('Escape')
    await upload.waitFor({ state: 'detached' })
  })

  it('the edit dialogs fit 390 px without horizontal scrolling', async () => {
    await page.setViewportSize({ width: 390, height: 844 })
    await page.goto(`${base}/#/agents/${agentId}`)
    const source = (await get(`/agents/${agentId}/data-sources`)).items[0]
    await page.locator(`[data-source-id="${source.id}"]`).getByRole('button', { name: `Edit ${source.name}` }).click()
    await page.getByRole('form', { name: `Edit “${source.name}”` }).waitFor()
    await noHorizontalScroll(390)
    await browser.screenshot(page, 'source-edit-390', { fullPage: false })
    await page.keyboard.press('Escape')
    await page.getByRole('button', { name: 'Edit agent' }).click()
    await page.getByRole('form', { name: 'Edit agent' }).waitFor()
    await noHorizontalScroll(390)
    await browser.screenshot(page, 'agent-edit-390', { fullPage: false })
    await page.keyboard.press('Escape')
    await page.goto(`${base}/#/agents/${agentId}/channels`)
    await page.getByRole('button', { name: 'Edit channel ops alerts' }).click()
    await page.getByRole('form', { name: 'Edit channel' }).waitFor()
    await noHorizontalScroll(390)
    await browser.screenshot(page, 'channel-edit-390', { fullPage: false })
    await page.keyboard.press('Escape')
    expect(browser.problems).toEqual([])
  })
})
