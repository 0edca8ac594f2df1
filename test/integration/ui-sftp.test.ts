import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { type BrowserSession, chromiumAvailable, ensureWebBuild, launchBrowser, listenOnLoopback, signIn } from '../helpers/browser.js'
import { generateKeyPair, sshdUnavailable, startSshd, type SshdHandle } from '../helpers/sshd.js'

// An SFTP source made through the UI in Chromium against Debian's sshd: the secret form's private
// key textarea, the source form's fields, the save-time host key error next to its field naming
// the presented key, the card, and Test. Like the other UI tests it runs once, on PGlite.
const onPostgres = process.env.FERRY_TEST_DB === 'postgres'

describe.skipIf(onPostgres || !chromiumAvailable() || sshdUnavailable() !== null)('an SFTP source, in Chromium', () => {
  let t: TestApp
  let sshd: SshdHandle
  let browser: BrowserSession
  let page: Page
  let base: string
  let agentId: string
  const key = generateKeyPair('ed25519')

  beforeAll(async () => {
    ensureWebBuild()
    sshd = await startSshd()
    await sshd.authorize(key.publicKey)
    await sshd.write('in/stock.csv', 'sku,name,quantity\nS-1,one,1\n')
    t = await createTestApp({ env: { FERRY_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8,::1/128' } })
    agentId = (await t.api('POST', '/api/v1/agents', { body: { name: 'acme', rules: { autoPull: false } } })).json().id
    base = await listenOnLoopback(t.app)
    browser = await launchBrowser()
    page = await browser.newPage({ width: 1280, height: 800 })
    await signIn(page, base, t.adminKey)
  })
  afterAll(async () => {
    await browser?.close()
    await t?.close()
    await sshd?.stop()
  })

  it('stores an SFTP login with a private key, shown as its fingerprint only', async () => {
    await page.goto(`${base}/#/secrets`)
    await page.getByRole('button', { name: 'New secret' }).click()
    await page.getByLabel('Name').fill('supplier sftp')
    await page.getByLabel('Type').selectOption('sftp')
    await page.getByLabel('User name').fill(sshd.username)
    await page.getByLabel('Private key').fill(key.privateKey)
    await browser.screenshot(page, 'secret-form-sftp-1280')
    await page.getByRole('button', { name: 'Save secret' }).click()
    await page.getByRole('cell', { name: 'supplier sftp', exact: true }).waitFor()
    await page.getByText(`ssh-ed25519 ${key.fingerprint}`).waitFor()
    const html = await page.content()
    for (const line of key.privateKey.split('\n').filter(l => l.length > 20 && !l.startsWith('-----'))) expect(html).not.toContain(line)
  })

  it('adds an SFTP source: an empty host key is answered next to the field with the presented one, then it saves and Tests', async () => {
    await page.goto(`${base}/#/agents/${agentId}`)
    const inbound = page.locator('section', { has: page.getByRole('heading', { name: 'Inbound', exact: true }) })
    await inbound.getByRole('button', { name: 'Add source' }).click()
    const form = page.getByRole('form', { name: 'New inbound source' })
    await form.getByLabel('Name', { exact: true }).fill('supplier feed')
    await form.getByLabel('Type').selectOption('sftp')
    await form.getByLabel('Host', { exact: true }).fill(sshd.host)
    await form.getByLabel('Port').fill(String(sshd.port))
    await form.getByLabel('Path', { exact: true }).fill(`${sshd.root}/in`)
    await form.getByLabel('Credentials (SFTP secret)').selectOption({ label: 'supplier sftp' })
    await form.getByRole('button', { name: 'Save source' }).click()

    const error = form.locator('[data-error-for="config.hostKey"]')
    await expect.poll(() => error.textContent()).toContain(sshd.hostKeyFingerprint)
    await browser.screenshot(page, 'source-form-sftp-hostkey-1280')
    await form.getByLabel('Host key fingerprint').fill(sshd.hostKeyFingerprint)
    await form.getByRole('button', { name: 'Save source' }).click()
    await form.waitFor({ state: 'detached' })
    await inbound.getByRole('heading', { name: 'supplier feed' }).waitFor()

    const [source] = (await t.api('GET', `/api/v1/agents/${agentId}/data-sources`)).json().items
    expect(source).toMatchObject({ type: 'sftp', config: { host: sshd.host, port: sshd.port, path: `${sshd.root}/in`, hostKey: sshd.hostKeyFingerprint } })
    const card = page.locator(`[data-source-id="${source.id}"]`)
    await card.getByText(`sftp://${sshd.host}:${sshd.port}${sshd.root}/in`).waitFor()
    await card.getByText('SFTP source').waitFor()

    await card.getByRole('button', { name: 'Test' }).click()
    const results = card.locator('.test-results')
    await results.getByText('Test passed').waitFor()
    expect(await results.locator('.checks li .check-name').allTextContents())
      .toEqual(['Secret', 'Address allowed', 'Host key', 'Credentials', 'Path', 'Prefix', 'File format'])
    await results.getByText(/recognised as CSV/).waitFor()
    await browser.screenshot(page, 'source-test-sftp-1280')
  })
})
