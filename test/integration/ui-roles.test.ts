import type { Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { ADMIN_KEY, createTestApp, type TestApp } from '../helpers/app.js'
import { type BrowserSession, describeInChromium, ensureWebBuild, openUi, signIn } from '../helpers/browser.js'

// The UI with keys of different roles, in Chromium against the real server (docs/security.md,
// "API keys and roles"). Like test/integration/ui.test.ts it runs once, on PGlite.
describeInChromium('web UI by role, in Chromium', () => {
  let t: TestApp
  let browser: BrowserSession
  let page: Page
  let base: string
  let agentId: string
  let viewerKey: string

  beforeAll(async () => {
    ensureWebBuild()
    t = await createTestApp({ env: { FERRY_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8,::1/128' } })
    const value = { accessKeyId: 'AKIAUIROLES', secretAccessKey: 'ui-roles-secret-value-0000' }
    const secret = await t.api('POST', '/api/v1/secrets', { body: { name: 'store', type: 'aws', value } })
    expect(secret.statusCode, secret.body).toBe(201)
    agentId = (await t.api('POST', '/api/v1/agents', { body: { name: 'acme' } })).json().id
    const source = await t.api('POST', `/api/v1/agents/${agentId}/data-sources`, {
      body: {
        name: 'daily drops', role: 'INVENTORY_SOURCE', type: 's3', validate: false,
        config: { bucket: 'acme-inventory', prefix: 'p/', region: 'us-east-1', secretRef: secret.json().id },
      },
    })
    expect(source.statusCode, source.body).toBe(201)
    const channel = await t.api('POST', `/api/v1/agents/${agentId}/channels`, { body: { type: 'webhook', config: { url: 'http://127.0.0.1:9/hook' } } })
    expect(channel.statusCode, channel.body).toBe(201)
    viewerKey = (await t.api('POST', '/api/v1/api-keys', { body: { name: 'dashboard', role: 'viewer' } })).json().apiKey
    ;({ base, browser, page } = await openUi(t.app, { viewport: { width: 1280, height: 800 } }))
  })

  afterAll(async () => {
    await browser?.close()
    await t?.close()
  })

  const idle = () => page.locator('.state-loading').first().waitFor({ state: 'detached' })
  const buttons = async () => page.locator('main button, main a.btn').allTextContents()

  it('a viewer sees every page and no button that would change something', async () => {
    await signIn(page, base, viewerKey)
    await page.locator('[data-role="viewer"]').waitFor()
    await page.getByRole('link', { name: 'acme' }).waitFor()
    expect(await page.getByRole('link', { name: 'New agent' }).count()).toBe(0)
    expect(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log' }).count()).toBe(0)

    await page.getByRole('link', { name: 'acme' }).click()
    await page.getByRole('heading', { name: 'daily drops' }).waitFor()
    await idle()
    const onSources = await buttons()
    for (const label of ['Add source', 'Add sink', 'Test', 'Pull now', 'Delete']) expect(onSources, label).not.toContain(label)
    for (const s of await page.getByRole('switch').all()) expect(await s.isDisabled()).toBe(true)
    await browser.screenshot(page, 'roles-viewer-sources-1280')

    await page.getByRole('navigation', { name: 'Agent sections' }).getByRole('link', { name: 'Channels', exact: true }).click()
    await page.getByText('127.0.0.1:9').first().waitFor()
    const onChannels = await buttons()
    for (const label of ['Add channel', 'Test', 'Delete']) expect(onChannels, label).not.toContain(label)

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Secrets' }).click()
    await page.getByRole('cell', { name: 'store' }).waitFor()
    expect(await buttons()).not.toContain('New secret')
    expect(await buttons()).not.toContain('Delete')

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API keys' }).click()
    await page.getByRole('cell', { name: /dashboard/ }).waitFor()
    expect(await buttons()).not.toContain('New API key')
    expect(await buttons()).not.toContain('Revoke')
    // a key's last characters are for admins only
    expect(await page.locator('main code').count()).toBe(0)

    // the audit log by address: the server refuses the viewer, and the page says so
    await page.goto(`${base}/#/audit-log`)
    await expect.poll(() => page.locator('[data-error-code]').getAttribute('data-error-code')).toBe('FORBIDDEN_ROLE')
    expect(browser.problems).toEqual([])
  })

  it('an admin creates a key with a role and an expiry, sees it once, revokes it, and finds both in the audit log', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click()
    await signIn(page, base, ADMIN_KEY)
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API keys' }).click()
    await page.getByRole('button', { name: 'New API key' }).click()
    await page.getByLabel('Name').fill('night shift')
    await page.getByLabel('Role').selectOption('operator')
    await page.getByLabel('Expires').selectOption('7')
    await page.getByRole('button', { name: 'Create key' }).click()
    const shown = page.getByLabel('New API key', { exact: true })
    await shown.waitFor()
    const plaintext = await shown.inputValue()
    expect(plaintext).toMatch(/^fy_/)
    const row = page.getByRole('row', { name: /night shift/ })
    await row.waitFor()
    expect(await row.textContent()).toContain('operator')
    await browser.screenshot(page, 'roles-api-keys-created-1280')
    await page.getByRole('button', { name: 'I have stored it — hide it' }).click()
    expect(await page.content()).not.toContain(plaintext)

    // the new key works with the operator role until it is revoked
    const me = (await t.api('GET', '/api/v1/me', { key: plaintext })).json()
    expect(me.apiKey).toMatchObject({ name: 'night shift', role: 'operator', expiresAt: expect.any(String) })
    await page.getByRole('button', { name: 'Revoke API key night shift' }).click()
    await page.getByRole('button', { name: 'Revoke key' }).click()
    await row.waitFor({ state: 'detached' })
    expect((await t.api('GET', '/api/v1/agents', { key: plaintext })).statusCode).toBe(401)

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log' }).click()
    await page.getByRole('heading', { name: 'Audit log' }).waitFor()
    await idle()
    const rows = await page.locator('main tbody tr').allTextContents()
    expect(rows[0]).toMatch(/revoke.*api_key/)
    expect(rows[1]).toMatch(/create.*api_key/)
    expect(rows.join('\n')).not.toContain('ui-roles-secret-value-0000')
    await browser.screenshot(page, 'roles-audit-log-1280')
    expect(browser.problems).toEqual([])
  })
})
