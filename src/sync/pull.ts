import fs from 'node:fs'
import path from 'node:path'
import type { RemoteFile } from '../connectors/remote-file.js'
import type { Transport } from '../connectors/transport.js'
import type { Deps } from '../deps.js'
import { sourceNotFound } from '../sources/lookup.js'
import { getAgent, type Agent } from '../db/sql/agents.js'
import {
  acquireLease, getSourceById, holdsLease, insertLedgerEntry, ledgerContains, ledgerId, releaseLease, renewLease, setLastSyncedAt,
} from '../db/sql/sources.js'
import {
  anyFileLanded, appendManifest, failOrphanedSyncs, finishSync, getSyncById, insertSync, setSyncProgress, syncStillRunning,
  type ManifestEntry, type Sync, type SyncTrigger,
} from '../db/sql/syncs.js'
import { compilePattern, importOptionsOf, type DataSource } from '../domain/source.js'
import { AppError, coerceError, isAppError, shuttingDown } from '../errors.js'
import { READABLE_EXTENSIONS } from '../formats/catalogue.js'
import { fileNameOf } from '../kinds/file-checks.js'
import { isPulled, kindOf, pulledLabels } from '../kinds/registry.js'
import { processTempDir, spoolBody, type Spooled } from '../inbound/spool.js'
import { newId } from '../util/ids.js'
import { manifestEntriesOf, isProblem } from './file-entries.js'
import { FilePool } from './file-pool.js'
import { PROGRESS_INTERVAL_MS, ProgressWriter } from './progress.js'
import { logFinished } from './signals.js'

export interface PullRequest {
  sourceId: string
  trigger: SyncTrigger
  /** a sync row created by the caller (on-demand pulls answer with its id before the pull runs) */
  syncId?: string
  /** how long to wait for another pull of the source to finish before giving up (ms) */
  leaseWaitMs?: number
  /** the pg-boss job running this pull: recorded on the sync, so the lost-pull sweep can hand it back (src/sync/sweeper.ts) */
  jobId?: string
}

/**
 * Why a listed object is not ingested, or null when it is a candidate.
 * Folder markers, pattern misses, unsupported types and empty objects are recorded once as skipped.
 */
export function skipReason (file: RemoteFile, relativeKey: string, matches: (k: string) => boolean, configuredFormat: boolean): string | null {
  if (file.key.endsWith('/')) return 'folder marker'
  if (!matches(relativeKey)) return 'does not match the pattern'
  if (file.size === 0) return 'empty file'
  // the name below the location: a URL key's query is not part of it (src/kinds/types.ts FileLocation)
  const name = relativeKey.toLowerCase().replace(/\.gz$/, '')
  const ext = path.extname(name)
  // the extensions the pipeline reads (optionally gzipped) are the formats' (src/formats/catalogue.ts)
  if (!configuredFormat && ext !== '' && !READABLE_EXTENSIONS.has(ext.slice(1))) return `unsupported file type "${ext}"`
  return null
}

/**
 * pull_inventory_from_source(sourceId) (docs/architecture.md, "A pull, end to end"):
 * 1. list the prefix (every page); 2. candidates are listed objects not yet in the file ledger under
 *    (sourceId, key, etag) — the ledger is consulted for every listed object, which subsumes the
 *    spec's LastModified lookback window (S3 stamps multipart uploads with their start time, so a
 *    timestamp cursor alone misses files; the ledger never does);
 * 3. each candidate is streamed through the inventory pipeline (a big file staged in short
 *    transactions) and published in one short transaction with its ledger row and manifest entry;
 * 4. the sync records the outcome; lastSyncedAt = start of the last pull whose listing succeeded.
 *
 * Mutual exclusion: a lease on the source row (renewed while the pull runs). Each file's
 * publishing transaction re-checks the lease under a row lock just before commit, so a pull that lost its lease
 * (a stalled worker whose lease expired and was taken over) cannot commit anything.
 */
export async function pullSource (deps: Deps, request: PullRequest): Promise<Sync> {
  const { db, logger } = deps
  const source = await getSourceById(db, request.sourceId)
  if (!source) throw sourceNotFound()
  if (!isPulled(source)) throw new AppError('VALIDATION_FAILED', `Only ${pulledLabels()} inventory sources are pulled.`)
  const agent = await getAgent(db, source.orgId, source.agentId)
  if (!agent) throw new AppError('NOT_FOUND', 'Agent not found.')

  let syncId = request.syncId
  // an on-demand pull cancelled while its job waited in the queue: nothing to do
  const requested = syncId ? await getSyncById(db, syncId) : null
  if (requested?.status === 'cancelled') return requested
  const token = newId()
  try {
    await waitForLease(deps, source.id, token, request.leaseWaitMs ?? 0)
  } catch (err) {
    // the on-demand sync created by the API must not stay "running" while the job is retried (after a
    // shutdown the retried job takes it over: pullJobWaiting keeps the lost-pull sweep off it meanwhile)
    if (syncId && !(isAppError(err) && err.code === 'SHUTTING_DOWN')) {
      await finishSync(db, syncId, {
        status: 'failed', error: { code: 'PULL_IN_PROGRESS', message: 'Another pull of this source was running; this one was not started.' },
      })
    }
    throw err
  }
  const lease = new LeaseKeeper(deps, source.id, token)
  try {
    // A retried job (its previous attempt already closed the sync), or one whose sync the lost-pull
    // sweep closed before this lease was taken, records a sync of its own. Checked under the lease:
    // the sweep closes a sync only while its source's lease is free (src/db/sql/sources.ts takeDeadLeases).
    // A pull cancelled while this job waited for the lease stops here.
    if (syncId) {
      const current = await getSyncById(db, syncId)
      if (current?.status === 'cancelled') return current
      if (current?.status !== 'running') syncId = undefined
    }
    if (!syncId) {
      const started = { id: newId(), orgId: source.orgId, sourceId: source.id, direction: 'inbound' as const, trigger: request.trigger, jobId: request.jobId }
      syncId = (await insertSync(db, started)).id
    }
    const closed = await failOrphanedSyncs(db, source.id, syncId)
    if (closed) logger.warn({ sourceId: source.id, closed }, 'closed syncs left running by a stopped worker')
    const sync = await runPull(deps, source, agent, syncId, lease)
    deps.metrics.syncs.inc({ direction: 'inbound', trigger: request.trigger, status: sync.status })
    logFinished(logger, 'pull', pullSignal(sync))
    return sync
  } catch (err) {
    // cancelled by an operator (POST …/syncs/{id}/cancel closed the sync): the pull stopped as asked
    if (syncId && isAppError(err) && err.code === 'SYNC_CANCELLED') {
      const cancelled = await getSyncById(db, syncId)
      if (cancelled?.status === 'cancelled') return cancelled
      // closed by someone else (the lost-pull sweep took the source over): as if the lease was lost
      throw new AppError('LEASE_LOST')
    }
    // the sync must never stay "running": record the failure (if the lease is still ours)
    if (syncId) {
      const e = isAppError(err) ? err : new AppError('INTERNAL')
      const message = e.failureType === 'system' ? 'The pull failed because of an internal error.' : e.message
      const closed = await finishSync(db, syncId, { status: 'failed', error: { code: e.code, message } }).catch(() => null)
      if (closed) logFinished(logger, 'pull', pullSignal(closed))
    }
    throw err
  } finally {
    lease.stop()
    await releaseLease(db, source.id, token).catch((err) => logger.warn({ err, sourceId: source.id }, 'could not release pull lease'))
  }
}

const pullSignal = (sync: Sync) => ({
  sourceId: sync.sourceId, syncId: sync.id, trigger: sync.trigger, status: sync.status, files: sync.filesCount,
  rowsAccepted: sync.rowsAccepted, rowsRejected: sync.rowsRejected, durationMs: sync.durationMs, error: sync.error,
})

async function waitForLease (deps: Deps, sourceId: string, token: string, waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs
  for (;;) {
    if (deps.signal.aborted) throw shuttingDown()
    if (await acquireLease(deps.db, sourceId, token, deps.config.pullLeaseSeconds)) return
    if (Date.now() >= deadline) throw new AppError('PULL_IN_PROGRESS', 'Another pull of this source is running; this one will be retried.')
    await new Promise(resolve => setTimeout(resolve, 500))
  }
}

/** Renews the lease in the background; the pull checks `lost` and every commit re-checks the row. */
class LeaseKeeper {
  lost = false
  readonly #timer: NodeJS.Timeout
  constructor (private readonly deps: Deps, readonly sourceId: string, readonly token: string) {
    const every = Math.max(200, (deps.config.pullLeaseSeconds * 1000) / 3)
    this.#timer = setInterval(() => {
      renewLease(deps.db, sourceId, token, deps.config.pullLeaseSeconds)
        .then((ok) => { if (!ok) this.lost = true })
        .catch((err) => deps.logger.warn({ err, sourceId }, 'could not renew pull lease'))
    }, every)
    this.#timer.unref()
  }

  stop (): void { clearInterval(this.#timer) }
}

/** How often a running pull looks whether an operator cancelled its sync. */
const CANCEL_CHECK_MS = 1000

/**
 * Watches the pull's sync row: once it is no longer running (an operator cancelled it), `signal`
 * aborts, so the download in flight stops and its file's transaction rolls back. Files already
 * committed stay; a file that reaches its commit anyway finds the sync closed (appendManifest) and
 * rolls back too.
 */
class CancelWatch {
  readonly #controller = new AbortController()
  readonly signal = this.#controller.signal
  readonly #timer: NodeJS.Timeout
  constructor (deps: Deps, syncId: string) {
    this.#timer = setInterval(() => {
      syncStillRunning(deps.db, syncId)
        .then((running) => { if (!running) this.#controller.abort() })
        .catch((err) => deps.logger.warn({ err, syncId }, 'could not check whether the sync was cancelled'))
    }, CANCEL_CHECK_MS)
    this.#timer.unref()
  }

  get cancelled (): boolean { return this.signal.aborted }
  stop (): void { clearInterval(this.#timer) }
}

const cancelled = () => new AppError('SYNC_CANCELLED', 'The sync was cancelled; the files committed before stay.')

async function runPull (deps: Deps, source: DataSource, agent: Agent, syncId: string, lease: LeaseKeeper): Promise<Sync> {
  const { db } = deps
  const config = source.config
  const kind = kindOf(source.type)
  const location = kind.location!(config)
  const matches = compilePattern(config.pattern)
  const startedAt = new Date()
  const progress = { filesListed: 0, filesDone: 0, filesTotal: 0, bytesDone: 0, bytesTotal: 0 }
  let listingError: AppError | null = null
  let problems = 0
  const reporter = new ProgressWriter(() => setSyncProgress(db, syncId, { ...progress }), PROGRESS_INTERVAL_MS)
  const cancel = new CancelWatch(deps, syncId)

  try {
    await kind.withTransport!(deps, source.orgId, config, async (transport) => {
      const pool = new FilePool({ maxFiles: deps.config.pullFileConcurrency, maxBytes: deps.config.pullBytesInFlight })
      try {
        for await (const page of listing(transport)) {
          if (lease.lost) throw new AppError('LEASE_LOST')
          if (deps.signal.aborted) throw shuttingDown()
          if (cancel.cancelled) throw cancelled()
          progress.filesListed += page.length
          const known = await ledgerContains(db, source.id, page.map(f => ({ key: f.key, etag: f.etag })))
          for (const file of page) {
            if (known.has(ledgerId(file))) continue
            if (cancel.cancelled) throw cancelled()
            const reason = skipReason(file, location.relative(file.key) ?? file.key, matches, Boolean(config.format))
            if (reason) {
              await recordSkipped(deps, source, syncId, file, reason)
              continue
            }
            progress.filesTotal++
            progress.bytesTotal += file.size
            await pool.run(file.size, async () => {
              const entries = await ingestFile(deps, { source, agent, syncId, file, transport, lease, cancel: cancel.signal })
              if (entries.some(isProblem)) problems++
              progress.filesDone++
              progress.bytesDone += file.size
              reporter.update()
            })
          }
          // listing progress too, so a watcher sees more than nothing until the first file is done
          reporter.update()
        }
      } catch (err) {
        // a listing failure ends the pull as failed/partial; anything else (database, lease) is thrown
        if (!(err instanceof ListingFailed)) throw err
        listingError = err.cause
      } finally {
        await pool.drain()
      }
    }, undefined, { sourceId: source.id })
    if (lease.lost) throw new AppError('LEASE_LOST')
    if (cancel.cancelled) throw cancelled()
    await reporter.flush()
  } finally {
    reporter.stop()
    cancel.stop()
  }

  if (!listingError) await setLastSyncedAt(db, source.id, startedAt)
  const anyLanded = await anyFileLanded(db, syncId)
  const failure = listingError as AppError | null
  const status = failure ? (anyLanded ? 'partial' : 'failed') : problems > 0 ? 'partial' : 'succeeded'
  const finished = await finishSync(db, syncId, {
    status,
    error: failure ? { code: failure.code, message: failure.message, ...(failure.details ? { details: failure.details } : {}) } : null,
  })
  return finished ?? (await getSyncById(db, syncId))!
}

/** A failure of the transport's listing (auth, bucket, network): the pull ends failed or partial, it is not thrown. */
class ListingFailed extends Error {
  constructor (override readonly cause: AppError) { super(cause.message) }
}

/**
 * The transport's pages, with a failure of the listing itself told apart from a failure of the
 * loop that consumes them: an AppError the target answered with (config or transient) becomes
 * ListingFailed; bugs (system) stay what they are.
 */
async function * listing (transport: Transport): AsyncGenerator<RemoteFile[]> {
  const pages = transport.list()
  try {
    for (;;) {
      let step: IteratorResult<RemoteFile[]>
      try {
        step = await pages.next()
      } catch (err) {
        if (isAppError(err) && err.failureType !== 'system') throw new ListingFailed(err)
        throw err
      }
      if (step.done) return
      yield step.value
    }
  } finally {
    // the consumer stopped early (lease lost, cancelled): the transport's listing ends too
    await pages.return(undefined)
  }
}

async function recordSkipped (deps: Deps, source: DataSource, syncId: string, file: RemoteFile, reason: string): Promise<void> {
  await deps.db.transaction(async (tx) => {
    if (!await insertLedgerEntry(tx, {
      sourceId: source.id, key: file.key, etag: file.etag, size: file.size, lastModified: file.lastModified, status: 'skipped', syncId,
    })) return
    const appended = await appendManifest(tx, syncId, {
      key: file.key, etag: file.etag, size: file.size, lastModified: file.lastModified?.toISOString() ?? null, format: null,
      status: 'skipped', rowsAccepted: 0, rowsRejected: 0, reason,
    })
    if (!appended) throw cancelled()
  })
}

/** Marks a commit that found the file already taken: roll back, report nothing. */
class AlreadyIngested extends Error {}

async function ingestFile (
  deps: Deps,
  ctx: { source: DataSource, agent: Agent, syncId: string, file: RemoteFile, transport: Transport, lease: LeaseKeeper, cancel: AbortSignal },
): Promise<ManifestEntry[]> {
  const { source, agent, syncId, file, transport, lease, cancel } = ctx
  const base = { key: file.key, etag: file.etag, size: file.size, lastModified: file.lastModified?.toISOString() ?? null }
  // the download stops when the process does or the sync is cancelled (the pipeline then fails the file's transaction)
  const controller = new AbortController()
  const stop = () => controller.abort()
  deps.signal.addEventListener('abort', stop, { once: true })
  cancel.addEventListener('abort', stop, { once: true })
  let spooled: Spooled | undefined
  try {
    if (file.size > deps.config.limits.maxFileBytes) return [await recordTooLarge(deps, ctx, base)]
    const body = await transport.open(file, controller.signal)
    // PGlite is one connection: a transaction held open for a whole download would stall every
    // other query (the API included) on a slow bucket. There the object is spooled to a private
    // temp file first, and the transaction only parses and stores.
    if (deps.db.kind === 'pglite') {
      spooled = await spoolBody(body, {
        dir: processTempDir(deps.config.dataDir), maxBytes: deps.config.limits.maxFileBytes, toFile: true, keepUpTo: 0, onChunk: () => {},
        idleTimeoutMs: deps.config.targetTimeoutMs, signal: controller.signal,
      })
    }
    const options = importOptionsOf(source.config)
    let entries: ManifestEntry[] = []
    // read and staged in short transactions, then published with the ledger row and manifest entry in one
    await deps.pipeline.ingestAll(deps.db, {
      orgId: source.orgId,
      agent,
      stream: spooled ? fs.createReadStream(spooled.path!) : body,
      fileName: fileNameOf(kindOf(source.type).location!(source.config), file.key),
      format: options.format,
      parse: options.parse,
      fieldMap: options.fieldMap,
      sourceId: source.id,
      syncId,
    }, async (tx, outcomes) => {
      body.destroy()
      entries = manifestEntriesOf(base, outcomes)
      // one ledger row for the object, archive or not: its members are taken again only with a new ETag
      const landed = entries.find(e => e.status === 'ingested') ?? entries.find(e => e.uploadId)
      if (!await insertLedgerEntry(tx, {
        sourceId: source.id, key: file.key, etag: file.etag, size: file.size, lastModified: file.lastModified,
        status: landed?.status === 'ingested' ? 'ingested' : 'rejected', uploadId: landed?.uploadId ?? null, syncId,
      })) {
        throw new AlreadyIngested()
      }
      // the sync was cancelled meanwhile: this file rolls back
      for (const entry of entries) if (!await appendManifest(tx, syncId, entry)) throw cancelled()
      // fencing: a pull that lost its lease publishes nothing. Checked last, so the source row is
      // share-locked only for the commit itself; the manifest entry is a row of its own, so no file
      // transaction locks the sync row.
      if (lease.lost || !await holdsLease(tx, source.id, lease.token)) throw new AppError('LEASE_LOST')
    }).finally(() => spooled?.remove())
    return entries
  } catch (err) {
    controller.abort()
    await spooled?.remove()
    if (err instanceof AlreadyIngested) return [{ ...base, format: null, status: 'skipped', rowsAccepted: 0, rowsRejected: 0, reason: 'already ingested' }]
    if (isAppError(err) && err.code === 'LEASE_LOST') throw err
    if (cancel.aborted) throw cancelled()
    // cut off by a stopping process: not the file's failure; the pull ends, the file is taken again
    if (deps.signal.aborted) throw shuttingDown()
    const e = isAppError(err) ? err : coerceError(err)
    deps.logger.warn({ sourceId: source.id, key: file.key, code: isAppError(e) ? e.code : undefined, err: isAppError(e) ? undefined : e },
      'file failed; it will be taken again by the next pull')
    // not in the ledger: the next pull takes the file again
    const entry: ManifestEntry = {
      ...base, format: null, status: 'failed', rowsAccepted: 0, rowsRejected: 0,
      reason: isAppError(e) && e.failureType !== 'system' ? e.message : 'The file could not be read; it will be retried by the next pull.',
    }
    await appendManifest(deps.db, syncId, entry)
    return [entry]
  } finally {
    deps.signal.removeEventListener('abort', stop)
    cancel.removeEventListener('abort', stop)
  }
}

/** An object over the size limit is refused without downloading it, once (it is ledgered). */
async function recordTooLarge (
  deps: Deps, ctx: { source: DataSource, syncId: string, file: RemoteFile }, base: Pick<ManifestEntry, 'key' | 'etag' | 'size' | 'lastModified'>,
): Promise<ManifestEntry> {
  const entry: ManifestEntry = {
    ...base, format: null, status: 'rejected', rowsAccepted: 0, rowsRejected: 0,
    reason: `FILE_TOO_LARGE: the object has ${ctx.file.size} bytes; the limit is ${deps.config.limits.maxFileBytes} (FERRY_MAX_FILE_BYTES).`,
  }
  await deps.db.transaction(async (tx) => {
    if (!await insertLedgerEntry(tx, {
      sourceId: ctx.source.id,
      key: ctx.file.key,
      etag: ctx.file.etag,
      size: ctx.file.size,
      lastModified: ctx.file.lastModified,
      status: 'rejected',
      syncId: ctx.syncId,
    })) return
    if (!await appendManifest(tx, ctx.syncId, entry)) throw cancelled()
  })
  return entry
}
