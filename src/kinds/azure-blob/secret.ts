import { AppError } from '../../errors.js'
import { redactValue } from '../../vault/redact-value.js'

/**
 * The `azure` secret type: a storage account name plus exactly one credential, the account's
 * shared key or a SAS token. The vault's secret-type descriptor calls these functions
 * (fields, parse, redact, secretStrings).
 *
 * The account name is not secret: it is the first label of every blob URL (shown in clear, like
 * a header name). A SAS token is secret as a whole, but its expiry (`se`) and permissions (`sp`)
 * are shown next to the redacted token, so a person can see why a SAS stopped working without
 * revealing it.
 */
export interface AzureSecretValue {
  accountName: string
  /** the account's shared key (base64, as the portal shows it) */
  accountKey?: string
  /** a service or account SAS, without the leading "?" */
  sasToken?: string
}

export const AZURE_SECRET_FIELDS = { required: ['accountName'], optional: ['accountKey', 'sasToken'] } as const

// storage account names: 3–24 lower-case letters and digits (Azure's own rule)
const ACCOUNT_NAME = /^[a-z0-9]{3,24}$/
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/
// a query string: name=value pairs of URL characters, no spaces
const QUERY = /^[A-Za-z0-9._~%!$&'()*+,;=:@/?-]+$/
const MAX_CHARS = 4096

const invalid = (field: string, problem: string): AppError =>
  new AppError('VALIDATION_FAILED', `value.${field} ${problem}.`, { details: { field: `value.${field}` } })

function text (input: Record<string, unknown>, field: string): string | undefined {
  const v = input[field]
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'string' || v === '') throw invalid(field, 'must be a non-empty string')
  if (v.trim() !== v) throw invalid(field, 'has leading or trailing whitespace (a copy-and-paste slip?)')
  if (v.length > MAX_CHARS) throw invalid(field, `must be at most ${MAX_CHARS} characters`)
  return v
}

/** An API value → the stored value. Throws VALIDATION_FAILED naming `value.<field>`; never echoes a value. */
export function parseAzureSecret (input: Record<string, unknown>): AzureSecretValue {
  const accountName = text(input, 'accountName')
  if (accountName === undefined) throw invalid('accountName', 'is required')
  if (!ACCOUNT_NAME.test(accountName)) throw invalid('accountName', 'must be 3 to 24 lower-case letters and digits (the storage account name)')
  const accountKey = text(input, 'accountKey')
  const rawSas = text(input, 'sasToken')
  if ((accountKey === undefined) === (rawSas === undefined)) {
    const message = 'Give exactly one of value.accountKey (the account\'s shared key) and value.sasToken (a SAS token).'
    throw new AppError('VALIDATION_FAILED', message, {
      details: { field: accountKey === undefined ? 'value.accountKey' : 'value.sasToken' },
    })
  }
  if (accountKey !== undefined) {
    if (!BASE64.test(accountKey) || accountKey.length % 4 !== 0) {
      throw invalid('accountKey', 'must be base64 (the "key1" or "key2" value of the storage account\'s access keys)')
    }
    return { accountName, accountKey }
  }
  const sasToken = rawSas!.replace(/^\?/, '')
  if (!QUERY.test(sasToken) || sasParam(sasToken, 'sig') === undefined) {
    throw invalid('sasToken', 'must be a SAS token: the query string with sv=…&sig=… (with or without the leading "?")')
  }
  return { accountName, sasToken }
}

function sasParam (token: string, name: string): string | undefined {
  for (const pair of token.split('&')) {
    const eq = pair.indexOf('=')
    if (eq > 0 && pair.slice(0, eq) === name && eq < pair.length - 1) return pair.slice(eq + 1)
  }
  return undefined
}

function decoded (s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

/** The `redacted` object of API output. */
export function redactAzureSecret (v: AzureSecretValue): Record<string, string> {
  const out: Record<string, string> = { accountName: v.accountName }
  if (v.accountKey !== undefined) out.accountKey = redactValue(v.accountKey)
  if (v.sasToken !== undefined) {
    out.sasToken = redactValue(v.sasToken)
    const expiry = sasParam(v.sasToken, 'se')
    const permissions = sasParam(v.sasToken, 'sp')
    if (expiry !== undefined) out.sasExpiry = decoded(expiry)
    if (permissions !== undefined) out.sasPermissions = decoded(permissions)
  }
  return out
}

/**
 * Every sensitive string of a value as it is (the vault adds the JSON- and URL-encoded forms). A
 * SAS travels in request URLs, where its signature may appear percent-encoded or decoded: both
 * forms of `sig` are listed, besides the whole token.
 */
export function azureSecretStrings (v: AzureSecretValue): string[] {
  const out: string[] = []
  if (typeof v.accountKey === 'string') out.push(v.accountKey)
  if (typeof v.sasToken === 'string') {
    out.push(v.sasToken)
    const sig = sasParam(v.sasToken, 'sig')
    if (sig !== undefined) out.push(sig, decoded(sig))
  }
  return [...new Set(out)].filter(s => s !== '')
}
