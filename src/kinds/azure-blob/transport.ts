import type http from 'node:http'
import { Transform, type Readable } from 'node:stream'
import {
  AnonymousCredential, ContainerClient, Pipeline, StorageSharedKeyCredential,
  type RequestPolicyFactory, type StoragePipelineOptions, type WebResource,
} from '@azure/storage-blob'
import { createGuardedAgents, safeEndpoint } from '../../net/guarded-agents.js'
import type { RemoteFile } from '../../connectors/remote-file.js'
import type { Transport } from '../../connectors/transport.js'
import { normalisePrefix } from '../../domain/source.js'
import { AppError, isAppError } from '../../errors.js'
import type { AddressPolicy } from '../../net/address-policy.js'
import { assertTargetUrl } from '../../net/guarded-http.js'
import type { Resolver } from '../../net/guarded-lookup.js'
import { diagnoseAzureError, type AzureDiagnosisContext } from './diagnostics.js'
import type { AzureSecretValue } from './secret.js'
import { readHead } from '../../connectors/read-head.js'

/**
 * The Azure Blob Storage transport (docs/architecture.md, "Source kinds"): lists, opens and puts
 * blobs of one container under a prefix, nothing else. Every failure leaves as an AppError from
 * diagnoseAzureError (or the guard's TARGET_NOT_ALLOWED).
 *
 * The guarded network path: the SDK's own HTTP client is kept, but a pipeline policy pins every
 * request, retries included, to the guarded http/https agents (the guarded DNS lookup plus the
 * IP-literal check, src/connectors/s3-client.ts). It runs after the SDK's proxy policy and
 * overrides whatever agent that set: an HTTPS_PROXY in the environment must not carry customer
 * traffic past the address policy.
 *
 * Timeouts: `timeoutMs` bounds each try until the response headers arrive (the SDK's own
 * try timeout is only a server-side hint) and each pause of a download's body. Retries: the
 * SDK's, capped at 3 tries with short back-off so a save-time ping answers within seconds.
 */

export interface AzureBlobLocation {
  container: string
  prefix?: string
  /** the blob service URL; absent = https://{accountName}.blob.core.windows.net (Azurite: http://127.0.0.1:10000/devstoreaccount1) */
  endpoint?: string
}

export interface AzureBlobTransportOptions {
  location: AzureBlobLocation
  credentials: AzureSecretValue
  policy: AddressPolicy
  /** per-try deadline until the response headers, and the longest pause of a download (ms) */
  timeoutMs: number
  /** blobs per listing page (Azure allows up to 5000). Default 1000 */
  pageSize?: number
  /** tests only */
  resolver?: Resolver
}

/** Block size of uploads; at most UPLOAD_CONCURRENCY blocks are in flight, so memory stays bounded whatever the result's size. */
const UPLOAD_BLOCK_BYTES = 4 * 1024 * 1024
const UPLOAD_CONCURRENCY = 2
const WRITE_CHECK_BLOB = '.ferry-write-check'

/** The blob service URL of an account: the configured endpoint, or Azure's public one. */
export function azureEndpoint (accountName: string, endpoint?: string): string {
  return (endpoint ?? `https://${accountName}.blob.core.windows.net`).replace(/\/+$/, '')
}

/**
 * Network-free check of a configured endpoint (save time and construction): an http(s) URL
 * without user-info, query or fragment (a SAS belongs in the secret, not in the config, which
 * is stored and shown in clear), whose host is not a refused IP literal. Throws TARGET_NOT_ALLOWED.
 */
export function checkAzureEndpoint (endpoint: string, policy: AddressPolicy): URL {
  const shown = safeEndpoint(endpoint)
  let url: URL
  try {
    url = assertTargetUrl(endpoint, policy)
  } catch (err) {
    if (!isAppError(err)) throw err
    throw new AppError(err.code, `The Azure endpoint ${shown} is refused: ${err.message}`, { details: { ...err.details, endpoint: shown } })
  }
  if (url.search !== '' || url.hash !== '') {
    throw new AppError('TARGET_NOT_ALLOWED', 'The Azure endpoint must not contain a query string or fragment; a SAS token belongs in the secret.', {
      details: { reason: 'query', endpoint: shown },
    })
  }
  return url
}

/** Pins every request to the guarded agents and bounds it by the timeout (see the module comment). */
function guardedAgentPolicy (agents: { httpAgent: http.Agent, httpsAgent: http.Agent }, timeoutMs: number): RequestPolicyFactory {
  return {
    create: (next) => ({
      sendRequest: async (request: WebResource) => {
        request.agent = (request.url.startsWith('https:') ? agents.httpsAgent : agents.httpAgent) as unknown as WebResource['agent']
        request.proxySettings = undefined
        if (!request.timeout) request.timeout = timeoutMs
        return next.sendRequest(request)
      },
    }),
  }
}

export class AzureBlobTransport implements Transport {
  readonly #container: ContainerClient
  readonly #agents: { httpAgent: http.Agent, httpsAgent: http.Agent }
  readonly #prefix: string
  readonly #pageSize: number
  readonly #timeoutMs: number
  readonly #context: Omit<AzureDiagnosisContext, 'operation'>

  /** Throws TARGET_NOT_ALLOWED at once for an endpoint that is not an http(s) URL or whose host is a refused IP literal. */
  constructor (options: AzureBlobTransportOptions) {
    const { location, credentials } = options
    const endpoint = azureEndpoint(credentials.accountName, location.endpoint)
    checkAzureEndpoint(endpoint, options.policy)
    this.#prefix = normalisePrefix(location.prefix)
    this.#pageSize = options.pageSize ?? 1000
    this.#timeoutMs = options.timeoutMs
    this.#context = {
      accountName: credentials.accountName,
      container: location.container,
      endpoint: safeEndpoint(endpoint),
      defaultEndpoint: location.endpoint === undefined,
      auth: credentials.accountKey !== undefined ? 'key' : 'sas',
      prefix: this.#prefix,
    }
    this.#agents = createGuardedAgents(options.policy, { resolver: options.resolver })
    const credential = credentials.accountKey !== undefined
      ? new StorageSharedKeyCredential(credentials.accountName, credentials.accountKey)
      : new AnonymousCredential()
    const pipelineOptions: StoragePipelineOptions = {
      retryOptions: { maxTries: 3, retryDelayInMs: 500, maxRetryDelayInMs: 4000 },
    }
    const sas = credentials.sasToken !== undefined ? `?${credentials.sasToken}` : ''
    this.#container = new ContainerClient(`${endpoint}/${encodeURIComponent(location.container)}${sas}`,
      new Pipeline([credential, guardedAgentPolicy(this.#agents, options.timeoutMs)], pipelineOptions))
  }

  #diagnose (err: unknown, operation: AzureDiagnosisContext['operation'], blob?: string): AppError {
    return diagnoseAzureError(err, { ...this.#context, operation, ...(blob !== undefined ? { blob } : {}) })
  }

  /** List blobs, at most one: the save-time ping (needs the List permission, writes nothing). */
  async ping (): Promise<void> {
    try {
      await this.#container.listBlobsFlat({ prefix: this.#prefix }).byPage({ maxPageSize: 1 }).next()
    } catch (err) {
      throw this.#diagnose(err, 'list')
    }
  }

  /**
   * The sink's extra save-time check: writes and deletes an empty `{prefix}.ferry-write-check`
   * blob, so missing write permission is caught before the first push.
   */
  async writeCheck (): Promise<void> {
    const blob = this.#container.getBlockBlobClient(`${this.#prefix}${WRITE_CHECK_BLOB}`)
    try {
      await blob.upload('', 0)
      await blob.deleteIfExists()
    } catch (err) {
      throw this.#diagnose(err, 'write', blob.name)
    }
  }

  /** Every blob under the prefix, one page at a time; the ledger's etag is the blob's ETag. */
  async * list (signal?: AbortSignal): AsyncGenerator<RemoteFile[]> {
    const pages = this.#container.listBlobsFlat({ prefix: this.#prefix, abortSignal: signal }).byPage({ maxPageSize: this.#pageSize })
    for (;;) {
      let next
      try {
        next = await pages.next()
      } catch (err) {
        throw this.#diagnose(err, 'list')
      }
      if (next.done === true) return
      yield next.value.segment.blobItems.map(item => ({
        key: item.name,
        etag: item.properties.etag ?? '',
        size: item.properties.contentLength ?? 0,
        lastModified: item.properties.lastModified ?? null,
      }))
    }
  }

  /**
   * Streams one blob. `If-Match` pins the version that was listed: a blob overwritten since fails
   * with AZURE_BLOB_CHANGED (412) and its new version is taken by the next pull, under its own ETag.
   */
  async open (file: RemoteFile, signal?: AbortSignal): Promise<Readable> {
    let body: NodeJS.ReadableStream | undefined
    try {
      const res = await this.#container.getBlobClient(file.key).download(0, undefined, {
        abortSignal: signal,
        // a broken connection resumes from the last byte, still under If-Match
        maxRetryRequests: 2,
        ...(file.etag !== '' ? { conditions: { ifMatch: quoted(file.etag) } } : {}),
      })
      body = res.readableStreamBody
    } catch (err) {
      throw this.#diagnose(err, 'read', file.key)
    }
    if (body === undefined) throw new AppError('INTERNAL', 'The Azure SDK returned no body stream for a download.')
    return this.#watch(body as Readable, file.key)
  }

  /** The first `bytes` of a blob (a ranged download): all the Test and the preview read. */
  async head (file: RemoteFile, bytes: number): Promise<Buffer> {
    // Azure answers a range of an empty blob with 416
    if (file.size === 0) return Buffer.alloc(0)
    try {
      const res = await this.#container.getBlobClient(file.key).download(0, bytes, { maxRetryRequests: 0 })
      return await readHead(res.readableStreamBody as Readable, bytes)
    } catch (err) {
      throw this.#diagnose(err, 'read', file.key)
    }
  }

  /**
   * Writes a block blob from a stream: blocks of 4 MiB, two in flight, committed by one block
   * list at the end, so a reader sees the old blob or the whole new one, never half of it.
   */
  async put (key: string, body: Readable, contentType: string): Promise<{ etag: string | null }> {
    try {
      const res = await this.#container.getBlockBlobClient(key).uploadStream(body, UPLOAD_BLOCK_BYTES, UPLOAD_CONCURRENCY, {
        blobHTTPHeaders: { blobContentType: contentType },
      })
      return { etag: res.etag ?? null }
    } catch (err) {
      throw this.#diagnose(err, 'write', key)
    }
  }

  /** Closes the pooled connections (the transport holds no other resource). */
  async close (): Promise<void> {
    this.#agents.httpAgent.destroy()
    this.#agents.httpsAgent.destroy()
  }

  /**
   * The download as the pull reads it: errors of the body leave diagnosed, and a body that sends
   * nothing for `timeoutMs` is cut off (AZURE_ERROR, reason timeout) rather than holding the pull.
   */
  #watch (body: Readable, key: string): Readable {
    let timer: NodeJS.Timeout | undefined
    const arm = (): void => {
      clearTimeout(timer)
      timer = setTimeout(() => body.destroy(Object.assign(new Error('download stalled'), { code: 'ETIMEDOUT' })), this.#timeoutMs)
      timer.unref()
    }
    const watched = new Transform({
      transform (chunk, _encoding, callback) {
        arm()
        callback(null, chunk)
      },
    })
    body.on('error', (err) => watched.destroy(this.#diagnose(err, 'read', key)))
    // the reader stopped early (or the body failed): stop the download too
    watched.on('close', () => {
      clearTimeout(timer)
      if (!body.destroyed) body.destroy()
    })
    arm()
    body.pipe(watched)
    return watched
  }
}

/** Azure lists ETags unquoted (`0x8D…`) but compares If-Match as an HTTP entity tag. */
function quoted (etag: string): string {
  return etag.startsWith('"') || etag.startsWith('W/') ? etag : `"${etag}"`
}
