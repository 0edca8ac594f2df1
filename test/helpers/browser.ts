import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { describe, it } from 'vitest'

/**
 * Headless Chromium for the UI tests: Debian's package (`apt-get install -y chromium`; .ci/run
 * installs it), driven by playwright-core. Never a downloaded browser.
 */
export const CHROMIUM_PATH = process.env.FERRY_CHROMIUM_PATH ?? '/usr/bin/chromium'

export const chromiumAvailable = (): boolean => fs.existsSync(CHROMIUM_PATH)

export const CHROMIUM_MISSING = `${CHROMIUM_PATH} not found. Install it with "apt-get install -y chromium" (.ci/run does).`

/**
 * describe() for a UI test: it runs once, on PGlite (the UI does not care which backend), where
 * Debian's Chromium is installed. In CI a missing Chromium is a failure, never a silent skip.
 */
export function describeInChromium (name: string, body: () => void): void {
  const onPostgres = process.env.FERRY_TEST_DB === 'postgres'
  const haveChromium = chromiumAvailable()
  describe.runIf(!onPostgres && !haveChromium && process.env.CI === 'true')(name, () => {
    it('needs Debian\'s Chromium in CI', () => { throw new Error(CHROMIUM_MISSING) })
  })
  describe.skipIf(onPostgres || !haveChromium)(haveChromium ? name : `${name} — SKIPPED: ${CHROMIUM_MISSING}`, body)
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** Server modules the UI imports (plain data): a change to one rebuilds the UI too. */
const WEB_IMPORTS_FROM_SRC = ['src/formats/catalogue.ts']

/** Builds the UI when dist/web is missing or older than a file under web/ or one the UI imports from src/. */
export function ensureWebBuild (): void {
  const index = path.join(ROOT, 'dist/web/index.html')
  const newest = (dir: string): number => fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter(e => e.isFile())
    .reduce((max, e) => Math.max(max, fs.statSync(path.join(e.parentPath, e.name)).mtimeMs), 0)
  const sources = Math.max(newest(path.join(ROOT, 'web')), ...WEB_IMPORTS_FROM_SRC.map(f => fs.statSync(path.join(ROOT, f)).mtimeMs))
  if (fs.existsSync(index) && fs.statSync(index).mtimeMs >= sources) return
  execFileSync('npm', ['run', '--silent', 'build:web'], { cwd: ROOT, stdio: 'pipe', timeout: 120_000 })
}

/** Serves the app on a free loopback port for the browser; returns its base URL. */
export async function listenOnLoopback (app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (!address || typeof address === 'string') throw new Error('server did not listen on a TCP port')
  return `http://127.0.0.1:${address.port}`
}

export interface Ui {
  /** the app's base URL on loopback */
  base: string
  browser: BrowserSession
  page: Page
}

/** Serves `app` on loopback and opens it in a fresh Chromium at `viewport`, signed in with `key` when given. */
export async function openUi (app: FastifyInstance, { viewport, key }: { viewport: { width: number, height: number }, key?: string }): Promise<Ui> {
  const base = await listenOnLoopback(app)
  const browser = await launchBrowser()
  const page = await browser.newPage(viewport)
  if (key) await signIn(page, base, key)
  return { base, browser, page }
}

/** Opens the UI and signs in with `key`; resolves once the agents list is shown. */
export async function signIn (page: Page, base: string, key: string): Promise<void> {
  await page.goto(`${base}/`)
  await page.getByLabel('API key').fill(key)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('heading', { name: 'Agents', level: 1 }).waitFor()
}

/** Screenshots land here (git-ignored via test-output/). */
export const SCREENSHOT_DIR = fileURLToPath(new URL('../../test-output/screenshots', import.meta.url))

export interface BrowserSession {
  context: BrowserContext
  /** a page at the given viewport; uncaught page errors and CSP violations are collected in `problems` */
  newPage (viewport?: { width: number, height: number }): Promise<Page>
  /** what went wrong in any page: uncaught exceptions, console errors other than failed fetches */
  problems: string[]
  /** PNG into test-output/screenshots/<name>.png (full page unless `fullPage: false`, e.g. for dialogs); returns the path */
  screenshot (page: Page, name: string, options?: { fullPage?: boolean }): Promise<string>
  close (): Promise<void>
}

export async function launchBrowser (): Promise<BrowserSession> {
  // a fresh profile per run: no state leaks between runs (sessionStorage, cache, service workers)
  const userDataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ferry-chromium-'))
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    viewport: { width: 1280, height: 800 },
    locale: 'en-GB',
    timezoneId: 'UTC',
    timeout: 30_000,
  })
  const problems: string[] = []
  await fsp.mkdir(SCREENSHOT_DIR, { recursive: true })

  const watch = (page: Page) => {
    page.on('pageerror', err => problems.push(`pageerror: ${err.message}`))
    page.on('console', msg => {
      if (msg.type() !== 'error') return
      const text = msg.text()
      // a 4xx answer to fetch() is logged by Chromium as "Failed to load resource"; the UI handles those
      if (text.startsWith('Failed to load resource')) return
      problems.push(`console.error: ${text}`)
    })
  }
  context.on('page', watch)
  for (const page of context.pages()) watch(page)

  return {
    context,
    problems,
    async newPage (viewport = { width: 1280, height: 800 }) {
      const existing = context.pages().find(p => p.url() === 'about:blank')
      const page = existing ?? await context.newPage()
      await page.setViewportSize(viewport)
      return page
    },
    async screenshot (page, name, options = {}) {
      const file = path.join(SCREENSHOT_DIR, `${name}.png`)
      await page.screenshot({ path: file, fullPage: options.fullPage ?? true })
      return file
    },
    async close () {
      await context.close().catch(() => {})
      await fsp.rm(userDataDir, { recursive: true, force: true }).catch(() => {})
    },
  }
}
