import { redactValue } from '../redact-value.js'
import type { SecretTypeDescriptor } from './descriptor.js'
import { checkString, invalid } from './fields.js'

export interface HttpHeaderSecretValue {
  /** header name, e.g. `Authorization`; not secret */
  name: string
  /** header value, e.g. `Bearer …`; secret */
  value: string
}

declare module '../secret.js' {
  interface SecretValues { http_header: HttpHeaderSecretValue }
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
/** a header field value: visible characters, spaces and tabs (no CR, LF, NUL or other controls) */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]+$/
/** headers Ferry or the HTTP layer sets itself; a secret may not override them */
const RESERVED_HEADERS = new Set([
  'host', 'content-length', 'content-type', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer',
  'expect', 'proxy-authorization', 'proxy-connection', 'webhook-id', 'webhook-timestamp', 'webhook-signature',
])

/** One HTTP header for bearer-style auth (outbound webhook sinks); the name is shown in clear. */
export const httpHeaderSecret: SecretTypeDescriptor<HttpHeaderSecretValue> = {
  type: 'http_header',
  fields: { required: ['name', 'value'], optional: [] },
  parse (source) {
    const name = checkString('value.name', source.name, { max: 256, pattern: TOKEN, what: 'a header name (letters, digits and !#$%&\'*+.^_`|~-)' })
    if (RESERVED_HEADERS.has(name.toLowerCase())) throw invalid('value.name', 'is a header Ferry sets itself; choose another header, e.g. Authorization')
    const value = checkString('value.value', source.value, { pattern: HEADER_VALUE, what: 'a header value (no line breaks or control characters)' })
    return { name, value }
  },
  redact: v => ({ name: v.name, value: redactValue(v.value) }),
  // the token of an `Authorization: Bearer …` / `Basic …` style value too; the header name is not secret
  secretStrings (v) {
    const scheme = typeof v.value === 'string' ? /^[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*\s+(\S.*)$/.exec(v.value.trim()) : null
    return [v.value, ...(scheme !== null ? [scheme[1].trim()] : [])]
  },
  triedBySourcePing: false,
}
