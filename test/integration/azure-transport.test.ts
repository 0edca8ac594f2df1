import crypto from 'node:crypto'
import { Readable } from 'node:stream'
import util from 'node:util'
import { ContainerSASPermissions, generateBlobSASQueryParameters, StorageSharedKeyCredential, type ContainerClient } from '@azure/storage-blob'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AzureBlobTransport, type AzureBlobTransportOptions } from '../../src/kinds/azure-blob/transport.js'
import type { AzureSecretValue } from '../../src/kinds/azure-blob/secret.js'
import { AddressPolicy } from '../../src/net/address-policy.js'
import { freePort } from '../helpers/process.js'
import { startAzurite, type AzuriteHandle } from '../helpers/azurite.js'

const loopback = new AddressPolicy(['127.0.0.0/8', '::1/128'])
const strict = new AddressPolicy([])

// no database is involved: run in one of the two backend projects only
describe.skipIf(process.env.FERRY_TEST_DB === 'postgres')('AzureBlobTransport against Azurite', () => {
  let azurite: AzuriteHandle
  let inventory: ContainerClient
  const transports: AzureBlobTransport[] = []

  beforeAll(async () => {
    azurite = await startAzurite()
    inventory = await azurite.createContainer('inventory')
    await azurite.createContainer('results')
    for (const name of ['daily/a.csv', 'daily/b.csv', 'daily/c.csv', 'daily/d.csv', 'daily/e.csv', 'weekly/x.csv', 'top.csv']) {
      await inventory.getBlockBlobClient(name).upload(`sku,qty\n${name},1\n`, Buffer.byteLength(`sku,qty\n${name},1\n`))
    }
  })
  afterAll(async () => {
    for (const t of transports) await t.close()
    await azurite?.stop()
  })

  const keyAuth = (): AzureSecretValue => ({ accountName: azurite.accountName, accountKey: azurite.accountKey })
  const transport = (overrides: Partial<AzureBlobTransportOptions> & { container?: string, prefix?: string } = {}): AzureBlobTransport => {
    const t = new AzureBlobTransport({
      location: {
        container: overrides.container ?? 'inventory', prefix: overrides.prefix ?? 'daily/', endpoint: overrides.location?.endpoint ?? azurite.endpoint,
      },
      credentials: overrides.credentials ?? keyAuth(),
      policy: overrides.policy ?? loopback,
      timeoutMs: overrides.timeoutMs ?? 5000,
      pageSize: overrides.pageSize,
    })
    transports.push(t)
    return t
  }
  const sas = (container: string, permissions: string, expiresOn = new Date(Date.now() + 3600_000)): string =>
    generateBlobSASQueryParameters({ containerName: container, permissions: ContainerSASPermissions.parse(permissions), expiresOn },
      new StorageSharedKeyCredential(azurite.accountName, azurite.accountKey)).toString()
  const all = async (t: AzureBlobTransport) => {
    const pages = []
    for await (const page of t.list()) pages.push(page)
    return pages
  }
  const text = async (stream: Readable): Promise<string> => {
    const chunks: Buffer[] = []
    for await (const c of stream) chunks.push(c as Buffer)
    return Buffer.concat(chunks).toString()
  }

  it('pings with the account key', async () => {
    await expect(transport().ping()).resolves.toBeUndefined()
  })

  it('a wrong account key fails the ping with AZURE_AUTH_FAILED, naming the key but not showing it', async () => {
    const wrongKey = crypto.randomBytes(64).toString('base64')
    const err = await transport({ credentials: { accountName: azurite.accountName, accountKey: wrongKey } }).ping().catch(e => e)
    expect(err).toMatchObject({ code: 'AZURE_AUTH_FAILED', failureType: 'config', details: { reason: 'auth_failed', httpStatus: 403 } })
    expect(err.message).toMatch(/refused the account key of account "devstoreaccount1"/)
    expect(JSON.stringify({ message: err.message, details: err.details })).not.toContain(wrongKey.slice(0, 20))
  })

  it('a missing container fails with AZURE_CONTAINER_NOT_FOUND', async () => {
    const err = await transport({ container: 'nosuch' }).ping().catch(e => e)
    expect(err).toMatchObject({ code: 'AZURE_CONTAINER_NOT_FOUND', failureType: 'config' })
    expect(err.message).toContain('"nosuch"')
  })

  it('works with a SAS token; a SAS without the List permission, or with a bad signature, is refused', async () => {
    const good = transport({ credentials: { accountName: azurite.accountName, sasToken: sas('inventory', 'rl') } })
    await good.ping()
    expect((await all(good)).flat().map(f => f.key)).toHaveLength(5)

    const readOnly = await transport({ credentials: { accountName: azurite.accountName, sasToken: sas('inventory', 'r') } }).ping().catch(e => e)
    expect(readOnly).toMatchObject({ code: 'AZURE_PERMISSION_DENIED', failureType: 'config' })

    const forged = sas('inventory', 'rl').replace(/sig=[^&]+/, `sig=${encodeURIComponent(crypto.randomBytes(32).toString('base64'))}`)
    const err = await transport({ credentials: { accountName: azurite.accountName, sasToken: forged } }).ping().catch(e => e)
    expect(err).toMatchObject({ code: 'AZURE_AUTH_FAILED' })
    expect(err.message).toMatch(/SAS token/)
    expect(err.message).not.toContain('sig=')
    // nor in what a log would print of the error and its cause (the SDK hides the request and its URL)
    const sig = decodeURIComponent(/sig=([^&]+)/.exec(forged)![1])
    for (const printed of [util.inspect(err, { depth: 8 }), JSON.stringify(pino.stdSerializers.err(err)), JSON.stringify(err.cause)]) {
      expect(printed).not.toContain(sig)
      expect(printed).not.toContain(encodeURIComponent(sig))
    }
  })

  it('lists the prefix page by page, with ETag, size and last-modified', async () => {
    const pages = await all(transport({ pageSize: 2 }))
    expect(pages.map(p => p.length)).toEqual([2, 2, 1])
    const files = pages.flat()
    expect(files.map(f => f.key)).toEqual(['daily/a.csv', 'daily/b.csv', 'daily/c.csv', 'daily/d.csv', 'daily/e.csv'])
    for (const f of files) {
      expect(f.etag).not.toBe('')
      expect(f.size).toBe(Buffer.byteLength(`sku,qty\n${f.key},1\n`))
      expect(f.lastModified).toBeInstanceOf(Date)
    }
    expect((await all(transport({ prefix: '' }))).flat().length).toBeGreaterThanOrEqual(7)
  })

  it('streams a blob; an overwrite changes its ETag, and opening the listed version then fails with AZURE_BLOB_CHANGED', async () => {
    const t = transport()
    const [before] = (await all(t)).flat().filter(f => f.key === 'daily/c.csv')
    expect(await text(await t.open(before))).toBe('sku,qty\ndaily/c.csv,1\n')
    expect((await t.head(before, 7)).toString()).toBe('sku,qty')

    await inventory.getBlockBlobClient('daily/c.csv').upload('sku,qty\nnew,2\n', 14)
    const [after] = (await all(t)).flat().filter(f => f.key === 'daily/c.csv')
    expect(after.etag).not.toBe(before.etag)

    const err = await t.open(before).catch(e => e)
    expect(err).toMatchObject({ code: 'AZURE_BLOB_CHANGED', failureType: 'transient', details: { httpStatus: 412, blob: 'daily/c.csv' } })
    expect(await text(await t.open(after))).toBe('sku,qty\nnew,2\n')
  })

  it('puts a multi-megabyte result as blocks, committed at once', async () => {
    const t = transport({ container: 'results', prefix: 'out/' })
    const data = crypto.randomBytes(10 * 1024 * 1024 + 123)
    const chunks = Array.from({ length: Math.ceil(data.length / 65536) }, (_, i) => data.subarray(i * 65536, (i + 1) * 65536))
    const { etag } = await t.put('out/job-1.csv', Readable.from(chunks), 'text/csv')
    expect(etag).toBeTruthy()
    const blob = azurite.container('results').getBlockBlobClient('out/job-1.csv')
    const props = await blob.getProperties()
    expect(props.contentLength).toBe(data.length)
    expect(props.contentType).toBe('text/csv')
    expect(props.etag).toBe(etag)
    const blocks = await blob.getBlockList('committed')
    expect(blocks.committedBlocks?.length).toBeGreaterThan(1)
    const downloaded = await blob.downloadToBuffer()
    expect(downloaded.equals(data)).toBe(true)
  })

  it('the write check passes with write permission and fails without it', async () => {
    await transport({ container: 'results', prefix: 'out/' }).writeCheck()
    expect((await all(transport({ container: 'results', prefix: 'out/.ferry' }))).flat()).toEqual([])
    const readOnly = transport({ container: 'results', prefix: 'out/', credentials: { accountName: azurite.accountName, sasToken: sas('results', 'rl') } })
    await expect(readOnly.writeCheck()).rejects.toMatchObject({ code: 'AZURE_PERMISSION_DENIED' })
  })

  it('refuses a private endpoint when the policy forbids it: an IP literal at once, a name when it resolves', async () => {
    expect(() => transport({ policy: strict })).toThrow(expect.objectContaining({
      code: 'TARGET_NOT_ALLOWED',
      message: expect.stringMatching(/^The Azure endpoint http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1 is refused: .*loopback address/),
    }))
    const started = Date.now()
    const err = await transport({ policy: strict, location: { container: 'inventory', endpoint: `http://localhost:${azurite.port}/devstoreaccount1` } })
      .ping().catch(e => e)
    expect(err).toMatchObject({ code: 'TARGET_NOT_ALLOWED', details: { reason: 'address' } })
    expect(err.message).toMatch(/"localhost" resolves to a loopback address/)
    expect(Date.now() - started).toBeLessThan(1500) // not retried
    const upload = transport({ policy: strict, location: { container: 'results', endpoint: `http://localhost:${azurite.port}/devstoreaccount1` } })
    await expect(upload.put('out/refused.csv', Readable.from([Buffer.alloc(5 * 1024 * 1024)]), 'text/csv'))
      .rejects.toMatchObject({ code: 'TARGET_NOT_ALLOWED' })
    expect(() => transport({ location: { container: 'inventory', endpoint: `${azurite.endpoint}?sv=x&sig=y` } }))
      .toThrow(expect.objectContaining({ code: 'TARGET_NOT_ALLOWED', details: expect.objectContaining({ reason: 'query' }) }))
  })

  it('an HTTP(S)_PROXY in the environment does not take the requests off the guarded path', async () => {
    const deadProxy = `http://127.0.0.1:${await freePort()}`
    const saved = { HTTP_PROXY: process.env.HTTP_PROXY, HTTPS_PROXY: process.env.HTTPS_PROXY }
    process.env.HTTP_PROXY = deadProxy
    process.env.HTTPS_PROXY = deadProxy
    try {
      // through the proxy this would fail (nothing listens there); the guarded agent connects directly
      await transport().ping()
      const named = transport({ policy: strict, location: { container: 'inventory', endpoint: `http://localhost:${azurite.port}/devstoreaccount1` } })
      await expect(named.ping()).rejects.toMatchObject({ code: 'TARGET_NOT_ALLOWED' })
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name]
        else process.env[name] = value
      }
    }
  })

  it('an empty blob heads as no bytes', async () => {
    await inventory.getBlockBlobClient('empty/zero.csv').upload('', 0)
    const t = transport({ prefix: 'empty/' })
    const [file] = (await all(t)).flat()
    expect(file.size).toBe(0)
    expect(await t.head(file, 100)).toEqual(Buffer.alloc(0))
  })

  it('an endpoint nobody listens on is a transient AZURE_ERROR', async () => {
    const port = await freePort()
    const err = await transport({ location: { container: 'inventory', endpoint: `http://127.0.0.1:${port}/devstoreaccount1` } }).ping().catch(e => e)
    expect(err).toMatchObject({ code: 'AZURE_ERROR', failureType: 'transient', details: { reason: 'endpoint_unreachable', networkCode: 'ECONNREFUSED' } })
  })
})
