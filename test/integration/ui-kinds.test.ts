import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_KEY, createTestApp, type TestApp } from '../helpers/app.js'
import { startAzurite, type AzuriteHandle } from '../helpers/azurite.js'
import { type BrowserSession, chromiumAvailable, launchBrowser, listenOnLoopback, ensureWebBuild, signIn } from '../helpers/browser.js'

// The Azure Blob and HTTPS file kinds in the form, in Debian's Chromium against the real server,
// Azurite and a local HTTP server: an azure secret through the secrets form, an azure_blob and an
// https source through the source form (each pinged at save time), both listed with their targets
// and passing Test. Like ui.test.ts it runs once (PGlite): the UI does not care which backend.
const onPostgres = process.env.FERRY_TEST_DB === 'postgres'
const inCi = process.env.CI === 'true'
const haveChromium = chromiumAvailable()

describe.runIf(!onPostgres && !haveChromium && inCi)('Azure Blob and HTTPS sources in Chromium', () => {
  it('needs Debian\'s Chromium in CI', () => { throw new Error('/usr/bin/chromium not found') })
})

describe.skipIf(onPostgres || !haveChromium)('Azure Blob and HTTPS sources in Chromium', () => {
  let t: TestApp
  let azurite: AzuriteHandle
  let server: http.Server
  let origin: string
  let browser: BrowserSession
  let page: Page
  let base: string
  let agentId: string

  beforeAll(async () => {
    ensureWebBuild()
    azurite = await startAzurite()
    const csv = 'sku,name,quantity\nA-1,Anchor,3\n'
    await (await azurite.createContainer('inventory')).getBlockBlobClient('daily/stock.csv').upload(csv, csv.length)
    server = http.createServer((req, res) => {
      if (req.url !== '/feeds/stock.csv') return res.writeHead(404).end()
      res.writeHead(200, { 'content-type': 'text/csv', etag: '"v1"' }).end(req.method === 'HEAD' ? undefined : csv)
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    t = await createTestApp({ env: { FERRY_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8,::1/128' } })
    base = await listenOnLoopback(t.app)
    agentId = (await t.api('POST', '/api/v1/agents', { body: { name: 'kinds', rules: { autoPull: false } } })).json().id
    browser = await launchBrowser()
    page = await browser.newPage({ width: 1280, height: 900 })
    await signIn(page, base, ADMIN_KEY)
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await t?.close()
    await azurite?.stop()
    await new Promise(resolve => server?.close(resolve))
  })

  const inbound = () => page.locator('section', { has: page.getByRole('heading', { name: 'Inbound', exact: true }) })
  const card = (id: string) => page.locator(`[data-source-id="${id}"]`)
  const sourceNamed = async (name: string) => {
    const items = (await t.api('GET', `/api/v1/agents/${agentId}/data-sources`)).json().items as Array<{ id: string, name: string, config: object }>
    return items.find(s => s.name === name)!
  }
  const passesTest = async (id: string) => {
    await card(id).getByRole('button', { name: 'Test' }).click()
    await card(id).locator('.test-results').getByText('Test passed').waitFor()
  }

  it('creates an azure secret in the secrets form: the key never reaches the page', async () => {
    await page.goto(`${base}/#/secrets`)
    await page.getByRole('button', { name: 'New secret' }).click()
    await page.getByLabel('Name').fill('azurite')
    await page.getByLabel('Type').selectOption('azure')
    await page.getByLabel('Storage account name').fill(azurite.accountName)
    await page.getByLabel('Account key').fill(azurite.accountKey)
    await page.getByRole('button', { name: 'Save secret' }).click()
    await page.getByRole('cell', { name: 'azurite', exact: true }).waitFor()
    await page.getByText(`mt_byo_****${azurite.accountKey.slice(-4)}`).waitFor()
    expect(await page.content()).not.toContain(azurite.accountKey)
  })

  it('adds an Azure Blob source through the form and lists it', async () => {
    await page.goto(`${base}/#/agents/${agentId}`)
    await inbound().getByRole('button', { name: 'Add source' }).click()
    const form = page.getByRole('form', { name: 'New inbound source' })
    await form.getByLabel('Name', { exact: true }).fill('azure drops')
    await form.getByLabel('Type').selectOption('azure_blob')
    await form.getByLabel('Container').fill('inventory')
    await form.getByLabel('Prefix').fill('daily/')
    await form.getByLabel('Credentials (Azure secret)').selectOption({ label: 'azurite' })
    await form.getByLabel('Endpoint').fill(azurite.endpoint)
    await form.getByRole('button', { name: 'Save source' }).click()
    await form.waitFor({ state: 'detached' })
    await inbound().getByRole('heading', { name: 'azure drops' }).waitFor()
    const source = await sourceNamed('azure drops')
    expect(source.config).toMatchObject({ container: 'inventory', prefix: 'daily/', endpoint: azurite.endpoint })
    await card(source.id).getByText('inventory/daily/').waitFor()
    await passesTest(source.id)
    expect(await page.content()).not.toContain(azurite.accountKey)
  })

  it('adds an HTTPS file source through the form and lists it', async () => {
    await inbound().getByRole('button', { name: 'Add source' }).click()
    const form = page.getByRole('form', { name: 'New inbound source' })
    await form.getByLabel('Name', { exact: true }).fill('supplier feed')
    await form.getByLabel('Type').selectOption('https')
    await form.getByLabel('URL').fill(`${origin}/feeds/missing.csv`)
    await form.getByRole('button', { name: 'Save source' }).click()
    // the save-time ping's answer, next to the URL
    const error = form.locator('[data-error-for="config.url"]')
    await expect.poll(() => error.textContent()).toMatch(/404 Not Found/)
    await form.getByLabel('URL').fill(`${origin}/feeds/stock.csv`)
    await form.getByRole('button', { name: 'Save source' }).click()
    await form.waitFor({ state: 'detached' })
    await inbound().getByRole('heading', { name: 'supplier feed' }).waitFor()
    const source = await sourceNamed('supplier feed')
    expect(source.config).toMatchObject({ url: `${origin}/feeds/stock.csv` })
    await card(source.id).getByText(`${origin}/feeds/stock.csv`).waitFor()
    await passesTest(source.id)
    await browser.screenshot(page, 'sources-azure-https-1280')
  })
})
