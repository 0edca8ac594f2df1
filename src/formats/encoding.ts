import { isAscii, isUtf8 } from 'node:buffer'
import iconv from 'iconv-lite'
import { AppError } from '../errors.js'
import type { TextEncoding } from './types.js'

/**
 * Streaming text decoding for the text formats.
 *
 * - A byte-order mark decides: EF BB BF → UTF-8 (BOM dropped), FF FE → UTF-16LE, FE FF → UTF-16BE.
 * - Without a BOM the file is read as UTF-8 unless it is not valid UTF-8, in which case it is read as
 *   windows-1252 and a warning is recorded. The choice is made, without buffering the file, at the first
 *   chunk that holds a complete non-ASCII byte sequence:
 *     - up to that point everything was ASCII, which reads the same in both encodings, so nothing emitted
 *       so far has to be taken back;
 *     - if that chunk (the whole chunk, tens of KiB, not just one character) is valid UTF-8 → UTF-8,
 *       otherwise → windows-1252 for the whole file, with a warning naming the first bad byte.
 *   A windows-1252 file whose first accented letter is at byte 500 000 is therefore still read correctly.
 * - Once committed to UTF-8, a later invalid sequence means the file mixes encodings. That fails the file
 *   (PARSE_FAILED, with the byte offset): silently replacing it by U+FFFD would corrupt data, and switching
 *   encodings mid-file would decode the earlier part differently from the later part.
 * - NUL characters fail the file: they are the mark of a binary file or of UTF-16 without a BOM, and
 *   PostgreSQL text cannot store them anyway.
 */

/** How the warning of a windows-1252 fallback starts (the manifest tags it ENCODING_FALLBACK). */
export const ENCODING_FALLBACK_WARNING = 'The file is not valid UTF-8'

export interface Bom {
  encoding: 'utf-8' | 'utf-16le' | 'utf-16be'
  length: number
}

export function detectBom (head: Buffer): Bom | undefined {
  if (head.length >= 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return { encoding: 'utf-8', length: 3 }
  if (head.length >= 2 && head[0] === 0xff && head[1] === 0xfe) return { encoding: 'utf-16le', length: 2 }
  if (head.length >= 2 && head[0] === 0xfe && head[1] === 0xff) return { encoding: 'utf-16be', length: 2 }
  return undefined
}

/** Mutable: `encoding` can still change (ASCII so far → windows-1252) while the text is being read. */
export interface DecodeState {
  encoding: TextEncoding
  warn: (message: string) => void
  /** set when the file was not valid UTF-8 and was read as windows-1252 (the manifest's ENCODING_FALLBACK) */
  fallback?: boolean
}

/**
 * Decodes `source` according to the BOM in its first bytes (`head`, already peeked) or, without one,
 * by the UTF-8 / windows-1252 rule above. Yields strings without the BOM.
 */
export async function * decodeText (source: AsyncIterable<Buffer>, head: Buffer, state: DecodeState, label?: string): AsyncGenerator<string> {
  const bom = detectBom(head)
  if (label !== undefined && bom === undefined) {
    state.encoding = label
    yield * decodeWithLabel(source, label)
    return
  }
  if (bom?.encoding === 'utf-16le' || bom?.encoding === 'utf-16be') {
    state.encoding = bom.encoding
    yield * decodeUtf16(source, bom.encoding)
    return
  }
  state.encoding = 'utf-8'
  yield * decodeUtf8OrWindows1252(source, state, bom !== undefined)
}

/**
 * parse.encoding: the person said which encoding the file is in, so it is decoded with it (a BOM
 * still wins, as in a browser). Bytes the encoding cannot map become U+FFFD, as WHATWG decoding does.
 */
async function * decodeWithLabel (source: AsyncIterable<Buffer>, label: string): AsyncGenerator<string> {
  const decoder = new TextDecoder(label)
  let offset = 0
  for await (const chunk of source) {
    const text = decoder.decode(chunk, { stream: true })
    checkNul(text, offset)
    offset += chunk.length
    if (text.length > 0) yield text
  }
  const tail = decoder.decode()
  if (tail.length > 0) {
    checkNul(tail, offset)
    yield tail
  }
}

async function * decodeUtf16 (source: AsyncIterable<Buffer>, encoding: 'utf-16le' | 'utf-16be'): AsyncGenerator<string> {
  const decoder = iconv.getDecoder(encoding) // strips the BOM
  let offset = 0
  for await (const chunk of source) {
    const text = decoder.write(chunk)
    checkNul(text, offset)
    offset += chunk.length
    if (text.length > 0) yield text
  }
  const tail = decoder.end()
  if (tail !== undefined && tail.length > 0) {
    checkNul(tail, offset)
    yield tail
  }
}

async function * decodeUtf8OrWindows1252 (source: AsyncIterable<Buffer>, state: DecodeState, hasBom: boolean): AsyncGenerator<string> {
  // 'ascii': no non-ASCII byte seen yet, encoding undecided (reported as utf-8)
  let mode: 'ascii' | 'utf-8' | 'windows-1252' = hasBom ? 'utf-8' : 'ascii'
  // drops the BOM at the start of a BOM file; a U+FEFF later in a file without one is kept as text
  const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: !hasBom })
  let carry: Buffer | undefined // while undecided: an incomplete UTF-8 sequence at the end of the last chunk
  let offset = 0 // bytes of the file before `buf`

  const toWindows1252 = (at: number): void => {
    mode = 'windows-1252'
    state.encoding = 'windows-1252'
    state.fallback = true
    state.warn(`${ENCODING_FALLBACK_WARNING} (first invalid byte at offset ${at}); it was read as windows-1252. ` +
      'Check accented characters, or save the file as UTF-8 and upload it again.')
  }

  for await (const chunk of source) {
    let buf = chunk
    if (carry !== undefined) {
      buf = Buffer.concat([carry, chunk])
      offset -= carry.length
      carry = undefined
    }
    let text: string
    if (mode === 'ascii') {
      if (isAscii(buf)) {
        text = buf.toString('latin1')
      } else {
        const tail = incompleteUtf8Tail(buf)
        const body = tail === 0 ? buf : buf.subarray(0, buf.length - tail)
        if (isAscii(body)) {
          // the only non-ASCII bytes are an incomplete sequence at the end: decide with the next chunk
          text = body.toString('latin1')
          carry = Buffer.from(buf.subarray(body.length))
        } else if (isUtf8(body)) {
          mode = 'utf-8'
          text = decodeUtf8Chunk(utf8, buf, offset)
        } else {
          toWindows1252(offset + firstInvalidUtf8(body))
          text = iconv.decode(buf, 'windows-1252')
        }
      }
    } else if (mode === 'utf-8') {
      text = decodeUtf8Chunk(utf8, buf, offset)
    } else {
      text = iconv.decode(buf, 'windows-1252')
    }
    checkNul(text, offset)
    offset += buf.length
    if (text.length > 0) yield text
  }

  if (carry !== undefined) {
    // the file ends with the start of a multi-byte sequence that never completes: not UTF-8
    toWindows1252(offset - carry.length)
    yield iconv.decode(carry, 'windows-1252')
  } else if (mode === 'utf-8') {
    try {
      utf8.decode()
    } catch {
      throw notUtf8(offset, 'The file ends in the middle of a UTF-8 character.')
    }
  }
}

function decodeUtf8Chunk (decoder: TextDecoder, buf: Buffer, offset: number): string {
  try {
    return decoder.decode(buf, { stream: true })
  } catch {
    return notUtf8Thrown(offset + firstInvalidUtf8(buf))
  }
}

function notUtf8Thrown (at: number): never {
  throw notUtf8(at, `The file is UTF-8 up to this point but has an invalid UTF-8 byte sequence at about byte ${at}: it mixes encodings.`)
}

function notUtf8 (at: number, message: string): AppError {
  return new AppError('PARSE_FAILED', `${message} Save the whole file in one encoding (UTF-8) and upload it again.`, {
    details: { byteOffset: at, reason: 'invalid_utf8' },
  })
}

function checkNul (text: string, offset: number): void {
  if (text.indexOf('\u0000') !== -1) {
    throw new AppError('PARSE_FAILED',
      'The file contains NUL characters: it is binary, or UTF-16 without a byte-order mark. Save it as UTF-8 text.', {
        details: { nearByteOffset: offset, reason: 'nul_character' },
      })
  }
}

/**
 * Length of a UTF-8 sequence that starts near the end of `buf` and is cut off by the chunk boundary
 * (0 if the buffer ends on a character boundary or with bytes that can never become valid).
 */
export function incompleteUtf8Tail (buf: Buffer): number {
  const n = buf.length
  for (let back = 1; back <= 3 && back <= n; back++) {
    const byte = buf[n - back]
    if ((byte & 0xc0) === 0x80) continue // continuation byte: keep looking for the lead byte
    let need = 0
    if ((byte & 0xe0) === 0xc0) need = 2
    else if ((byte & 0xf0) === 0xe0) need = 3
    else if ((byte & 0xf8) === 0xf0) need = 4
    return need > back ? back : 0
  }
  return 0
}

/** Offset of the first byte that does not start or continue a valid UTF-8 sequence (buf.length if none). */
export function firstInvalidUtf8 (buf: Uint8Array): number {
  let i = 0
  const n = buf.length
  while (i < n) {
    const b = buf[i]
    if (b < 0x80) { i++; continue }
    let need: number
    let min: number
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1; min = 0x80
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2; min = 0x800
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3; min = 0x10000
    } else return i
    if (i + need > n - 1) return i // truncated at the end
    let cp = b & (0x3f >> need)
    for (let k = 1; k <= need; k++) {
      const c = buf[i + k]
      if ((c & 0xc0) !== 0x80) return i
      cp = (cp << 6) | (c & 0x3f)
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i
    i += need + 1
  }
  return n
}
