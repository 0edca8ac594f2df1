import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Deps } from '../../../deps.js'
import { requireAgent } from '../../../agents/service.js'
import { effectiveCron, type DataSource } from '../../../domain/source.js'
import { isPulled, roleOf } from '../../../kinds/registry.js'
import { AppError } from '../../../errors.js'
import { IdParams, ListOf, Uuid, errorResponses } from '../../../schemas/common.js'
import { decodeCursor, page } from '../../../util/paging.js'
import { ResetBody, SourceCreate, SourceParams, SourcePatch, SyncListQuery, SyncParams, TestResult } from '../../../schemas/sources.js'
import { cancelSync, getSyncOf, listSyncsOf, resetSource, waitForSync, type Sync } from '../../../sync/operations.js'
import { createSource, updateSourceWith } from '../../../sources/service.js'
import { requireSource } from '../../../sources/lookup.js'
import { requestPull } from '../../../sources/pull-now.js'
import { deleteSource, findSourceById, getSourceOf, listSourcesOf, sourceExtras } from '../../../sources/records.js'
import { testSource } from '../../../sync/availability.js'
import { requestPush, retryPushNow } from '../../../push/service.js'
import { PushBody } from '../../../schemas/jobs.js'
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
    const { lastSyncs: last, secrets } = await sourceExtras(deps, sources)
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
    const agent = await requireAgent(db, request.auth.orgId, request.params.id)
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
    const { agent, sources } = await listSourcesOf(deps, request.auth.orgId, request.params.id)
    return { items: await present(sources, agent.scheduleCron) }
  })

  app.get('/agents/:id/data-sources/:sid', {
    schema: {
      operationId: 'getDataSource', tags: ['data-sources'], summary: 'One source or sink', params: SourceParams,
      response: { 200: SourceRef, ...errorResponses(404) },
    },
  }, async (request) => {
    const { agent, source } = await getSourceOf(deps, request.auth.orgId, request.params.id, request.params.sid)
    const [out] = await present([source], agent.scheduleCron)
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
    const { agent, source } = await findSourceById(deps, request.auth.orgId, request.params.sid)
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
    const agent = await requireAgent(db, request.auth.orgId, request.params.id)
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
    await deleteSource(deps, request.auth.orgId, request.params.id, request.params.sid, actorOf(request))
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
    const source = await requireSource(db, request.auth.orgId, request.params.id, request.params.sid)
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
    const { syncId, joined } = await requestPull(deps, request.auth.orgId, request.params.id, request.params.sid, actorOf(request))
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
    const syncs = await listSyncsOf(deps, request.auth.orgId, request.params.id, request.params.sid, filter)
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
    return presentSync(await getSyncOf(deps, request.auth.orgId, request.params.id, request.params.sid, request.params.syncId))
  })
}

export function presentSync (sync: Sync) {
  const { orgId, jobId, ...rest } = sync
  return rest
}

export default sourceRoutes
