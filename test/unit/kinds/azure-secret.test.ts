import { describe, expect, it } from 'vitest'
import { azureSecretStrings, parseAzureSecret, redactAzureSecret } from '../../../src/kinds/azure-blob/secret.js'

const KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
const SIG = 'AbC%2Bd/Ef%3D'
const SAS = `sv=2025-01-05&se=2027-01-01T00%3A00%3A00Z&sr=c&sp=rl&sig=${SIG}`

describe('the azure secret type', () => {
  it('takes an account name with exactly one of an account key and a SAS token', () => {
    expect(parseAzureSecret({ accountName: 'acme01', accountKey: KEY })).toEqual({ accountName: 'acme01', accountKey: KEY })
    expect(parseAzureSecret({ accountName: 'acme01', sasToken: `?${SAS}` })).toEqual({ accountName: 'acme01', sasToken: SAS })
    expect(parseAzureSecret({ accountName: 'acme01', sasToken: SAS, accountKey: null })).toEqual({ accountName: 'acme01', sasToken: SAS })
  })

  it('refuses what is not one, naming the field and never echoing a value', () => {
    const refused = (input: Record<string, unknown>, field: string) => {
      let err: unknown
      try {
        parseAzureSecret(input)
      } catch (e) {
        err = e
      }
      expect(err).toMatchObject({ code: 'VALIDATION_FAILED', details: { field } })
      for (const v of Object.values(input)) if (typeof v === 'string' && v.length > 6) expect((err as Error).message).not.toContain(v)
    }
    refused({ accountKey: KEY }, 'value.accountName')
    refused({ accountName: 'Acme-01', accountKey: KEY }, 'value.accountName')
    refused({ accountName: 'acme01' }, 'value.accountKey')
    refused({ accountName: 'acme01', accountKey: KEY, sasToken: SAS }, 'value.sasToken')
    refused({ accountName: 'acme01', accountKey: 'not base64 at all!' }, 'value.accountKey')
    refused({ accountName: 'acme01', accountKey: `${KEY} ` }, 'value.accountKey')
    refused({ accountName: 'acme01', sasToken: 'sv=2025-01-05&sp=rl' }, 'value.sasToken')
    refused({ accountName: 'acme01', sasToken: 'https://acme01.blob.core.windows.net/c?sig=x y' }, 'value.sasToken')
  })

  it('is shown with the account name in clear, the credential redacted, and a SAS\'s expiry and permissions', () => {
    expect(redactAzureSecret({ accountName: 'acme01', accountKey: KEY })).toEqual({ accountName: 'acme01', accountKey: 'mt_byo_****Gw==' })
    expect(redactAzureSecret({ accountName: 'acme01', sasToken: SAS })).toEqual({
      accountName: 'acme01', sasToken: 'mt_byo_****f%3D', sasExpiry: '2027-01-01T00:00:00Z', sasPermissions: 'rl',
    })
  })

  it('lists the key, the token and both forms of its signature for scrubbing, not the account name', () => {
    expect(azureSecretStrings({ accountName: 'acme01', accountKey: KEY })).toEqual([KEY])
    expect(azureSecretStrings({ accountName: 'acme01', sasToken: SAS })).toEqual([SAS, SIG, 'AbC+d/Ef='])
  })
})
