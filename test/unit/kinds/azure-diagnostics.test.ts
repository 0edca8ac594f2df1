import { RestError } from '@azure/storage-blob'
import { describe, expect, it } from 'vitest'
import { diagnoseAzureError, type AzureDiagnosisContext } from '../../../src/kinds/azure-blob/diagnostics.js'

// Answers Azurite cannot give (Azure's own error codes, throttling, DNS): built as the SDK builds them
const ctx: AzureDiagnosisContext = {
  accountName: 'acme01', container: 'feeds', endpoint: 'https://acme01.blob.core.windows.net', defaultEndpoint: true, auth: 'sas', operation: 'list',
}
const answer = (statusCode: number, errorCode: string) =>
  Object.assign(new RestError('service message with details', { statusCode, code: errorCode }), { details: { errorCode } })

describe('diagnoseAzureError', () => {
  it('403 AuthenticationFailed (Azure\'s wrong key / expired SAS) is AZURE_AUTH_FAILED; a SAS without a permission is AZURE_PERMISSION_DENIED', () => {
    expect(diagnoseAzureError(answer(403, 'AuthenticationFailed'), ctx)).toMatchObject({
      code: 'AZURE_AUTH_FAILED', message: expect.stringMatching(/refused the SAS token of account "acme01": it has expired/),
    })
    expect(diagnoseAzureError(answer(403, 'AuthenticationFailed'), { ...ctx, auth: 'key' }).message).toMatch(/refused the account key/)
    expect(diagnoseAzureError(answer(403, 'AuthorizationPermissionMismatch'), ctx)).toMatchObject({
      code: 'AZURE_PERMISSION_DENIED', message: expect.stringContaining('List (l) permission'),
    })
  })

  it('throttling and server errors are transient; the service message is never shown', () => {
    const busy = diagnoseAzureError(answer(503, 'ServerBusy'), ctx)
    expect(busy).toMatchObject({ code: 'AZURE_ERROR', failureType: 'transient', details: { reason: 'throttled' } })
    expect(diagnoseAzureError(answer(500, 'InternalError'), ctx)).toMatchObject({ code: 'AZURE_ERROR', details: { reason: 'server_error' } })
    expect(busy.message).not.toContain('service message')
  })

  it('a DNS failure on the default endpoint points at the account name', () => {
    const err = diagnoseAzureError(new RestError('getaddrinfo ENOTFOUND acme01.blob.core.windows.net', { code: 'ENOTFOUND' }), ctx)
    expect(err).toMatchObject({ code: 'AZURE_ERROR', failureType: 'transient', details: { reason: 'endpoint_unreachable' } })
    expect(err.message).toContain('check the storage account name "acme01"')
  })

  it('a 404 that is not a container or blob names the emulator account path', () => {
    expect(diagnoseAzureError(answer(404, 'ResourceNotFound'), { ...ctx, defaultEndpoint: false })).toMatchObject({
      code: 'AZURE_CONFIG', details: { reason: 'not_found' }, message: expect.stringContaining('ends with the account name'),
    })
  })

  it('a timeout (the SDK\'s AbortError) is transient', () => {
    const abort = Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' })
    expect(diagnoseAzureError(abort, ctx)).toMatchObject({ code: 'AZURE_ERROR', details: { reason: 'timeout' } })
  })
})
