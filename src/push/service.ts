import type { Deps } from '../deps.js'
import type { Transaction } from '../db/client.js'
import {
  claimDeliveries, getDeliveryBySync, insertDelivery, lockDeliveryOfSync, makeDeliveryDue, openDeliveryOf, recordAttempt, renewDeliveryLeases,
  setDeliveryState, strandedDeliveries, type AttemptRecord, type Delivery,
} from '../db/sql/deliveries.js'
import { getJob, getJobsByIds, type MappingJob } from '../db/sql/jobs.js'
import { requireSource } from '../sources/lookup.js'
import { disableSource, getSourcesByIds } from '../db/sql/sources.js'
import { appendManifest, finishSync, getSyncsByIds, insertSync, replaceManifest, type ManifestEntry, type Sync } from '../db/sql/syncs.js'
import type { DataSource } from '../domain/source.js'
import { AppError, isAppError } from '../errors.js'
import type { ResultFormat } from '../results/format.js'
import { newId } from '../util/ids.js'
import { startPeriodic, type Periodic } from '../util/periodic.js'
import { reportPushFailure, reportPushRecovery } from './alerts.js'
import { decide, isFinal, LeaseLostError, type AttemptOutcome, type Decision } from './delivery.js'
import { dropQueuedPush, enqueuePush, type PushJobData } from './queue.js'
import { kindOf, roleOf } from '../kinds/registry.js'
import { attemptPut, inlineResults, webhookIdFor } from './targets.js'
import { recordAudit, type Actor } from '../audit/audit.js'
import { logFinished } from '../sync/signals.js'

/**
 * Pushes of mapping-job results to RESULTS_SINKs (docs/push.md, "Pushes").
 *
 * A push is an outbound sync plus a `deliveries` row (the state machine of src/push/delivery.ts).
 * Every attempt is one pg-boss job (queue `push-results`, payload ids only); a retry is a new job
 * with `startAfter`, sent in the transaction that records the failed attempt, so no worker sleeps.
 *
 * Exactly one outcome is recorded per attempt, and at most one `delivered`: a worker claims the
 * delivery with a lease (attempt + 1, fresh token), renews it while it works, and records the
 * outcome in a transaction that first checks, under a row lock, that the token is still its own.
 * A worker that dies mid-attempt leaves the lease to expire; the sweeper queues the delivery again
 * and the next worker takes it over as a new attempt. The receiver may then see the same request
 * twice (at-least-once), always with the same `webhook-id`, so it can drop the repeat; the S3 key is
 * deterministic, so a repeat overwrites the same object.
 */

/**
 * A claimed delivery is the worker's for this long without renewal (renewed every 5 s); a dead
 * worker's delivery is taken over after it. Long enough that a worker stalled by a busy database
 * (an embedded PGlite runs one transaction at a time) keeps its delivery.
 */
export const DELIVERY_LEASE_MS = 30_000
const RENEW_EVERY_MS = 5_000
/** How often a worker process looks for deliveries nobody is working on. */
export const SWEEP_EVERY_MS = 5_000
/** A pending/retrying delivery this far past its time is assumed to have lost its queued job. */
const OVERDUE_GRACE_MS = 30_000

export type PushTrigger = 'manual' | 'job_complete'

/**
 * In the caller's transaction: the outbound sync, its delivery (pending) and the job of its first
 * attempt. Used by the mapping job on success (auto-push) and by the push route.
 */
export async function createPush (deps: Pick<Deps, 'boss'>, tx: Transaction, p: { sink: DataSource, job: MappingJob, trigger: PushTrigger }): Promise<Sync> {
  const { sink, job } = p
  const sync = await insertSync(tx, { id: newId(), orgId: sink.orgId, sourceId: sink.id, direction: 'outbound', trigger: p.trigger, jobId: job.id })
  // an empty result would only make the receiver process nothing: recorded as skipped instead (docs/push.md)
  if (job.rows === 0 && (sink.config as { pushEmpty?: boolean }).pushEmpty !== true) {
    await appendManifest(tx, sync.id, {
      key: targetOf(sink, job).key, etag: null, size: null, lastModified: null, format: formatOf(sink), status: 'skipped', rowsAccepted: 0, rowsRejected: 0,
      jobId: job.id, code: 'EMPTY_RESULTS', reason: 'The job has no result rows; empty results are not pushed unless the sink sets "pushEmpty": true.',
    })
    return (await finishSync(tx, sync.id, { status: 'succeeded' }))!
  }
  await insertDelivery(tx, { id: newId(), orgId: sink.orgId, sinkId: sink.id, jobId: job.id, syncId: sync.id, webhookId: webhookIdFor(job.id, sink.id) })
  await enqueuePush(deps.boss, { sinkId: sink.id, jobId: job.id, syncId: sync.id }, { db: tx.bossAdapter() })
  return sync
}

/** The sinks that receive a job's results automatically: enabled RESULTS_SINKs with autoPush. */
export const autoPushSinks = (sources: DataSource[]): DataSource[] =>
  sources.filter(s => s.role === 'RESULTS_SINK' && s.enabled && s.autoPush)

/** POST …/data-sources/{sid}/push { jobId }: checks, then a manual push. */
export async function requestPush (deps: Deps, orgId: string, agentId: string, sinkId: string, jobId: string, actor?: Actor): Promise<Sync> {
  const { db } = deps
  const sink = await requireSource(db, orgId, agentId, sinkId)
  const job = await getJob(db, orgId, agentId, jobId)
  if (!job) throw new AppError('NOT_FOUND', 'Job not found.', { details: { field: 'jobId' } })
  if (sink.role !== 'RESULTS_SINK') throw new AppError('CONFLICT', 'Only results sinks receive pushes; this is an inventory source.')
  if (!sink.enabled) throw new AppError('SOURCE_DISABLED', 'The sink is disabled; enable it to push.')
  if (job.status !== 'succeeded') {
    throw new AppError('CONFLICT', `The job has not succeeded (it is ${job.status}); only a succeeded job's results can be pushed.`, {
      details: { jobStatus: job.status },
    })
  }
  const open = await openDeliveryOf(db, job.id, sink.id)
  if (open) throw new AppError('CONFLICT', 'A push of this job to this sink is still in progress.', { details: { syncId: open.syncId } })
  return db.transaction(async (tx) => {
    const sync = await createPush(deps, tx, { sink, job, trigger: 'manual' })
    const changes = { jobId: { after: job.id }, syncId: { after: sync.id } }
    if (actor) await recordAudit(tx, actor, { action: 'push', resourceType: 'data_source', resourceId: sink.id, changes })
    return sync
  })
}

/**
 * The leases of a batch of deliveries claimed together (one token). It renews those not yet
 * recorded every few seconds, in one statement, and makes the check right before the requests go
 * out once for the batch: `check` waits until every attempt of the batch has either asked or ended
 * (`done`), then one UPDATE renews the leases of all that asked, and those another worker took over
 * fail with LeaseLostError. No request leaves without a renewal that found its lease still held.
 * Only attempts that have `begun` are waited for: one queued behind another joins a later round.
 */
class BatchLease {
  readonly #held: Set<string>
  readonly #lost = new Set<string>()
  /** attempts that have begun and have neither asked for the pre-send check nor ended */
  readonly #preparing = new Set<string>()
  #round: { ids: string[], held: Promise<Set<string>>, start: () => void } | undefined
  readonly #timer: NodeJS.Timeout

  constructor (private readonly deps: Deps, private readonly token: string, ids: string[]) {
    this.#held = new Set(ids)
    this.#timer = setInterval(() => {
      if (this.#held.size === 0) return
      const ids = [...this.#held]
      renewDeliveryLeases(deps.db, ids, token, DELIVERY_LEASE_MS)
        .then((held) => { for (const id of ids) if (!held.has(id)) this.#lost.add(id) })
        .catch((err) => deps.logger.warn({ err, deliveryIds: ids }, 'could not renew delivery leases'))
    }, RENEW_EVERY_MS)
    this.#timer.unref()
  }

  /** The attempt started: the batch's pre-send check waits for it to be ready to send or to end. */
  begin (id: string): void { this.#preparing.add(id) }

  /** Renews the lease right before the request goes out: throws LeaseLostError if another worker has the delivery. */
  async check (id: string): Promise<void> {
    if (this.#lost.has(id)) throw new LeaseLostError()
    if (!this.#round) {
      let start!: () => void
      const ids: string[] = []
      const held = new Promise<void>((resolve) => { start = resolve })
        .then(() => renewDeliveryLeases(this.deps.db, ids, this.token, DELIVERY_LEASE_MS))
      this.#round = { ids, held, start }
    }
    const round = this.#round
    round.ids.push(id)
    this.#preparing.delete(id)
    this.#startRoundIfReady()
    if (!(await round.held).has(id)) {
      this.#lost.add(id)
      throw new LeaseLostError()
    }
  }

  /** The attempt ended (recorded, or gave up): its lease is no longer renewed, and the others' check need not wait for it. */
  done (id: string): void {
    this.#held.delete(id)
    this.#preparing.delete(id)
    this.#startRoundIfReady()
  }

  #startRoundIfReady (): void {
    if (!this.#round || this.#preparing.size > 0) return
    this.#round.start()
    this.#round = undefined
  }

  stop (): void { clearInterval(this.#timer) }
}

/** Sinks never hold Parquet (refused at save: src/sources/service.ts), so a config's format is a result format. */
const formatOf = (sink: DataSource): ResultFormat =>
  (sink.config.format as ResultFormat | undefined) ?? roleOf(sink.type, 'RESULTS_SINK').defaultFormat

const targetOf = (sink: DataSource, job: MappingJob): { key: string, describe: string } =>
  roleOf(sink.type, 'RESULTS_SINK').target(sink.config, job.id, formatOf(sink))

/**
 * A batch of delivery attempts: the push-results job handler (one queued job per attempt). The
 * deliveries are claimed in one statement, their sinks, jobs and syncs read in one statement each,
 * a job's results rendered once per format, and the attempts made concurrently; each records its
 * outcome as soon as it has one. Throws (after every attempt has ended) when an attempt could not
 * be recorded for a reason other than a lost lease, so pg-boss retries the batch's jobs.
 */
export async function runPushes (deps: Deps, batch: PushJobData[]): Promise<void> {
  const { db } = deps
  const token = newId()
  const claimed = await claimDeliveries(db, batch.map(d => d.syncId), token, DELIVERY_LEASE_MS)
  const bySync = new Map(batch.map(d => [d.syncId, d]))
  const unclaimed = batch.filter(d => !claimed.some(c => c.delivery.syncId === d.syncId))
  const [sinks, jobs, syncs] = claimed.length === 0
    ? [new Map<string, DataSource>(), new Map<string, MappingJob>(), new Map<string, Sync>()]
    : await Promise.all([
      getSourcesByIds(db, claimed.map(c => c.delivery.sinkId)),
      getJobsByIds(db, claimed.map(c => c.delivery.jobId)),
      getSyncsByIds(db, claimed.map(c => c.delivery.syncId)),
    ])
  const lease = new BatchLease(deps, token, claimed.map(c => c.delivery.id))
  const failures: unknown[] = []
  // a job's results are the same bytes for every sink that takes its format (docs/push.md)
  const bodies = new Map<string, Promise<Buffer>>()
  const bodyOf = (job: MappingJob, format: ResultFormat) => () => {
    const key = `${job.id}:${format}`
    let body = bodies.get(key)
    if (!body) bodies.set(key, body = inlineResults(deps, job, format, deps.config.webhookInlineMaxBytes))
    return body
  }
  const attempt = async ({ delivery, takenOver }: { delivery: Delivery, takenOver: boolean }): Promise<void> => {
    lease.begin(delivery.id)
    try {
      const sink = sinks.get(delivery.sinkId)
      const job = jobs.get(delivery.jobId)
      const sync = syncs.get(delivery.syncId)
      // deleting the sink or the job deletes the delivery too (cascade): nothing left to do
      if (!sink || !job || !sync) return
      await attemptDelivery(deps, {
        data: bySync.get(delivery.syncId)!, delivery, takenOver, token, sink, job, sync, lease, body: bodyOf(job, formatOf(sink)),
      })
    } finally {
      lease.done(delivery.id)
    }
  }
  // webhook bodies are small (inline limit) and sent concurrently; a file-store sink's results are
  // streamed with upload buffers of their own, one such attempt at a time per batch
  const streamed = claimed.filter(c => !roleOf(sinks.get(c.delivery.sinkId)?.type ?? 'webhook', 'RESULTS_SINK').deliver)
  const inline = claimed.filter(c => !streamed.includes(c))
  try {
    const settled = await Promise.allSettled([
      ...unclaimed.map(d => requeueIfEarly(deps, d)),
      ...inline.map(attempt),
      (async () => { for (const c of streamed) await attempt(c).catch((err: unknown) => { failures.push(err) }) })(),
    ])
    const failed = [...settled.flatMap(r => r.status === 'rejected' ? [r.reason] : []), ...failures]
    if (failed.length > 0) throw failed[0]
  } finally {
    lease.stop()
  }
}

interface ClaimedAttempt {
  data: PushJobData
  delivery: Delivery
  takenOver: boolean
  token: string
  sink: DataSource
  job: MappingJob
  sync: Sync
  lease: BatchLease
  body: () => Promise<Buffer>
}

/** One attempt of a claimed delivery: send, decide, record, report. */
async function attemptDelivery (deps: Deps, a: ClaimedAttempt): Promise<void> {
  const { logger } = deps
  const { delivery, token, sink, job, sync } = a
  const target = targetOf(sink, job)
  const entry = pushEntry(sync, sink, job, delivery, target.key)
  if (a.takenOver) {
    entry.attempts.push({
      attempt: delivery.attempt - 1,
      at: null,
      status: null,
      outcome: 'unknown',
      error: 'The worker making this attempt stopped before it recorded the outcome; the receiver may have got the request (with the same webhook-id).',
    })
  }

  const beforeSend = () => a.lease.check(delivery.id)
  const startedAt = new Date()
  let outcome: AttemptOutcome
  try {
    if (!sink.enabled) {
      outcome = { kind: 'error', error: new AppError('SOURCE_DISABLED', 'The sink was disabled; the push was stopped.'), durationMs: 0 }
    } else {
      const role = roleOf(sink.type, 'RESULTS_SINK')
      const format = formatOf(sink)
      const sinkTarget = { orgId: sink.orgId, config: sink.config }
      outcome = role.deliver
        ? await role.deliver(deps, sinkTarget, { format, webhookId: delivery.webhookId, body: a.body, beforeSend })
        : await attemptPut(deps, kindOf(sink.type), sinkTarget, job, { key: target.key, format, beforeSend })
    }
  } catch (err) {
    if (isAppError(err) && err.code === 'LEASE_LOST') {
      logger.warn({ syncId: delivery.syncId, attempt: delivery.attempt }, 'another worker took over this delivery; nothing recorded')
      return
    }
    throw err
  }

  const decision = decide(outcome, { attempt: delivery.attempt, scheduleMs: deps.config.pushRetryScheduleMs, now: new Date(), target: target.describe })
  const recorded = await record(deps, { data: a.data, delivery, token, sink, job, entry, outcome, decision, startedAt })
  if (!recorded) {
    logger.warn({ syncId: delivery.syncId, attempt: delivery.attempt }, 'delivery lease lost before the outcome was recorded; another worker owns it')
    return
  }
  logger.info({
    syncId: delivery.syncId,
    sinkId: sink.id,
    jobId: job.id,
    attempt: delivery.attempt,
    state: decision.state,
    status: outcome.kind === 'response' ? outcome.status : undefined,
  }, 'push attempt recorded')
  if (isFinal(decision.state)) {
    const delivered = decision.state === 'delivered'
    deps.metrics.syncs.inc({ direction: 'outbound', trigger: sync.trigger, status: delivered ? 'succeeded' : 'failed' })
    logFinished(logger, 'push', {
      sourceId: sink.id, syncId: sync.id, trigger: sync.trigger, status: delivered ? 'succeeded' : 'failed', jobId: job.id, attempts: delivery.attempt,
      files: delivered ? 1 : 0, rowsAccepted: delivered ? job.rows : 0, durationMs: Date.now() - Date.parse(sync.startedAt),
      error: delivered ? null : { code: decision.code ?? 'DELIVERY_FAILED' },
    })
  }
  await alert(deps, { sink, job, sync, decision, openPushItem: recorded.openPushItem })
}

/** The sync's manifest entry for this push (created at the first attempt, carried across attempts). */
function pushEntry (
  sync: Sync, sink: DataSource, job: MappingJob, delivery: Delivery, key: string,
): ManifestEntry & { attempts: Array<Record<string, unknown>> } {
  const existing = sync.manifest[0]
  if (existing) return { ...existing, attempts: [...(existing.attempts ?? [])] }
  return {
    key,
    etag: null,
    size: null,
    lastModified: null,
    format: formatOf(sink),
    status: 'failed',
    rowsAccepted: job.rows,
    rowsRejected: 0,
    jobId: job.id,
    ...(roleOf(sink.type, 'RESULTS_SINK').recordsWebhookId ? { webhookId: delivery.webhookId } : {}),
    attempts: [],
  }
}

interface RecordInput {
  data: PushJobData
  delivery: Delivery
  token: string
  sink: DataSource
  job: MappingJob
  entry: ManifestEntry & { attempts: Array<Record<string, unknown>> }
  outcome: AttemptOutcome
  decision: Decision
  startedAt: Date
}

/** Records an attempt's outcome, fenced by the lease; null when the lease was lost. */
async function record (deps: Deps, r: RecordInput): Promise<{ openPushItem: boolean } | null> {
  const { delivery, decision, outcome, entry } = r
  const delivered = decision.state === 'delivered'
  const attempt: Record<string, unknown> = {
    attempt: delivery.attempt,
    at: r.startedAt.toISOString(),
    status: outcome.kind === 'response' ? outcome.status : null,
    durationMs: outcome.durationMs,
    outcome: decision.state,
  }
  if (!delivered && decision.reason) attempt.error = decision.reason
  if (decision.code && !delivered) attempt.code = decision.code
  // what the receiver answered, never its body (docs/security.md)
  if (outcome.kind === 'response') Object.assign(attempt, { contentType: outcome.contentType, contentLength: outcome.contentLength })
  if (decision.retryAfterMs !== undefined) attempt.retryAfterMs = decision.retryAfterMs
  if (decision.nextAttemptAt) attempt.nextAttemptAt = decision.nextAttemptAt.toISOString()
  entry.attempts.push(attempt)

  const bytes = outcome.kind === 'stored' || outcome.kind === 'response' ? outcome.bytes : 0
  const next: ManifestEntry = {
    ...entry,
    status: delivered ? 'delivered' : 'failed',
    state: decision.state,
    nextAttemptAt: decision.nextAttemptAt?.toISOString() ?? null,
    ...(delivered ? { size: bytes } : {}),
    ...(outcome.kind === 'stored' ? { etag: outcome.etag, key: outcome.key } : {}),
    ...(!delivered && decision.reason ? { reason: decision.reason } : {}),
  }
  if (delivered) delete next.reason

  // a push moves one file: it counts once delivered
  const share = delivered
    ? { files: 1, bytes, rowsAccepted: r.job.rows, rowsRejected: 0 }
    : { files: 0, bytes: 0, rowsAccepted: 0, rowsRejected: 0 }
  const attemptRecord: AttemptRecord = {
    id: delivery.id,
    token: r.token,
    state: decision.state,
    nextAttemptAt: decision.nextAttemptAt ?? null,
    entry: next,
    share,
    close: !isFinal(decision.state)
      ? null
      : delivered
        ? { status: 'succeeded', error: null }
        : { status: 'failed', error: { code: decision.code ?? 'DELIVERY_FAILED', message: decision.reason ?? 'The push failed.' } },
  }
  // a delivered or failed attempt is one statement; a retry is queued, and a 410 disables the sink, in the same transaction
  if (decision.state !== 'retrying' && decision.state !== 'disabled') return recordAttempt(deps.db, attemptRecord)
  return deps.db.transaction(async (tx) => {
    const recorded = await recordAttempt(tx, attemptRecord)
    if (!recorded) return null
    if (decision.state === 'retrying') {
      await enqueuePush(deps.boss, r.data, { startAfter: decision.nextAttemptAt, db: tx.bossAdapter() })
    }
    if (decision.state === 'disabled') await disableSource(tx, r.sink.id)
    return recorded
  })
}

/**
 * Pending items (after the outcome is committed). A failed push files DATA_SOURCE_PUSH_FAILED when
 * nobody is watching it: automatic pushes, exhausted retries, and a 410 that disabled the sink. A
 * manual push refused at once (a 400, a redirect, too large) is answered in its sync instead. A
 * delivered push resolves the sink's open item.
 */
async function alert (deps: Deps, a: { sink: DataSource, job: MappingJob, sync: Sync, decision: Decision, openPushItem: boolean }): Promise<void> {
  const { sink, job, sync, decision } = a
  try {
    if (decision.state === 'delivered') {
      // the record statement said whether the sink has an open item: most deliveries need no second look
      if (a.openPushItem) await reportPushRecovery(deps, sink)
      return
    }
    if (decision.state !== 'failed' && decision.state !== 'disabled') return
    // someone switched the sink off while a retry was pending: that is no failure to report
    if (decision.code === 'SOURCE_DISABLED') return
    if (decision.state === 'disabled' || decision.exhausted || sync.trigger === 'job_complete') {
      await reportPushFailure(deps, sink, `Pushing the results of job ${job.id} to "${sink.name}" failed: ${decision.reason ?? 'unknown error'}`)
    }
  } catch (err) {
    deps.logger.error({ err, sinkId: sink.id }, 'could not file the push pending item')
  }
}

/** A job that ran before its delivery was due (a duplicate, or a sweep) puts the attempt back at its time. */
async function requeueIfEarly (deps: Deps, data: PushJobData): Promise<void> {
  const d = await getDeliveryBySync(deps.db, data.syncId)
  if (!d || (d.state !== 'pending' && d.state !== 'retrying') || !d.nextAttemptAt) return
  const at = new Date(d.nextAttemptAt)
  if (at.getTime() > Date.now()) await enqueuePush(deps.boss, data, { startAfter: at })
}

/**
 * Runs in every worker process: queues again the deliveries nobody is working on (a worker died
 * mid-attempt and its lease expired, or an attempt's queued job was lost). Harmless next to a live
 * job: the singleton key keeps one queued job per delivery, and claiming is fenced.
 */
export function startDeliverySweeper (deps: Deps, everyMs = SWEEP_EVERY_MS): Periodic {
  return startPeriodic('delivery sweep', everyMs, async () => {
    for (const d of await strandedDeliveries(deps.db, OVERDUE_GRACE_MS, 100)) {
      const id = await enqueuePush(deps.boss, { sinkId: d.sinkId, jobId: d.jobId, syncId: d.syncId })
      if (id) deps.logger.info({ syncId: d.syncId, state: d.state, attempt: d.attempt }, 're-queued a delivery nobody was working on')
    }
  }, deps.logger)
}

/**
 * Cancels a push, in the caller's transaction (which has locked its sync row, see
 * src/sync/operations.ts): a push waiting for its first attempt or for a retry stops — its queued
 * attempt is removed, the delivery and the sync end `cancelled`. An attempt being made right now
 * cannot be taken back (the request may be on the wire): 409, cancel again once it has ended.
 */
export async function cancelPushIn (deps: Pick<Deps, 'boss'>, tx: Transaction, sync: Sync, message: string): Promise<Sync> {
  const delivery = await lockDeliveryOfSync(tx, sync.id)
  if (!delivery || delivery.state === 'delivering') {
    const message = 'An attempt of this push is being made right now; cancel again once it has ended.'
    throw new AppError('CONFLICT', message, { details: { state: delivery?.state ?? null } })
  }
  await setDeliveryState(tx, delivery.id, 'cancelled', null)
  await dropQueuedPush(deps.boss, sync.id, tx.bossAdapter())
  const entry = sync.manifest[0]
  if (entry) {
    await replaceManifest(tx, sync.id, { ...entry, status: 'failed', state: 'cancelled', nextAttemptAt: null, reason: message },
      { files: 0, bytes: 0, rowsAccepted: 0, rowsRejected: 0 })
  }
  return (await finishSync(tx, sync.id, { status: 'cancelled', error: { code: 'SYNC_CANCELLED', message } }))!
}

/**
 * Retry now: a push waiting for its next attempt (`retrying`) is made due at once and its queued
 * attempt replaced by one that starts now (one queued job per delivery: singletonKey = sync id).
 */
export async function retryPushNow (deps: Deps, orgId: string, agentId: string, sinkId: string, syncId: string, actor: Actor): Promise<void> {
  const sink = await requireSource(deps.db, orgId, agentId, sinkId)
  await deps.db.transaction(async (tx) => {
    const delivery = await lockDeliveryOfSync(tx, syncId)
    if (!delivery || delivery.sinkId !== sink.id) throw new AppError('NOT_FOUND', 'Sync not found.')
    if (delivery.state !== 'retrying') {
      throw new AppError('PUSH_NOT_WAITING', `The push is ${delivery.state}, not waiting for a retry.`, { details: { state: delivery.state } })
    }
    await makeDeliveryDue(tx, delivery.id)
    await dropQueuedPush(deps.boss, syncId, tx.bossAdapter())
    await enqueuePush(deps.boss, { sinkId: sink.id, jobId: delivery.jobId, syncId }, { db: tx.bossAdapter() })
    await recordAudit(tx, actor, { action: 'retry', resourceType: 'data_source', resourceId: sink.id, changes: { syncId: { after: syncId } } })
  })
}
