import { PutObjectCommand } from '@aws-sdk/client-s3'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { ADMIN_KEY, createTestApp, type TestApp } from '../helpers/app.js'
import { type BrowserSession, describeInChromium, ensureWebBuild, openUi } from '../helpers/browser.js'
import { startS3rver, type S3rverHandle } from '../helpers/s3.js'
import { semicolonCsv } from '../fixtures/formats/imports.js'

// The add-source form's import options and preview, and the amber manifest entry of a file that
// landed with warnings, in Debian's Chromium against the real server (docs/formats.md). Like
// ui.test.ts it runs once (PGlite): the UI does not care which backend.
describeInChromium('import options in Chromium', () => {
  let t: TestApp
  let s3: S3rverHandle
  let browser: BrowserSession
  let page: Page
  let base: string
  let agentId: string
  let secretId: string

  beforeAll(async () => {
    ensureWebBuild()
    s3 = await startS3rver({ buckets: ['supplier'] })
    await s3.client().send(new PutObjectCommand({ Bucket: 'supplier', Key: 'drops/stock.csv', Body: semicolonCsv() }))
    t = await createTestApp({ env: { FERRY_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8,::1/128' } })
    agentId = (await t.api('POST', '/api/v1/agents', { body: { name: 'supplier', rules: { autoPull: false, autoMap: false } } })).json().id
    const value = { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey }
    secretId = (await t.api('POST', '/api/v1/secrets', { body: { name: 's3rver', type: 'aws', value } })).json().id
    ;({ base, browser, page } = await openUi(t.app, { viewport: { width: 1280, height: 900 }, key: ADMIN_KEY }))
  })

  afterAll(async () => {
    await browser?.close()
    await t?.close()
    await s3?.close()
  })

  const footprint = async () => (await t.database.db.query<{ n: number }>(
    'SELECT (SELECT count(*)::int FROM syncs) + (SELECT count(*)::int FROM source_files) + (SELECT count(*)::int FROM inventory_uploads) AS n')).rows[0].n

  it('the add-source form previews the newest file with the parse options next to it, before saving, without a sync', async () => {
    await page.goto(`${base}/#/agents/${agentId}`)
    const inbound = page.locator('section', { has: page.getByRole('heading', { name: 'Inbound', exact: true }) })
    await inbound.getByRole('button', { name: 'Add source' }).click()
    const form = page.getByRole('form', { name: 'New inbound source' })
    await form.getByLabel('Name', { exact: true }).fill('supplier drops')
    await form.getByRole('textbox', { name: 'Bucket' }).fill('supplier')
    await form.getByLabel('Prefix').fill('drops/')
    await form.getByLabel('Credentials (AWS secret)').selectOption({ label: 's3rver' })
    await form.getByLabel('Endpoint').fill(s3.endpoint)
    await form.getByLabel(/Path-style addressing/).check()

    // detected as is: ";" is sniffed, but "2,50" is not a number → the rows show as rejected
    const preview = form.locator('[data-preview]')
    await preview.getByRole('button', { name: 'Preview the newest file' }).click()
    const result = preview.locator('[data-preview-result]')
    await result.getByText('drops/stock.csv').waitFor()
    await result.getByText(/Row 2:.*price "2,50" is not a number/).waitFor()
    await result.getByText('Would land').waitFor()

    await form.getByLabel('Decimal separator').selectOption(',')
    await form.getByLabel('Thousands separator').selectOption('.')
    await form.getByLabel('Column for name').fill('name')
    await preview.getByRole('button', { name: 'Preview the newest file' }).click()
    const table = result.getByRole('region', { name: 'First items' })
    await table.waitFor()
    await expect.poll(() => table.locator('tbody tr').count()).toBe(2)
    expect(await table.locator('tbody tr').first().locator('td').allTextContents()).toEqual(['2', 'A1', 'Bolt', '1234', '2.5', '—', '—'])
    expect(await result.locator('[data-preview-columns]').textContent()).toContain('“price” → price')
    expect(await footprint()).toBe(0)
    await browser.screenshot(page, 'source-form-preview-1280')

    await form.getByRole('button', { name: 'Save source' }).click()
    await form.waitFor({ state: 'detached' })
    const saved = (await t.api('GET', `/api/v1/agents/${agentId}/data-sources`)).json().items[0]
    expect(saved.config).toMatchObject({ parse: { decimalSeparator: ',', thousandsSeparator: '.' }, fieldMap: { name: 'name' }, secretRef: secretId })

    // the saved source previews with its saved options, from its card
    await page.locator(`[data-source-id="${saved.id}"]`).getByRole('button', { name: 'Preview', exact: true }).click()
    const dialog = page.getByRole('dialog', { name: 'Preview of supplier drops' })
    await dialog.getByRole('button', { name: 'Preview the newest file' }).click()
    await expect.poll(() => dialog.locator('tbody tr').count()).toBe(2)
    expect(await dialog.locator('tbody tr').nth(1).locator('td').allTextContents()).toEqual(['3', 'A2', 'Nut', '7', '1234.5', '—', '—'])
    await page.keyboard.press('Escape')
    await dialog.waitFor({ state: 'detached' })
    expect(await footprint()).toBe(0)
  })

  it('a file that landed with warnings is amber in the manifest, never plain green, with the warning listed', async () => {
    const sourceId = (await t.api('GET', `/api/v1/agents/${agentId}/data-sources`)).json().items[0].id as string
    await s3.client().send(new PutObjectCommand({ Bucket: 'supplier', Key: 'drops/extra.csv', Body: 'sku;Stock;Colour\nZ1;5;red\n' }))
    const pulled = await t.api('POST', `/api/v1/agents/${agentId}/data-sources/${sourceId}/pull?wait=true`)
    expect(pulled.json().status, pulled.body).toBe('succeeded')
    // the page already shows this agent: reload it so it fetches the new sync
    await page.reload()
    const card = page.locator(`[data-source-id="${sourceId}"]`)
    await expect.poll(() => card.locator('tr[data-sync-id] button').count()).toBeGreaterThan(0)
    await card.locator('tr[data-sync-id] button').first().click()
    const dialog = page.getByRole('dialog', { name: 'Sync details' })
    const warned = dialog.locator('[data-manifest-key="drops/extra.csv"]')
    const badge = warned.locator('.badge')
    await badge.getByText('Ingested with warnings').waitFor()
    expect(await badge.getAttribute('class')).toContain('badge-warn')
    await warned.locator('[data-warning="UNMAPPED_COLUMNS"]').getByText(/"Stock", "Colour"/).waitFor()
    // the clean file stays green
    expect(await dialog.locator('[data-manifest-key="drops/stock.csv"] .badge').getAttribute('class')).toContain('badge-ok')
    await browser.screenshot(page, 'manifest-warnings-1280', { fullPage: false })
    expect(browser.problems).toEqual([])
  })
})
