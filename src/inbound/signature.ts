import { isUtf8 } from 'node:buffer'
import { createHmac, timingSafeEqual, type Hmac } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import { Webhook } from 'standardwebhooks'
import type { Deps } from '../deps.js'
import { AppError } from '../errors.js'

/**
 * Standard Webhooks verification of an inbound delivery (v1 = HMAC-SHA256 over
 * `${webhook-id}.${webhook-timestamp}.${raw body bytes}`, base64, header `v1,<sig>` possibly
 * several, space-separated).
 *
 * The body can be up to FERRY_INBOUND_MAX_BYTES (100 MiB) and is never held whole, so the HMAC is
 * computed incrementally over the bytes as they stream to disk ({@link SignatureVerifier}). Bodies
 * small enough to hold and that are UTF-8 text are also verified by the `standardwebhooks` library
 * itself ({@link verifyWithLibrary}): its header and timestamp rules are the reference, and both
 * checks must pass. The library signs `payload.toString()` (UTF-8 decoding), so for binary bodies
 * (gzip, XLSX) it would verify a lossy transcoding instead of the bytes: those are verified by the
 * raw-byte HMAC only (docs/inbound-webhooks.md).
 */

/** The reference libraries' tolerance, both directions. */
export const TIMESTAMP_TOLERANCE_SECONDS = 5 * 60
/** Bodies up to this size are also checked by the standardwebhooks library. */
export const LIBRARY_CHECK_MAX_BYTES = 1024 * 1024

const WEBHOOK_ID = /^[\x21-\x2d\x2f-\x7e]{1,256}$/ // visible ASCII without '.', which separates the signed parts
const TIMESTAMP = /^\d{1,12}$/
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/
const MAX_SIGNATURES = 16

export interface SignatureHeaders {
  id: string
  /** the header as sent (it is part of the signed content) */
  timestamp: string
  /** the decoded `v1` signatures (other schemes, e.g. v1a, are ignored) */
  signatures: Buffer[]
  /** the three headers as sent, for the library check */
  raw: Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string>
}

const refuse = (message: string): AppError => new AppError('WEBHOOK_SIGNATURE_INVALID', message)

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const v = headers[name]
  return Array.isArray(v) ? v.join(' ') : v
}

/**
 * Reads and checks the three headers before any body byte is read: presence, shape, and the
 * timestamp window. Throws 401 WEBHOOK_SIGNATURE_INVALID saying what is wrong (never the value).
 */
export function readSignatureHeaders (headers: IncomingHttpHeaders, nowMs = Date.now()): SignatureHeaders {
  const id = header(headers, 'webhook-id')?.trim()
  const timestamp = header(headers, 'webhook-timestamp')?.trim()
  const signature = header(headers, 'webhook-signature')?.trim()
  const missing = [!id && 'webhook-id', !timestamp && 'webhook-timestamp', !signature && 'webhook-signature'].filter(Boolean)
  if (missing.length) {
    throw refuse(`The delivery is not signed: the ${missing.join(', ')} header${missing.length > 1 ? 's are' : ' is'} missing (Standard Webhooks).`)
  }
  if (!WEBHOOK_ID.test(id!)) throw refuse('The webhook-id header must be 1 to 256 visible ASCII characters without ".".')
  if (!TIMESTAMP.test(timestamp!)) throw refuse('The webhook-timestamp header must be the signing time in whole Unix seconds.')
  const skew = Math.floor(nowMs / 1000) - Number(timestamp)
  if (skew > TIMESTAMP_TOLERANCE_SECONDS) {
    throw refuse('The webhook-timestamp is more than 5 minutes old: sign each attempt anew and check the sender\'s clock.')
  }
  if (skew < -TIMESTAMP_TOLERANCE_SECONDS) throw refuse('The webhook-timestamp is more than 5 minutes in the future: check the sender\'s clock.')

  const signatures: Buffer[] = []
  for (const part of signature!.split(' ').filter(Boolean).slice(0, MAX_SIGNATURES)) {
    const comma = part.indexOf(',')
    if (comma === -1 || part.slice(0, comma) !== 'v1') continue
    const b64 = part.slice(comma + 1)
    if (!BASE64.test(b64)) continue
    const decoded = Buffer.from(b64, 'base64')
    if (decoded.length === 32) signatures.push(decoded)
  }
  if (signatures.length === 0) throw refuse('The webhook-signature header holds no "v1,<base64 HMAC-SHA256>" signature.')
  return { id: id!, timestamp: timestamp!, signatures, raw: { 'webhook-id': id!, 'webhook-timestamp': timestamp!, 'webhook-signature': signature! } }
}

/** The HMAC key of a `whsec_` secret: the base64 after the prefix, decoded. */
export function signingKey (signingSecret: string): Buffer {
  const key = Buffer.from(signingSecret.startsWith('whsec_') ? signingSecret.slice(6) : signingSecret, 'base64')
  if (key.length === 0) throw new AppError('INTERNAL', 'The webhook signing secret holds no key.')
  return key
}

/** The v1 HMAC computed chunk by chunk as the body streams past. */
export class SignatureVerifier {
  readonly #hmac: Hmac

  constructor (key: Buffer, private readonly headers: SignatureHeaders) {
    this.#hmac = createHmac('sha256', key).update(`${headers.id}.${headers.timestamp}.`)
  }

  update (chunk: Buffer): void { this.#hmac.update(chunk) }

  /** Call once, after the last chunk: true if any of the header's v1 signatures matches. */
  matches (): boolean {
    const expected = this.#hmac.digest()
    let ok = false
    // every signature is compared (no early exit), each in constant time
    for (const candidate of this.headers.signatures) ok = timingSafeEqual(candidate, expected) || ok
    return ok
  }
}

/**
 * The standardwebhooks library's own verification, for bodies it can represent: at most
 * LIBRARY_CHECK_MAX_BYTES and valid UTF-8. Returns false when it rejects; null when not applicable.
 */
export function verifyWithLibrary (signingSecret: string, body: Buffer | null, headers: SignatureHeaders): boolean | null {
  if (body === null || body.length > LIBRARY_CHECK_MAX_BYTES || !isUtf8(body)) return null
  try {
    new Webhook(signingSecret).verify(body, headers.raw, { jsonParse: false })
    return true
  } catch {
    return false
  }
}

/**
 * The webhook-signature header of an outbound delivery (a push to a webhook sink, a webhook
 * channel's notification): one `v1,` signature per signing secret of `secretRef`, so during a
 * rotation overlap the receiver accepts it whichever of the two secrets it holds (docs/push.md).
 */
export async function signWithEach (deps: Pick<Deps, 'db' | 'vault'>, orgId: string, secretRef: string,
  webhookId: string, at: Date, body: string | Buffer | Promise<Buffer>): Promise<string> {
  // a body still being read is awaited inside: the secrets are read meanwhile
  return deps.vault.withSigningSecrets(deps.db, orgId, secretRef, async (secrets) => {
    const bytes = await body
    return secrets.map(s => signV1(s.reveal(), webhookId, at, bytes)).join(' ')
  })
}

/**
 * One `v1,` signature, byte for byte what the standardwebhooks package's `sign` gives (HMAC-SHA256
 * over `${id}.${unix seconds}.` and the body's bytes — a string as UTF-8), computed with
 * node:crypto: the package's pure-JavaScript SHA-256 was the largest single CPU cost of a push
 * (bench/findings.md, section 5). test/unit/inbound/signature.test.ts compares both.
 */
export function signV1 (signingSecret: string, webhookId: string, at: Date, body: string | Buffer): string {
  const hmac = createHmac('sha256', signingKey(signingSecret)).update(`${webhookId}.${Math.floor(at.getTime() / 1000)}.`)
  return `v1,${hmac.update(body).digest('base64')}`
}
