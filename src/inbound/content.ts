import type { IncomingHttpHeaders } from 'node:http'
import { AppError } from '../errors.js'
import { CONTAINERS, FORMAT_DESCRIPTORS } from '../formats/catalogue.js'

/**
 * What an inbound delivery may carry: a media type of a format, an archive or gzip
 * (src/formats/catalogue.ts). The body is the file itself; its format is decided by the
 * inventory pipeline (source's configured format, then X-File-Name's extension, then the content
 * type, then the content). gzip is recognised by its magic bytes whatever the type says, so a
 * compressed CSV may come as `application/gzip` or as `text/csv` with `Content-Encoding: gzip`.
 */
export const INBOUND_CONTENT_TYPES: Readonly<Record<string, { fallbackName: string }>> = Object.fromEntries([
  ...FORMAT_DESCRIPTORS.flatMap(d => d.mediaTypes.map(m => [m, { fallbackName: `inbound.${d.extensions[0]}` }] as const)),
  // an archive of inventory files: each member in a supported format lands as a file of the sync
  ...CONTAINERS.zip.mediaTypes.map(m => [m, { fallbackName: 'inbound.zip' }] as const),
  // a compressed file of any supported format: the name (X-File-Name) or the content tells which
  ...CONTAINERS.gzip.mediaTypes.map(m => [m, { fallbackName: 'inbound.gz' }] as const),
  // "I do not know the type": the content is sniffed, as for an S3 object without an extension
  ...CONTAINERS.sniffed.mediaTypes.map(m => [m, { fallbackName: 'inbound' }] as const),
])

/** The main media type of each format, the archive and gzip ones, and the "unknown" one: what the 415 suggests. */
const ACCEPTED = [...FORMAT_DESCRIPTORS.map(d => d.mediaTypes[0]), CONTAINERS.zip.mediaTypes[0], CONTAINERS.gzip.mediaTypes[0]].join(', ') +
  ` or ${CONTAINERS.sniffed.mediaTypes[0]}`

export interface InboundContent {
  /** the media type without parameters, lower case */
  mediaType: string
  /** the header as sent (charset and all), for the pipeline's detection */
  contentType: string
  fallbackName: string
}

/** 415 UNSUPPORTED_MEDIA_TYPE unless the delivery declares one of the accepted types. */
export function readContentType (headers: IncomingHttpHeaders): InboundContent {
  const contentType = headers['content-type']
  const mediaType = contentType?.split(';')[0].trim().toLowerCase()
  const known = mediaType && Object.hasOwn(INBOUND_CONTENT_TYPES, mediaType) ? INBOUND_CONTENT_TYPES[mediaType] : undefined
  if (!contentType || !mediaType || !known) {
    const problem = contentType ? `Content-Type "${mediaType}" is not accepted` : 'The Content-Type header is missing'
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', `${problem}; send the file as ${ACCEPTED}.`,
      { details: { accepted: Object.keys(INBOUND_CONTENT_TYPES) } })
  }
  const encoding = headers['content-encoding']?.trim().toLowerCase()
  if (encoding && encoding !== 'identity' && encoding !== 'gzip') {
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', `Content-Encoding "${encoding}" is not accepted; send the file as is or gzip-compressed.`)
  }
  return { mediaType, contentType, fallbackName: known.fallbackName }
}

const MAX_NAME_CHARS = 200
// C0/C1 controls, and bidirectional overrides that make "evil\u202Ecsv.exe" display as "evilexe.csv"
const UNSAFE_CHARS = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g

/**
 * The file's name from the optional X-File-Name header: percent-decoded if it is percent-encoded
 * UTF-8, reduced to its last path segment, without control or bidi characters, at most 200
 * characters (the extension kept). Anything unusable falls back to a name from the content type.
 */
export function sanitiseFileName (raw: string | string[] | undefined, fallback: string): string {
  let name = Array.isArray(raw) ? raw[0] : raw
  if (!name) return fallback
  if (/%[0-9a-f]{2}/i.test(name)) {
    try { name = decodeURIComponent(name) } catch { /* not percent-encoding after all: keep as sent */ }
  }
  name = name.split(/[/\\]/).pop() ?? ''
  name = name.replace(UNSAFE_CHARS, '').trim().replace(/^\.+/, '').trim()
  if (name === '') return fallback
  if (name.length > MAX_NAME_CHARS) {
    const ext = /\.[A-Za-z0-9]{1,10}(\.gz)?$/.exec(name)?.[0] ?? ''
    name = name.slice(0, MAX_NAME_CHARS - ext.length) + ext
  }
  return name
}
