import { gunzipSync, constants as zlib } from 'node:zlib'
import type { Deps } from '../deps.js'
import { ledgerContains, ledgerId, recordTestResult } from '../db/sql/sources.js'
import { recordAudit, type Actor } from '../audit/audit.js'
import { compilePattern, normalisePrefix, type DataSource, type OutboundWebhookConfig, type S3Config } from '../domain/source.js'
import { AppError } from '../errors.js'
import { detectFormat, SNIFF_BYTES } from '../formats/detect.js'
import { isZipMagic } from '../formats/zip.js'
import { resolveAllowed } from '../net/guarded-lookup.js'
import { guardedRequest } from '../net/guarded-http.js'
import { withS3Transport } from '../sources/s3-access.js'
import { resultKey } from '../push/targets.js'
import type { ResultFormat } from '../results/format.js'
import type { RemoteFile } from '../connectors/remote-file.js'
import { testInboundWebhook } from '../inbound/check.js'
import { Checklist, type TestResult } from './checklist.js'

/**
 * POST …/test: a read-only smoke check. No sync record, no ledger change; the only download is the
 * first 64 KiB of the newest matching file, to recognise its format.
 */
export async function testSource (deps: Deps, source: DataSource, extraChecks?: (list: Checklist) => Promise<void>, actor?: Actor): Promise<TestResult> {
  const list = new Checklist()
  if (source.type === 's3') await testS3(deps, source, list)
  else if (source.role === 'INVENTORY_SOURCE') await testInboundWebhook(deps, source, list)
  else if (source.role === 'RESULTS_SINK') await testOutboundWebhook(deps, source, list)
  if (extraChecks) await extraChecks(list)
  const result = list.result()
  await deps.db.transaction(async (tx) => {
    await recordTestResult(tx, source.id, result.ok)
    const changes = { lastTestOk: { before: source.lastTestOk, after: result.ok } }
    if (actor) await recordAudit(tx, actor, { action: 'test', resourceType: 'data_source', resourceId: source.id, changes })
  })
  return result
}

async function testS3 (deps: Deps, source: DataSource, list: Checklist): Promise<void> {
  const config = source.config as S3Config
  await list.step('secret', async () => {
    await deps.vault.withSecret(deps.db, source.orgId, config.secretRef, 'aws', async () => {})
    return { message: 'The AWS secret resolves.' }
  })
  if (config.endpoint) {
    await list.step('endpoint', async () => {
      const host = new URL(config.endpoint!).hostname.replace(/^\[|\]$/g, '')
      const addresses = await resolveAllowed(host, deps.policy)
      return { message: `${host} resolves to an allowed address (${addresses.map(a => a.address).join(', ')}).` }
    })
  }
  if (list.failed) return
  await withS3Transport(deps, source.orgId, config, async (transport) => {
    const ping = async () => {
      try { await transport.ping(); return null } catch (err) { return err as AppError }
    }
    const pingError = await ping()
    const reason = pingError?.details?.reason as string | undefined
    const credentialReasons = new Set(['unknown_key_id', 'signature_mismatch', 'expired_token'])
    await list.step('credentials', async () => {
      const unreachable = reason === 'endpoint_refused' || reason === 'endpoint_unreachable' || reason === 'timeout'
      if (pingError && (credentialReasons.has(reason ?? '') || unreachable)) throw pingError
      return { message: 'The credentials were accepted.' }
    })
    await list.step('bucket', async () => {
      if (pingError) throw pingError
      return { message: `Bucket "${config.bucket}" is reachable in region ${config.region}.` }
    })
    if (source.role === 'RESULTS_SINK') {
      await list.step('prefix', async () => {
        const example = resultKey(config.prefix, '<jobId>', (config.format ?? 'csv') as ResultFormat)
        return { message: `Prefix "${normalisePrefix(config.prefix)}" can be listed; results are written as ${example}.` }
      })
      return
    }
    const prefix = normalisePrefix(config.prefix)
    const matches = compilePattern(config.pattern)
    const newest = await list.step<RemoteFile | null>('prefix', async () => {
      let total = 0
      let matching = 0
      let fresh = 0
      let newestFile: RemoteFile | null = null
      for await (const page of transport.listPages()) {
        const candidates = page.filter(f => !f.key.endsWith('/') && f.size > 0 && matches(f.key.slice(prefix.length)))
        total += page.length
        matching += candidates.length
        const known = await ledgerContains(deps.db, source.id, candidates)
        fresh += candidates.filter(f => !known.has(ledgerId(f))).length
        for (const f of candidates) if (!newestFile || (f.lastModified?.getTime() ?? 0) > (newestFile.lastModified?.getTime() ?? 0)) newestFile = f
      }
      return {
        message: `Prefix "${prefix}" lists ${total} object${total === 1 ? '' : 's'}, ${matching} matching, ${fresh} new (not yet pulled).`,
        value: newestFile,
      }
    })
    if (list.failed) return
    await list.step('format', async () => {
      if (!newest) return { message: 'No matching file yet: nothing to recognise.' }
      let head = await transport.head(newest, SNIFF_BYTES)
      const gz = head[0] === 0x1f && head[1] === 0x8b
      if (gz) head = gunzipSync(head, { finishFlush: zlib.Z_SYNC_FLUSH })
      // a zip is an archive of files unless it is named as a workbook (the pull decides the same way: pipeline/ingest.ts)
      if (newest.key.toLowerCase().endsWith('.zip') || (!config.format && isZipMagic(head) && !/\.(xlsx|xlsm)$/i.test(newest.key))) {
        return { message: `The newest matching file, ${newest.key}, is a zip archive: each file in it in a supported format is read.` }
      }
      const format = detectFormat({ head, complete: !gz && newest.size <= SNIFF_BYTES, fileName: newest.key, format: config.format })
      return { message: `The newest matching file, ${newest.key}, is recognised as ${format.toUpperCase()}${gz ? ' (gzip)' : ''}.` }
    })
  })
}

async function testOutboundWebhook (deps: Deps, source: DataSource, list: Checklist): Promise<void> {
  const config = source.config as OutboundWebhookConfig
  const url = new URL(config.url)
  const host = url.hostname.replace(/^\[|\]$/g, '')
  const refs = [
    config.secretRef && { id: config.secretRef, type: 'webhook' as const },
    config.headerSecretRef && { id: config.headerSecretRef, type: 'http_header' as const },
  ]
  for (const ref of refs) {
    if (!ref) continue
    await list.step(ref.type === 'webhook' ? 'signing secret' : 'header secret', async () => {
      await deps.vault.withSecret(deps.db, source.orgId, ref.id, ref.type, async () => {})
      return { message: `The ${ref.type === 'webhook' ? 'signing' : 'header'} secret resolves.` }
    })
  }
  const addresses = await list.step('dns', async () => {
    const resolved = await resolveAllowed(host, deps.policy)
    return { message: `${host} resolves to ${resolved.map(a => a.address).join(', ')}.`, value: resolved }
  })
  if (!addresses) return
  await list.step('address', async () => ({ message: 'Every resolved address is allowed (not private, loopback or metadata).' }))
  await list.step('options', async () => {
    const res = await guardedRequest(config.url, { policy: deps.policy, method: 'OPTIONS', timeoutMs: deps.config.targetTimeoutMs, maxResponseBytes: 4096 })
    if (res.status >= 300 && res.status < 400) {
      throw new AppError('DELIVERY_FAILED', `OPTIONS answered ${res.status}, a redirect; Ferry does not follow redirects: configure the final URL.`)
    }
    if (res.status >= 500) throw new AppError('DELIVERY_FAILED', `OPTIONS answered ${res.status}: the receiver is failing.`)
    const tls = url.protocol === 'https:' ? ' over verified TLS' : ' (plain http: consider https)'
    return { message: `OPTIONS ${url.origin}${url.pathname} answered ${res.status} in ${res.durationMs} ms${tls}.` }
  })
}
