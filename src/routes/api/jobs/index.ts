import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Deps } from '../../../deps.js'
import { getJobOf, jobResults, listJobsOf, requestJob, type JobOrigin, type MappingJob } from '../../../mapping/service.js'
import { CONTENT_TYPES, type ResultFormat } from '../../../results/format.js'
import { actorOf } from '../../../plugins/auth.js'
import { IdParams, ListOf, errorResponses } from '../../../schemas/common.js'
import { decodeCursor, page } from '../../../util/paging.js'
import { Job, JobCreate, JobListQuery, JobParams, ResultsQuery } from '../../../schemas/jobs.js'

export function presentJob (job: MappingJob, origin?: JobOrigin) {
  return {
    id: job.id,
    agentId: job.agentId,
    uploadId: job.uploadId,
    ...(origin ? { upload: origin } : {}),
    status: job.status,
    trigger: job.trigger,
    rows: job.rows,
    columns: job.output.map(c => c.column),
    error: job.error,
    createdAt: job.createdAt,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
  }
}

/** Mapping jobs: an upload's items projected through the agent's mapping.output (docs/push.md, "Mapping jobs"). */
const jobRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  app.post('/agents/:id/jobs', {
    schema: {
      operationId: 'createJob',
      tags: ['jobs'],
      summary: 'Start a mapping job for one of the agent\'s uploads (201, status queued)',
      description: 'The job projects the upload\'s items through agent.mapping.output (default: the canonical fields). ' +
        'On success every enabled RESULTS_SINK with autoPush receives the results.',
      params: IdParams,
      body: JobCreate,
      response: { 201: Job, ...errorResponses(400, 404, 409) },
    },
  }, async (request, reply) => {
    const job = await requestJob(deps, request.auth.orgId, request.params.id, request.body.uploadId, actorOf(request))
    return reply.status(201).send(presentJob(job))
  })

  app.get('/agents/:id/jobs', {
    schema: {
      operationId: 'listJobs',
      tags: ['jobs'],
      summary: 'The agent\'s mapping jobs, newest first',
      params: IdParams,
      querystring: JobListQuery,
      response: { 200: ListOf(Job), ...errorResponses(404) },
    },
  }, async (request) => {
    const limit = request.query.limit ?? 50
    const jobs = await listJobsOf(deps, request.auth.orgId, request.params.id, {
      limit, before: decodeCursor(request.query.cursor), uploadId: request.query.uploadId, status: request.query.status as MappingJob['status'] | undefined,
    })
    return page(jobs, limit, job => presentJob(job, job.origin))
  })

  app.get('/agents/:id/jobs/:jobId', {
    schema: { operationId: 'getJob', tags: ['jobs'], summary: 'One mapping job', params: JobParams, response: { 200: Job, ...errorResponses(404) } },
  }, async (request) => {
    const job = await getJobOf(deps, request.auth.orgId, request.params.id, request.params.jobId)
    return presentJob(job, job.origin)
  })

  app.get('/agents/:id/jobs/:jobId/results', {
    schema: {
      operationId: 'getJobResults',
      tags: ['jobs'],
      summary: 'A succeeded job\'s results, streamed as csv, json (an array of objects), ndjson or xlsx',
      description: 'CSV cells that a spreadsheet would run as a formula (text starting with = + - @, tab or carriage return) ' +
        'are prefixed with an apostrophe; numbers never are.',
      params: JobParams,
      querystring: ResultsQuery,
      produces: Object.values(CONTENT_TYPES).map(t => t.split(';')[0]),
      response: { 200: Type.Unknown({ description: 'the results file (streamed)' }), ...errorResponses(404, 409) },
    },
  }, async (request, reply) => {
    const format = (request.query.format ?? 'json') as ResultFormat
    const { job, stream } = await jobResults(deps, request.auth.orgId, request.params.id, request.params.jobId, format)
    stream.on('error', (err) => request.log.error({ err, jobId: job.id }, 'results stream failed'))
    return reply
      .header('content-type', CONTENT_TYPES[format])
      .header('content-disposition', `attachment; filename="job-${job.id}.${format}"`)
      .send(stream)
  })
}

export default jobRoutes
