import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Deps } from '../../../deps.js'
import { agentOr404, sourceNotFound, sourceOr404 } from '../../../db/lookups.js'
import { deleteSource, getSourceById, leaseActive, listSources, redactedSecretsByIds } from '../../../db/sql/sources.js'
import {
  getSync, insertSync, lastSyncsOf, listSyncsOfSource, lockPullRequests, runningSyncOf, finishSync, getSyncById, setSyncJob, type Sync,
} from '../../../db/sql/syncs.js'
import type { Transaction } from '../../../db/client.js'
import { effectiveCron, type DataSource } from '../../../domain/source.js'
import { isPulled, pulledLabels, roleOf } from '../../../kinds/registry.js'
import { AppError } from '../../../errors.js'
import { enqueuePull, findPullJob } from '../../../queue/jobs/pull.js'
import { IdParams, ListOf, Uuid, errorResponses } from '../../../schemas/common.js'
import { decodeCursor, page } from '../../../util/paging.js'
import { ResetBody, SourceCreate, SourceParams, SourcePatch, SyncListQuery, SyncParams, TestResult } from '../../../schemas/sources.js'
import { cancelSync, resetSource } from '../../../sync/operations.js'
import { createSource, updateSourceWith } from '../../../sources/service.js'
import { testSource } from '../../../sync/availability.js'
import { newId } from '../../../util/ids.js'
import { requestPush, retryPushNow } from '../../../push/service.js'
import { PushBody } from '../../../schemas/jobs.js'
import { recordAudit, type Actor } from '../../../audit/audit.js'
import { actorOf } from '../../../plugins/auth.js'
import { Preview, SavedPreviewBody, UnsavedPreviewBody } from '../../../schemas/preview.js'
import { previewSavedSource, previewUnsavedSource } from '../../../preview/service.js'

/** How long `?wait=true` waits for a pull before answering 202 anyway. */
const WAIT_LIMIT_MS = 10 * 60_000

const sourceRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  const { db } = deps
  const SourceRef = Type.Ref('DataSource')
  const SyncRef = Type.Ref('Sync')

  const present = async (sources: DataSource[], agentCron: string, extra: Record<string, unknown> = {}) => {
    const last = await lastSyncsOf(db, sources.map(s => s.id))
    const secrets = await redactedSecretsByIds(db, sources[0]?.orgId ?? '', sources.flatMap(s => [
      (s.config as { secretRef?: string }).secretRef, (s.config as { headerSecretRef?: string }).headerSecretRef,
    ]).filter((id): id is string => Boolean(id)))
    return sources.map(s => {
      const { orgId, ...rest } = s
      const c = s.config as { secretRef?: string, headerSecretRef?: string }
      const redactedSecrets: Record<string, unknown> = {}
      if (c.secretRef && secrets.has(c.secretRef)) redactedSecrets.secretRef = secrets.get(c.secretRef)
      if (c.headerSecretRef && secrets.has(c.headerSecretRef)) redactedSecrets.headerSecretRef = secrets.get(c.headerSecretRef)
      return {
        ...rest,
        effectiveScheduleCron: isPulled(s) ? effectiveCron(s, { scheduleCron: agentCron }) : null,
        lastSync: last.get(s.id) ?? null,
        redactedSecrets,
        ...(s.role === 'INVENTORY_SOURCE' ? roleOf(s.type, s.role).present?.(deps, s) : {}),
        ...extra,
      }
    })
  }

  app.post('/agents/:id/data-sources', {
    schema: {
      operationId: 'createDataSource',
      tags: ['data-sources'],
      summary: 'Create a source or sink (validated at save time unless "validate": false)',
      params: IdParams,
      body: SourceCreate,
      response: { 201: SourceRef, ...errorResponses(400, 404, 409, 422) },
    },
  }, async (request, reply) => {
    const agent = await agentOr404(db, request.auth.orgId, request.params.id)
    const { source, generatedSigningSecret } = await createSource(deps, request.auth.orgId, agent.id, request.body, actorOf(request))
    const [out] = await present([source], agent.scheduleCron, generatedSigningSecret ? { signingSecret: generatedSigningSecret } : {})
    return reply.status(201).send(out)
  })

  app.get('/agents/:id/data-sources', {
    schema: {
      operationId: 'listDataSources',
      tags: ['data-sources'],
      summary: 'List an agent\'s sources and sinks',
      params: IdParams,
      response: { 200: ListOf(SourceRef), ...errorResponses(404) },
    },
  }, async (request) => {
    const agent = await agentOr404(db, request.auth.orgId, request.params.id)
    return { items: await present(await listSources(db, request.auth.orgId, agent.id), agent.scheduleCron) }
  })

  app.get('/agents/:id/data-sources/:sid', {
    schema: {
      operationId: 'getDataSource', tags: ['data-sources'], summary: 'One source or sink', params: SourceParams,
      response: { 200: SourceRef, ...errorResponses(404) },
    },
  }, async (request) => {
    const agent = await agentOr404(db, request.auth.orgId, request.params.id)
    const [out] = await present([await sourceOr404(db, request.auth.orgId, agent.id, request.params.sid)], agent.scheduleCron)
    return out
  })

  // by id alone, for clients that know only the source id (the CLI): answers with its agentId
  app.get('/data-sources/:sid', {
    schema: {
      operationId: 'getDataSourceById',
      tags: ['data-sources'],
      summary: 'One source or sink by id (includes its agentId)',
      params: Type.Object({ sid: Uuid }),
      response: { 200: SourceRef, ...errorResponses(404) },
    },
  }, async (request) => {
    const source = await getSourceById(db, request.params.sid)
    if (!source || source.orgId !== request.auth.orgId) throw sourceNotFound()
    const agent = await agentOr404(db, request.auth.orgId, source.agentId)
    const [out] = await present([source], agent.scheduleCron)
    return out
  })

  app.patch('/agents/:id/data-sources/:sid', {
    schema: {
      operationId: 'updateDataSource',
      tags: ['data-sources'],
      summary: 'Update a source or sink (config changes are validated again)',
      params: SourceParams,
      body: SourcePatch,
      response: { 200: SourceRef, ...errorResponses(400, 404, 409, 422) },
    },
  }, async (request) => {
    const agent = await agentOr404(db, request.auth.orgId, request.params.id)
    const updated = await updateSourceWith(deps, request.auth.orgId, agent.id, request.params.sid, request.body, actorOf(request))
    const [out] = await present([updated], agent.scheduleCron)
    return out
  })

  app.delete('/agents/:id/data-sources/:sid', {
    schema: {
      operationId: 'deleteDataSource',
      tags: ['data-sources'],
      summary: 'Delete a source or sink with its sync history and file ledger',
      params: SourceParams,
      response: { 204: Type.Null(), ...errorResponses(404) },
    },
  }, async (request, reply) => {
    await db.transaction(async (tx) => {
      if (!await deleteSource(tx, request.auth.orgId, request.params.id, request.params.sid)) throw sourceNotFound()
      await recordAudit(tx, actorOf(request), { action: 'delete', resourceType: 'data_source', resourceId: request.params.sid })
    })
    return reply.status(204).send(null)
  })

  app.post('/agents/:id/data-sources/:sid/test', {
    schema: {
      operationId: 'testDataSource',
      tags: ['data-sources'],
      summary: 'Read-only smoke check: no data moved, no sync recorded',
      params: SourceParams,
      response: { 200: TestResult, ...errorResponses(404) },
    },
  }, async (request) => {
    const source = await sourceOr404(db, request.auth.orgId, request.params.id, request.params.sid)
    return testSource(deps, source, undefined, actorOf(request))
  })

  app.post('/agents/:id/data-sources/preview', {
    schema: {
      operationId: 'previewUnsavedDataSource',
      tags: ['data-sources'],
      summary: 'Preview an unsaved source: its newest matching file (or "key") read as it would land; read-only, no sync recorded',
      description: 'See docs/formats.md. Answers the file read, its sheets, the columns with the field each lands in, the first 20 items, ' +
        'the rejected rows among them and the warnings.',
      params: IdParams,
      body: UnsavedPreviewBody,
      response: { 200: Preview, ...errorResponses(400, 404, 422) },
    },
  }, async (request) => previewUnsavedSource(deps, request.auth.orgId, request.params.id, request.body))

  app.post('/agents/:id/data-sources/:sid/preview', {
    schema: {
      operationId: 'previewDataSource',
      tags: ['data-sources'],
      summary: 'Preview a source: its newest matching file (or "key") read as it would land; read-only, no sync recorded',
      description: 'Optional "parse" and "fieldMap" are tried over the source\'s own without saving them. See docs/formats.md.',
      params: SourceParams,
      body: Type.Optional(SavedPreviewBody),
      response: { 200: Preview, ...errorResponses(400, 404, 422) },
    },
  }, async (request) => previewSavedSource(deps, request.auth.orgId, request.params.id, request.params.sid, request.body ?? {}))

  app.post('/agents/:id/data-sources/:sid/pull', {
    schema: {
      operationId: 'pullDataSourceNow',
      tags: ['data-sources'],
      summary: 'Pull now: 202 { syncId }; with ?wait=true, 200 with the finished sync',
      description: 'While a pull of the source runs, the answer names that pull (joined: true) and nothing new is started or recorded. ' +
        'A scheduled pull that is queued but not started yet → 409 PULL_IN_PROGRESS.',
      params: SourceParams,
      querystring: Type.Object({ wait: Type.Optional(Type.Boolean()) }),
      response: {
        200: SyncRef,
        202: Type.Object({ syncId: Type.String(), joined: Type.Optional(Type.Boolean({ description: 'true: a pull was already running; this is its sync' })) }),
        ...errorResponses(404, 409),
      },
    },
  }, async (request, reply) => {
    const source = await sourceOr404(db, request.auth.orgId, request.params.id, request.params.sid)
    if (!isPulled(source)) throw new AppError('CONFLICT', `Only ${pulledLabels()} inventory sources can be pulled.`)
    if (!source.enabled) throw new AppError('SOURCE_DISABLED', 'The data source is disabled; enable it to pull.')
    const { syncId, joined } = await requestPull(deps, source, actorOf(request))
    if (!request.query.wait) return reply.status(202).send({ syncId, ...(joined ? { joined } : {}) })
    const finished = await waitForSync(deps, syncId, WAIT_LIMIT_MS)
    if (!finished) return reply.status(202).send({ syncId })
    return reply.status(200).send(presentSync(finished))
  })

  app.post('/agents/:id/data-sources/:sid/push', {
    schema: {
      operationId: 'pushToDataSource',
      tags: ['data-sources'],
      summary: 'Push a succeeded job\'s results to this sink: 202 { syncId }; with ?wait=true, 200 with the finished sync',
      description: 'Pushes are external side effects and cannot be undone. ' +
        'A webhook delivery that is being retried keeps its sync running (the manifest entry shows nextAttemptAt).',
      params: SourceParams,
      querystring: Type.Object({ wait: Type.Optional(Type.Boolean()) }),
      body: PushBody,
      response: { 200: SyncRef, 202: Type.Object({ syncId: Type.String() }), ...errorResponses(400, 404, 409) },
    },
  }, async (request, reply) => {
    const sync = await requestPush(deps, request.auth.orgId, request.params.id, request.params.sid, request.body.jobId, actorOf(request))
    if (!request.query.wait) return reply.status(202).send({ syncId: sync.id })
    const finished = await waitForSync(deps, sync.id, WAIT_LIMIT_MS)
    if (!finished) return reply.status(202).send({ syncId: sync.id })
    return reply.status(200).send(presentSync(finished))
  })

  app.get('/agents/:id/data-sources/:sid/syncs', {
    schema: {
      operationId: 'listSyncs',
      tags: ['data-sources'],
      summary: 'The source\'s syncs, newest first (without manifests), a page at a time',
      description: 'Keyset paging: pass the answer\'s nextCursor as cursor for the next page (null on the last one). ' +
        'status and trigger filter; status "retrying" is a push waiting for its next attempt.',
      params: SourceParams,
      querystring: SyncListQuery,
      response: { 200: ListOf(SyncRef), ...errorResponses(400, 404) },
    },
  }, async (request) => {
    const { limit = 20, cursor, status, trigger } = request.query
    const filter = { limit, before: decodeCursor(cursor), status, trigger }
    const syncs = await listSyncsOfSource(db, request.auth.orgId, request.params.id, request.params.sid, filter)
    if (!syncs) throw sourceNotFound()
    return page(syncs, limit, (s) => { const { manifest, ...rest } = presentSync(s); return rest })
  })

  app.post('/agents/:id/data-sources/:sid/syncs/:syncId/cancel', {
    schema: {
      operationId: 'cancelSync',
      tags: ['data-sources'],
      summary: 'Cancel a running sync: a pull stops at the next file boundary, a push stops retrying; the sync ends "cancelled"',
      description: 'Files a pull committed before stay; the file in flight rolls back. A finished sync → 409 SYNC_FINISHED; ' +
        'a push whose attempt is being made right now → 409 CONFLICT (cancel again once it has ended).',
      params: SyncParams,
      response: { 200: SyncRef, ...errorResponses(404, 409) },
    },
  }, async (request) => {
    const { id, sid, syncId } = request.params
    return presentSync(await cancelSync(deps, request.auth.orgId, id, sid, syncId, actorOf(request)))
  })

  app.post('/agents/:id/data-sources/:sid/syncs/:syncId/retry', {
    schema: {
      operationId: 'retrySyncNow',
      tags: ['data-sources'],
      summary: 'Retry now: a push waiting for its next attempt makes it at once → 202',
      description: 'Only for a push in status "retrying"; anything else → 409 PUSH_NOT_WAITING.',
      params: SyncParams,
      response: { 202: Type.Object({ syncId: Uuid }), ...errorResponses(404, 409) },
    },
  }, async (request, reply) => {
    const { id, sid, syncId } = request.params
    await retryPushNow(deps, request.auth.orgId, id, sid, syncId, actorOf(request))
    return reply.status(202).send({ syncId })
  })

  app.post('/agents/:id/data-sources/:sid/reset', {
    schema: {
      operationId: 'resetDataSourceLedger',
      tags: ['data-sources'],
      summary: 'Backfill: forget the source\'s file ledger (all, or files last modified at/after "since"); the next pull takes those files again',
      params: SourceParams,
      body: Type.Optional(ResetBody),
      response: { 200: Type.Object({ forgotten: Type.Integer() }), ...errorResponses(400, 404, 409) },
    },
  }, async (request) => {
    const raw = request.body?.since
    const since = raw === undefined ? null : new Date(/^\d{4}-\d{2}-\d{2}$/.test(raw) ? `${raw}T00:00:00Z` : raw)
    if (since && Number.isNaN(since.getTime())) throw new AppError('VALIDATION_FAILED', 'since is not a valid date.', { details: { field: 'since' } })
    const forgotten = await resetSource(deps, request.auth.orgId, request.params.id, request.params.sid, since, actorOf(request))
    return { forgotten }
  })

  app.get('/agents/:id/data-sources/:sid/syncs/:syncId', {
    schema: {
      operationId: 'getSync', tags: ['data-sources'], summary: 'One sync with its full manifest', params: SyncParams,
      response: { 200: SyncRef, ...errorResponses(404) },
    },
  }, async (request) => {
    const source = await sourceOr404(db, request.auth.orgId, request.params.id, request.params.sid)
    const sync = await getSync(db, request.auth.orgId, source.id, request.params.syncId)
    if (!sync) throw new AppError('NOT_FOUND', 'Sync not found.')
    return presentSync(sync)
  })
}

/**
 * Pull now: the id of the sync that will answer for it. Requests for one source are serialised (a
 * transaction-scoped advisory lock), and the sync row and its queued job commit together, so of
 * many concurrent requests one starts a pull and the others join it: they answer with its id and
 * record nothing (docs/reliability.md). A sync left running by a dead worker is closed first.
 * A queued scheduled pull (which has no sync row yet) refuses with 409: it starts shortly anyway.
 */
async function requestPull (deps: Deps, source: DataSource, actor: Actor): Promise<{ syncId: string, joined: boolean }> {
  return deps.db.transaction(async (tx) => {
    await lockPullRequests(tx, source.id)
    const running = await runningSyncOf(tx, source.id)
    if (running && await pullIsAlive(deps, tx, source.id, running)) return { syncId: running.id, joined: true }
    if (running) {
      const error = { code: 'LEASE_LOST', message: 'The worker running this sync stopped; a new pull took over.' }
      await finishSync(tx, running.id, { status: 'failed', error })
    }
    const sync = await insertSync(tx, { id: newId(), orgId: source.orgId, sourceId: source.id, direction: 'inbound', trigger: 'manual' })
    const jobId = await enqueuePull(deps.boss, { sourceId: source.id, trigger: 'manual', syncId: sync.id }, { db: tx.bossAdapter() })
    // rolls the sync back with the transaction: nothing is recorded for a refused request
    if (!jobId) throw new AppError('PULL_IN_PROGRESS', 'A scheduled pull of this source is queued and starts shortly.')
    await setSyncJob(tx, sync.id, jobId)
    await recordAudit(tx, actor, { action: 'pull', resourceType: 'data_source', resourceId: source.id, changes: { syncId: { after: sync.id } } })
    return { syncId: sync.id, joined: false }
  })
}

/**
 * Whether a `running` sync still has a pull behind it: a pull holds the source's lease, or its job is
 * queued, or a worker fetched the job within the lease time and is about to take the lease.
 * Otherwise the worker that ran it died, and a new pull may take over at once.
 */
async function pullIsAlive (deps: Deps, tx: Transaction, sourceId: string, sync: Sync): Promise<boolean> {
  if (await leaseActive(tx, sourceId)) return true
  if (!sync.jobId) return false
  const job = await findPullJob(deps.boss, sync.jobId, tx.bossAdapter())
  if (job === null) return false
  if (job.state === 'created' || job.state === 'retry') return true
  return job.state === 'active' && job.startedOn !== null && Date.now() - new Date(job.startedOn).getTime() < deps.config.pullLeaseSeconds * 1000
}

export function presentSync (sync: Sync) {
  const { orgId, jobId, ...rest } = sync
  return rest
}

/** Polls the sync row until it leaves "running" (the pull may run in another process). */
export async function waitForSync (deps: Pick<Deps, 'db'>, syncId: string, limitMs: number): Promise<Sync | null> {
  const deadline = Date.now() + limitMs
  while (Date.now() < deadline) {
    const sync = await getSyncById(deps.db, syncId)
    if (sync && sync.status !== 'running') return sync
    await new Promise(resolve => setTimeout(resolve, 250))
  }
  return null
}

export default sourceRoutes
