import type { Deps } from '../deps.js'
import type { Transaction } from '../db/client.js'
import {
  claimDelivery, getDeliveryBySync, holdsDelivery, insertDelivery, lockDeliveryOfSync, makeDeliveryDue, openDeliveryOf, renewDeliveryLease,
  setDeliveryState, strandedDeliveries, type Delivery,
} from '../db/sql/deliveries.js'
import { getJob, getJobById, type MappingJob } from '../db/sql/jobs.js'
import { requireSource } from '../sources/lookup.js'
import { disableSource, getSourceById } from '../db/sql/sources.js'
import { appendManifest, finishSync, getSyncById, insertSync, replaceManifest, type ManifestEntry, type Sync } from '../db/sql/syncs.js'
import type { DataSource } from '../domain/source.js'
import { AppError, isAppError } from '../errors.js'
import type { ResultFormat } from '../results/format.js'
import { newId } from '../util/ids.js'
import { startPeriodic, type Periodic } from '../util/periodic.js'
import { reportPushFailure, reportPushRecovery } from './alerts.js'
import { decide, isFinal, LeaseLostError, type AttemptOutcome, type Decision } from './delivery.js'
import { dropQueuedPush, enqueuePush, type PushJobData } from './queue.js'
import { kindOf, roleOf } from '../kinds/registry.js'
import { attemptPut, webhookIdFor } from './targets.js'
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

/** Keeps the delivery's lease alive while an attempt runs; `check` fails once it is lost. */
class LeaseRenewer {
  #lost = false
  readonly #timer: NodeJS.Timeout
  constructor (private readonly deps: Deps, private readonly deliveryId: string, private readonly token: string) {
    this.#timer = setInterval(() => {
      renewDeliveryLease(deps.db, deliveryId, token, DELIVERY_LEASE_MS)
        .then((ok) => { if (!ok) this.#lost = true })
        .catch((err) => deps.logger.warn({ err, deliveryId }, 'could not renew delivery lease'))
    }, RENEW_EVERY_MS)
    this.#timer.unref()
  }

  /** Renews now, right before the request goes out: throws LeaseLostError if another worker has the delivery. */
  readonly check = async (): Promise<void> => {
    if (this.#lost || !await renewDeliveryLease(this.deps.db, this.deliveryId, this.token, DELIVERY_LEASE_MS)) {
      this.#lost = true
      throw new LeaseLostError()
    }
  }

  stop (): void { clearInterval(this.#timer) }
}

/** Sinks never hold Parquet (refused at save: src/sources/service.ts), so a config's format is a result format. */
const formatOf = (sink: DataSource): ResultFormat =>
  (sink.config.format as ResultFormat | undefined) ?? roleOf(sink.type, 'RESULTS_SINK').defaultFormat

const targetOf = (sink: DataSource, job: MappingJob): { key: string, describe: string } =>
  roleOf(sink.type, 'RESULTS_SINK').target(sink.config, job.id, formatOf(sink))

/** One attempt of a delivery: the push-results job handler. */
export async function runPush (deps: Deps, data: PushJobData): Promise<void> {
  const { db, logger } = deps
  const token = newId()
  const claimed = await claimDelivery(db, data.syncId, token, DELIVERY_LEASE_MS)
  if (!claimed) {
    await requeueIfEarly(deps, data)
    return
  }
  const { delivery, takenOver } = claimed
  const [sink, job, sync] = await Promise.all([getSourceById(db, delivery.sinkId), getJobById(db, delivery.jobId), getSyncById(db, delivery.syncId)])
  // deleting the sink or the job deletes the delivery too (cascade): nothing left to do
  if (!sink || !job || !sync) return
  const target = targetOf(sink, job)
  const entry = pushEntry(sync, sink, job, delivery, target.key)
  if (takenOver) {
    entry.attempts.push({
      attempt: delivery.attempt - 1,
      at: null,
      status: null,
      outcome: 'unknown',
      error: 'The worker making this attempt stopped before it recorded the outcome; the receiver may have got the request (with the same webhook-id).',
    })
  }

  const renewer = new LeaseRenewer(deps, delivery.id, token)
  const startedAt = new Date()
  let outcome: AttemptOutcome
  try {
    if (!sink.enabled) {
      outcome = { kind: 'error', error: new AppError('SOURCE_DISABLED', 'The sink was disabled; the push was stopped.'), durationMs: 0 }
    } else {
      const role = roleOf(sink.type, 'RESULTS_SINK')
      const format = formatOf(sink)
      const target = { orgId: sink.orgId, config: sink.config }
      outcome = role.deliver
        ? await role.deliver(deps, target, job, { format, webhookId: delivery.webhookId, beforeSend: renewer.check })
        : await attemptPut(deps, kindOf(sink.type), target, job, { key: targetOf(sink, job).key, format, beforeSend: renewer.check })
    }
  } catch (err) {
    if (isAppError(err) && err.code === 'LEASE_LOST') {
      logger.warn({ syncId: delivery.syncId, attempt: delivery.attempt }, 'another worker took over this delivery; nothing recorded')
      return
    }
    throw err
  } finally {
    renewer.stop()
  }

  const decision = decide(outcome, { attempt: delivery.attempt, scheduleMs: deps.config.pushRetryScheduleMs, now: new Date(), target: target.describe })
  const recorded = await record(deps, { data, delivery, token, sink, job, entry, outcome, decision, startedAt })
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
  await alert(deps, { sink, job, sync, decision })
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

/** Records an attempt's outcome in one transaction, fenced by the lease; false when the lease was lost. */
async function record (deps: Deps, r: RecordInput): Promise<boolean> {
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

  return deps.db.transaction(async (tx) => {
    if (!await holdsDelivery(tx, delivery.id, r.token)) return false
    await setDeliveryState(tx, delivery.id, decision.state, decision.nextAttemptAt ?? null)
    // a push moves one file: it counts once delivered
    const share = delivered
      ? { files: 1, bytes, rowsAccepted: r.job.rows, rowsRejected: 0 }
      : { files: 0, bytes: 0, rowsAccepted: 0, rowsRejected: 0 }
    await replaceManifest(tx, delivery.syncId, next, share)
    if (decision.state === 'retrying') {
      await enqueuePush(deps.boss, r.data, { startAfter: decision.nextAttemptAt, db: tx.bossAdapter() })
    }
    if (decision.state === 'disabled') await disableSource(tx, r.sink.id)
    if (isFinal(decision.state)) {
      await finishSync(tx, delivery.syncId, delivered
        ? { status: 'succeeded' }
        : { status: 'failed', error: { code: decision.code ?? 'DELIVERY_FAILED', message: decision.reason ?? 'The push failed.' } })
    }
    return true
  })
}

/**
 * Pending items (after the outcome is committed). A failed push files DATA_SOURCE_PUSH_FAILED when
 * nobody is watching it: automatic pushes, exhausted retries, and a 410 that disabled the sink. A
 * manual push refused at once (a 400, a redirect, too large) is answered in its sync instead. A
 * delivered push resolves the sink's open item.
 */
async function alert (deps: Deps, a: { sink: DataSource, job: MappingJob, sync: Sync, decision: Decision }): Promise<void> {
  const { sink, job, sync, decision } = a
  try {
    if (decision.state === 'delivered') {
      await reportPushRecovery(deps, sink)
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
