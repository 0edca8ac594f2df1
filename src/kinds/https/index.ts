import type { DataSource } from '../../domain/source.js'
import type { Deps } from '../../deps.js'
import { latestLedgerEntry } from '../../db/sql/sources.js'
import { AppError, isAppError } from '../../errors.js'
import { processTempDir } from '../../inbound/spool.js'
import { assertTargetUrl } from '../../net/guarded-http.js'
import { parseSecretValue } from '../../vault/vault.js'
import type { Checklist } from '../checklist.js'
import { checkFiles } from '../file-checks.js'
import type { FileLocation, InventoryRole, KindDeps, KindDescriptor, PullContext, SecretOverride } from '../types.js'
import { HttpsConfig } from './config.js'
import { HttpsTransport, type HttpsHeader } from './transport.js'
import { checkHostAllowed, checkSecretResolves, hostOfUrl } from '../target-checks.js'

/** The URL as messages show it: no query (a supplier's token may sit there) or fragment. */
function shown (url: string): string {
  try {
    const u = new URL(url)
    return `${u.origin}${u.pathname}`
  } catch {
    return 'the URL'
  }
}

function normalise (config: HttpsConfig, deps: Pick<Deps, 'policy'>): HttpsConfig {
  try {
    assertTargetUrl(config.url, deps.policy)
  } catch (err) {
    if (isAppError(err)) {
      throw new AppError('SOURCE_VALIDATION_FAILED', `The URL ${shown(config.url)} is refused: ${err.message}`, {
        details: { field: 'config.url', reason: 'url_refused' },
      })
    }
    throw err
  }
  return config
}

/**
 * Runs `fn` with a transport for the URL. The header secret is decrypted for this call only (or
 * taken from `override`); a pull sends back the newest ledgered validator of the URL, so an
 * unchanged file answers 304 and is not downloaded. `close()` deletes the spooled body.
 */
async function withHttpsTransport<T> (
  deps: KindDeps, orgId: string, config: HttpsConfig, fn: (transport: HttpsTransport) => Promise<T>, override?: SecretOverride, pull?: PullContext,
): Promise<T> {
  const run = async (header: HttpsHeader | undefined): Promise<T> => {
    const previous = pull !== undefined ? await latestLedgerEntry(deps.db, pull.sourceId, config.url) : null
    const transport = new HttpsTransport({
      url: config.url,
      ...(header !== undefined ? { header } : {}),
      ...(previous !== null ? { previous } : {}),
      policy: deps.policy,
      timeoutMs: deps.config.targetTimeoutMs,
      maxBytes: deps.config.limits.maxFileBytes,
      tempDir: processTempDir(deps.config.dataDir),
    })
    try {
      return await fn(transport)
    } finally {
      await transport.close()
    }
  }
  const ref = config.headerSecretRef
  if (ref === undefined) return await run(undefined)
  if (override?.id === ref) return await run(parseSecretValue('http_header', override.value))
  return await deps.vault.withSecret(deps.db, orgId, ref, 'http_header', async (secret) => await run(secret.reveal()))
}

/** HEAD the URL (or its first byte); a failure → 422 naming the URL, or the header secret when it was refused. */
async function ping (deps: KindDeps, orgId: string, config: HttpsConfig, override?: SecretOverride): Promise<void> {
  try {
    await withHttpsTransport(deps, orgId, config, t => t.ping(), override)
  } catch (err) {
    if (!isAppError(err)) throw err
    if (err.code === 'NOT_FOUND' || err.code === 'SECRET_TYPE_MISMATCH' || err.code === 'VALIDATION_FAILED') throw err
    const reason = (err.details?.reason as string | undefined) ?? err.code.toLowerCase()
    const field = err.code === 'HTTPS_AUTH_FAILED' && config.headerSecretRef !== undefined ? 'config.headerSecretRef' : 'config.url'
    throw new AppError('SOURCE_VALIDATION_FAILED', `Validation failed: ${err.message}`, { details: { ...err.details, field, reason } })
  }
}

/** (header secret resolves) → host allowed → URL answers → the file's format (checkFiles downloads it once, reads its head). */
async function test (deps: Deps, source: DataSource, list: Checklist): Promise<void> {
  const config = source.config as HttpsConfig
  if (config.headerSecretRef !== undefined) {
    await checkSecretResolves(deps, list, 'secret', source.orgId, { id: config.headerSecretRef, type: 'http_header' }, 'The header secret resolves.')
  }
  await checkHostAllowed(deps, list, 'endpoint', hostOfUrl(config.url))
  if (list.failed) return
  await withHttpsTransport(deps, source.orgId, config, async (transport) => {
    await list.step('url', async () => {
      await transport.ping()
      return { message: `${transport.shown} answers.` }
    })
    if (list.failed) return
    await checkFiles(deps, source, location(config), transport, list)
  })
}

/** The one key is the URL; its path names the file (a query string is not part of the name). */
function location (config: HttpsConfig): FileLocation {
  return {
    label: `URL ${shown(config.url)}`,
    noun: 'file',
    relative: (key: string) => key === config.url ? new URL(key).pathname : null,
  }
}

const source: InventoryRole<HttpsConfig> = {
  config: HttpsConfig,
  secrets: [{ field: 'headerSecretRef', secretType: 'http_header', required: false }],
  normalise,
  ping,
  test,
  pulled: true,
}

/** A file at an HTTPS URL (docs/recipes/pull-inventory-from-a-url.md): inventory sources only, conditional GET, an optional http_header secret. */
export const httpsKind: KindDescriptor<HttpsConfig, HttpsConfig> = {
  type: 'https',
  label: 'HTTPS file',
  roles: { INVENTORY_SOURCE: source },
  withTransport: withHttpsTransport,
  errorCodes: ['HTTPS_NOT_FOUND', 'HTTPS_REDIRECT', 'HTTPS_AUTH_FAILED', 'HTTPS_REJECTED', 'HTTPS_ERROR', 'FILE_TOO_LARGE'],
  location,
}
