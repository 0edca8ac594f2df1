import fs from 'node:fs'
import type { IncomingHttpHeaders } from 'node:http'
import { Readable } from 'node:stream'
import type { Deps } from '../deps.js'
import { getAgent, type Agent } from '../db/sql/agents.js'
import { findDelivery, insertDelivery, purgeDeliveries } from '../db/sql/inbound.js'
import { getSourceById, setLastSyncedAt } from '../db/sql/sources.js'
import { appendManifest, finishSync, getSyncById, insertSync, type ManifestEntry, type Sync } from '../db/sql/syncs.js'
import { importOptionsOf, type DataSource } from '../domain/source.js'
import type { InboundWebhookConfig } from '../kinds/webhook/config.js'
import { mergeParseSettings } from '../formats/parse-options.js'
import { parseOverride } from '../schemas/parse.js'
import { isProblem, manifestEntriesOf } from '../sync/file-entries.js'
import { AppError, ERRORS, isAppError, type ErrorCode } from '../errors.js'
import { newId } from '../util/ids.js'
import { readContentType, sanitiseFileName, type InboundContent } from './content.js'
import type { InboundLimits } from './limits.js'
import { LIBRARY_CHECK_MAX_BYTES, SignatureVerifier, readSignatureHeaders, signingKey, verifyWithLibrary, type SignatureHeaders } from './signature.js'
import { processTempDir, spoolBody, type Spooled } from './spool.js'

/** webhook-ids are remembered at least this long (a sender's retries span ~3 days at most). */
export const DELIVERY_RETENTION_DAYS = 7

export interface InboundRequest {
  sourceId: string
  headers: IncomingHttpHeaders
  /** the raw request body, not yet read */
  body: Readable | undefined
  /** the organisation of an API key sent along, if any: the source must then be one of its own */
  callerOrgId?: string
  /** the client's address: unverified attempts are limited per source and address */
  clientAddress: string
}

/** The 2xx answer to a delivery (a new one or a replay of an accepted one). */
export interface InboundAnswer {
  syncId: string | null
  status: Sync['status'] | null
  duplicate: boolean
  uploadId: string | null
  fileName: string | null
  format: string | null
  bytes: number
  rowsAccepted: number
  rowsRejected: number
  errors: Array<{ row?: number, message: string }>
  /** the delivery's manifest entries (one per member of a zip archive) */
  files: ManifestEntry[]
}

/** The one refusal for every source that cannot receive: unknown, disabled, another org's, not an inbound webhook. */
export const notFound = (): AppError => new AppError('NOT_FOUND')

/**
 * POST /api/v1/inbound/{sourceId} (docs/inbound-webhooks.md). Checks run cheapest first and all
 * but the last before any body byte is read:
 *   429 this address failed too often for this source → 413 by Content-Length → 415 content type →
 *   401 signature headers and timestamp window → 404 source (unknown, disabled, another
 *   organisation's, not an inbound webhook: one answer) → 429 the source's verified deliveries of
 *   this minute are used up → body streamed to a temp file while its HMAC is computed (413 as soon
 *   as it crosses the limit) → 401 signature → counted toward the source's limit → replayed
 *   webhook-id: the original sync → otherwise one transaction: the sync, the webhook-id claim, the
 *   file through the inventory pipeline, the manifest entry.
 * Every 401 counts against the address's unverified budget, never against the source's.
 */
export async function receiveInbound (deps: Deps, request: InboundRequest, limits: InboundLimits): Promise<InboundAnswer> {
  limits.checkUnverified(request.sourceId, request.clientAddress)
  try {
    return await receive(deps, request, limits)
  } catch (err) {
    if (isAppError(err) && err.code === 'WEBHOOK_SIGNATURE_INVALID') limits.recordFailure(request.sourceId, request.clientAddress)
    throw err
  }
}

async function receive (deps: Deps, request: InboundRequest, limits: InboundLimits): Promise<InboundAnswer> {
  const { config, db } = deps
  const declared = Number(request.headers['content-length'])
  if (Number.isFinite(declared) && declared > config.inboundMaxBytes) {
    throw new AppError('PAYLOAD_TOO_LARGE',
      `The body (${declared} bytes) exceeds the limit of ${config.inboundMaxBytes} bytes (FERRY_INBOUND_MAX_BYTES); ` +
      'split the file or send it through an S3 source.',
      { details: { limitBytes: config.inboundMaxBytes } })
  }
  const content = readContentType(request.headers)
  const signature = readSignatureHeaders(request.headers)
  const parseHeader = request.headers['x-ferry-parse']
  const parse = parseOverride(Array.isArray(parseHeader) ? parseHeader[0] : parseHeader, 'X-Ferry-Parse')

  const source = await getSourceById(db, request.sourceId)
  if (!source || source.type !== 'webhook' || source.role !== 'INVENTORY_SOURCE' || !source.enabled ||
    (request.callerOrgId !== undefined && source.orgId !== request.callerOrgId)) throw notFound()
  const agent = await getAgent(db, source.orgId, source.agentId)
  if (!agent) throw notFound()

  limits.checkVerified(source.id)
  const leave = limits.enter(source.id)
  try {
    return await receiveBody(deps, request, limits, { source, agent, signature, content, parse })
  } finally {
    leave()
  }
}

async function receiveBody (deps: Deps, request: InboundRequest, limits: InboundLimits,
  d: { source: DataSource, agent: Agent, signature: SignatureHeaders, content: InboundContent, parse?: Record<string, unknown> }): Promise<InboundAnswer> {
  const { source, agent, signature, content, parse } = d
  const original = await findDelivery(deps.db, source.id, signature.id)
  // a replay is verified like any delivery (its answer names a sync), but its bytes are not kept
  const spooled = await verifyBody(deps, source, signature, request.body ?? Readable.from([]), !original)
  try {
    limits.recordVerified(source.id)
    if (original) return await answerReplay(deps, original.syncId)
    const fileName = sanitiseFileName(request.headers['x-file-name'], content.fallbackName)
    const { sync, duplicate } = await ingestDelivery(deps, { source, agent, signature, content, fileName, spooled, parse })
    if (duplicate) return await answerReplay(deps, sync?.id ?? null)
    deps.metrics.syncs.inc({ direction: 'inbound', trigger: 'webhook', status: sync!.status })
    deps.logger.info({
      sourceId: source.id,
      webhookId: signature.id,
      syncId: sync!.id,
      status: sync!.status,
      bytes: spooled.bytes,
      rowsAccepted: sync!.rowsAccepted,
      rowsRejected: sync!.rowsRejected,
    }, 'inbound delivery received')
    // after the commit, in its own statement: the delivery is in either way; a failed purge is retried by the next one
    await purgeDeliveries(deps.db, source.id, DELIVERY_RETENTION_DAYS)
      .catch((err) => deps.logger.warn({ err, sourceId: source.id }, 'could not purge old inbound webhook-ids'))
    return answerFor(sync!, false)
  } finally {
    await spooled.remove()
  }
}

/**
 * Streams the body past the HMAC (and to a temp file when `keep`), then compares signatures. The
 * signing secret is decrypted for this call only; the HMAC key is wiped once the Hmac holds it.
 * During a rotation overlap the body goes past one HMAC per signing secret (the current one and
 * the one it replaced) and either may match (docs/security.md "Rotation overlap").
 */
async function verifyBody (deps: Deps, source: DataSource, signature: SignatureHeaders, body: Readable, keep: boolean): Promise<Spooled> {
  const secretRef = (source.config as InboundWebhookConfig).secretRef
  return deps.vault.withSigningSecrets(deps.db, source.orgId, secretRef, async (secrets) => {
    const verifiers = secrets.map((secret) => {
      const key = signingKey(secret.reveal())
      const verifier = new SignatureVerifier(key, signature)
      key.fill(0)
      return { signingSecret: secret.reveal(), verifier }
    })
    const spooled = await spoolBody(body, {
      dir: processTempDir(deps.config.dataDir),
      idleTimeoutMs: deps.config.inboundBodyIdleTimeoutMs,
      maxBytes: deps.config.inboundMaxBytes,
      onChunk: chunk => { for (const v of verifiers) v.verifier.update(chunk) },
      toFile: keep,
      keepUpTo: LIBRARY_CHECK_MAX_BYTES,
      signal: deps.signal,
    })
    // every verifier is finished (no early exit): which secret matched is not told by the timing
    const results = verifiers.map(v => ({ ...v, matches: v.verifier.matches() }))
    const matched = results.find(r => r.matches)
    const library = matched ? verifyWithLibrary(matched.signingSecret, spooled.kept, signature) : null
    if (matched && library === false) {
      // should not happen: the two implementations disagree. Refuse, and leave a trace to investigate.
      deps.logger.warn({ sourceId: source.id, webhookId: signature.id },
        'inbound signature: the raw-byte HMAC matched but the standardwebhooks library refused')
    }
    if (!matched || library === false) {
      await spooled.remove()
      throw new AppError('WEBHOOK_SIGNATURE_INVALID', 'No signature in the webhook-signature header matches the body signed with this source\'s secret.')
    }
    if (matched !== results[0]) {
      deps.logger.info({ sourceId: source.id, webhookId: signature.id }, 'inbound delivery signed with the previous signing secret (rotation overlap)')
    }
    return spooled
  })
}

/** Thrown inside the delivery's transaction when its webhook-id turned out to be taken: roll back. */
class DuplicateDelivery extends Error {}

async function ingestDelivery (deps: Deps, d: {
  source: DataSource, agent: Agent, signature: SignatureHeaders, content: InboundContent, fileName: string, spooled: Spooled, parse?: Record<string, unknown>
}): Promise<{ sync: Sync | null, duplicate: boolean }> {
  const { source, agent, signature, content, fileName, spooled } = d
  const options = importOptionsOf(source.config)
  const parse = mergeParseSettings(options.parse, d.parse, 'X-Ferry-Parse')
  try {
    // read (a big file staged in short transactions) first, then published in one transaction with
    // the delivery's sync and its webhook-id; a duplicate that arrived meanwhile finds the id taken
    // there and publishes nothing (the up-front findDelivery answers the common replay without any work)
    const syncId = newId()
    const startedAt = new Date()
    let sync: Sync | null = null
    const stream = fs.createReadStream(spooled.path!)
    try {
      await deps.pipeline.ingestAll(deps.db, {
        orgId: source.orgId,
        agent,
        stream,
        fileName,
        contentType: content.contentType,
        format: options.format,
        parse,
        fieldMap: options.fieldMap,
        sourceId: source.id,
        syncId,
      }, async (tx, outcomes) => {
        await insertSync(tx, { id: syncId, orgId: source.orgId, sourceId: source.id, direction: 'inbound', trigger: 'webhook', startedAt })
        if (!await insertDelivery(tx, { sourceId: source.id, webhookId: signature.id, syncId })) throw new DuplicateDelivery()
        const entries = manifestEntriesOf({ key: fileName, etag: null, size: spooled.bytes, lastModified: null }, outcomes,
          { webhookId: signature.id, contentType: content.mediaType })
        for (const entry of entries) await appendManifest(tx, syncId, entry)
        sync = await finishSync(tx, syncId, deliveryOutcome(entries))
        if (entries.some(e => e.status === 'ingested')) await setLastSyncedAt(tx, source.id, startedAt)
      })
    } finally {
      stream.destroy()
    }
    return { sync, duplicate: false }
  } catch (err) {
    if (!(err instanceof DuplicateDelivery)) throw err
    const taken = await findDelivery(deps.db, source.id, signature.id)
    return { sync: taken?.syncId ? await getSyncById(deps.db, taken.syncId) : null, duplicate: true }
  }
}

/** Codes of a file that was read but landed nothing usable: the delivery arrived, the sync is partial (docs/formats.md). */
const READ_BUT_EMPTY = new Set(['NO_ROWS', 'NO_SKU_COLUMN'])

/**
 * A delivery's sync status: succeeded when every file landed; failed when nothing landed because the
 * file could not be read at all (its code is the sync's error); partial otherwise — some member of an
 * archive was refused, or the file was read but yielded no rows or no sku column.
 */
function deliveryOutcome (entries: ManifestEntry[]): { status: 'succeeded' | 'partial' | 'failed', error?: Sync['error'] } {
  if (!entries.some(isProblem)) return { status: 'succeeded' }
  const refused = entries.filter(e => e.status === 'rejected')
  const unreadable = refused.filter(e => !READ_BUT_EMPTY.has(String(e.code)))
  if (!entries.some(e => e.status === 'ingested') && refused.length > 0 && unreadable.length === refused.length) {
    const first = unreadable[0]
    const message = String(first.reason ?? 'The file was rejected.').replace(/^[A-Z_]+: /, '')
    return { status: 'failed', error: { code: String(first.code ?? 'PARSE_FAILED'), message } }
  }
  return { status: 'partial' }
}

async function answerReplay (deps: Deps, syncId: string | null): Promise<InboundAnswer> {
  const sync = syncId ? await getSyncById(deps.db, syncId) : null
  if (!sync) {
    // the webhook-id is known but its sync was deleted since: still nothing is ingested twice
    return {
      syncId: null, status: null, duplicate: true, uploadId: null, fileName: null, format: null,
      bytes: 0, rowsAccepted: 0, rowsRejected: 0, errors: [], files: [],
    }
  }
  return answerFor(sync, true)
}

/**
 * A delivery whose file landed answers 200 with its counts (rejected rows included); one whose
 * file was refused whole answers with that refusal's code (422 mostly) and the sync's id. A replay
 * answers as the original did, with `duplicate: true`.
 */
function answerFor (sync: Sync, duplicate: boolean): InboundAnswer {
  const landed = sync.manifest.filter(e => e.status === 'ingested')
  const entry = landed[0] ?? sync.manifest[0]
  if (sync.status === 'failed' || (landed.length === 0 && entry?.status === 'rejected')) {
    // nothing landed: the refusal's code (a partial sync's file that had no rows or no sku column included)
    const raw = sync.status === 'failed' ? sync.error?.code : String(entry?.code ?? '')
    const code = (raw && raw in ERRORS ? raw : 'PARSE_FAILED') as ErrorCode
    const message = sync.status === 'failed' ? sync.error?.message : String(entry?.reason ?? '').replace(/^[A-Z_]+: /, '')
    throw new AppError(code, message, {
      details: { syncId: sync.id, uploadId: entry?.uploadId ?? null, status: sync.status, duplicate },
    })
  }
  return {
    syncId: sync.id,
    status: sync.status,
    duplicate,
    uploadId: entry?.uploadId ?? null,
    fileName: entry?.key ?? null,
    format: entry?.format ?? null,
    bytes: sync.bytes,
    rowsAccepted: sync.rowsAccepted,
    rowsRejected: sync.rowsRejected,
    errors: sync.manifest.flatMap(e => e.errors ?? []).slice(0, 100),
    files: sync.manifest,
  }
}
