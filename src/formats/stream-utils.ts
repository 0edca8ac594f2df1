import { StringDecoder } from 'node:string_decoder'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { AppError } from '../errors.js'
import { ROW_BATCH } from './types.js'

/**
 * Small async-iteration helpers shared by the detector and the parsers. Everything here works chunk by
 * chunk; nothing buffers more than the bounded "head" a caller asks to peek at.
 */

/**
 * An async byte source that can look at its first bytes without losing them. `peek(n)` reads until at
 * least `n` bytes are buffered (or the source ends); iterating afterwards yields those bytes first.
 */
export class ByteSource implements AsyncIterable<Buffer> {
  private readonly iterator: AsyncIterator<Buffer | string | Uint8Array>
  private readonly buffered: Buffer[] = []
  private bufferedBytes = 0
  private done = false
  private iterated = false

  constructor (source: AsyncIterable<Buffer | string | Uint8Array>) {
    this.iterator = source[Symbol.asyncIterator]()
  }

  /** true once the source has been read to its end (only meaningful after `peek`) */
  get ended (): boolean {
    return this.done
  }

  async peek (bytes: number): Promise<Buffer> {
    while (!this.done && this.bufferedBytes < bytes) {
      const next = await this.iterator.next()
      if (next.done === true) {
        this.done = true
        break
      }
      const chunk = toBuffer(next.value)
      if (chunk.length === 0) continue
      this.buffered.push(chunk)
      this.bufferedBytes += chunk.length
    }
    if (this.buffered.length > 1) {
      const joined = Buffer.concat(this.buffered)
      this.buffered.length = 0
      this.buffered.push(joined)
    }
    const head = this.buffered[0] ?? Buffer.alloc(0)
    return head.subarray(0, Math.min(bytes, head.length))
  }

  async * [Symbol.asyncIterator] (): AsyncGenerator<Buffer> {
    if (this.iterated) throw new Error('ByteSource can be iterated once')
    this.iterated = true
    try {
      while (this.buffered.length > 0) {
        const chunk = this.buffered.shift() as Buffer
        this.bufferedBytes -= chunk.length
        yield chunk
      }
      if (this.done) return
      for (;;) {
        const next = await this.iterator.next()
        if (next.done === true) break
        const chunk = toBuffer(next.value)
        if (chunk.length > 0) yield chunk
      }
      this.done = true
    } finally {
      if (!this.done) await this.iterator.return?.()
    }
  }

  /** Stops reading the underlying source (used when the caller never iterates). */
  async close (): Promise<void> {
    if (!this.done) {
      this.done = true
      await this.iterator.return?.()
    }
  }
}

export function toBuffer (chunk: Buffer | string | Uint8Array): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8')
  return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
}

/**
 * Counts the bytes flowing through and fails with FILE_TOO_LARGE as soon as they exceed `maxBytes`
 * (so a 10 GB upload is refused after `maxBytes`, not after reading 10 GB).
 */
export async function * limitBytes (
  source: AsyncIterable<Buffer>,
  maxBytes: number,
  onBytes: (total: number) => void,
  what: string,
): AsyncGenerator<Buffer> {
  let total = 0
  for await (const chunk of source) {
    total += chunk.length
    onBytes(total)
    if (total > maxBytes) {
      throw new AppError('FILE_TOO_LARGE', `The ${what} exceeds the limit of ${maxBytes} bytes.`, {
        details: { limit: maxBytes, what },
      })
    }
    yield chunk
  }
}

/**
 * The text chunks of a parser's input. `openInventoryStream` hands parsers decoded strings; a Buffer
 * (a parser used on its own) is decoded as UTF-8, multi-byte characters split across chunks included.
 */
export async function * textChunks (input: AsyncIterable<unknown>): AsyncGenerator<string> {
  let decoder: StringDecoder | undefined
  for await (const chunk of input) {
    if (typeof chunk === 'string') {
      if (chunk.length > 0) yield chunk
    } else if (chunk instanceof Uint8Array) {
      decoder ??= new StringDecoder('utf8')
      const text = decoder.write(toBuffer(chunk))
      if (text.length > 0) yield text
    } else {
      throw new TypeError(`expected string or Buffer chunks, got ${typeof chunk}`)
    }
  }
  const tail = decoder?.end()
  if (tail !== undefined && tail.length > 0) yield tail
}

/** Reads text chunks until at least `chars` characters (or the end), without losing them. */
export async function peekText (
  source: AsyncIterable<string>,
  chars: number,
): Promise<{ head: string, complete: boolean, all: AsyncGenerator<string> }> {
  const iterator = source[Symbol.asyncIterator]()
  const parts: string[] = []
  let length = 0
  let complete = false
  while (length < chars) {
    const next = await iterator.next()
    if (next.done === true) {
      complete = true
      break
    }
    parts.push(next.value)
    length += next.value.length
  }
  const head = parts.join('')
  async function * all (): AsyncGenerator<string> {
    let finished = complete
    try {
      if (head.length > 0) yield head
      if (complete) return
      for (;;) {
        const next = await iterator.next()
        if (next.done === true) break
        yield next.value
      }
      finished = true
    } finally {
      if (!finished) await iterator.return?.()
    }
  }
  return { head, complete, all: all() }
}

/** Whitespace as JSON and CSV see it (BOM included, it is stripped anyway). */
export const isBlankText = (text: string): boolean => /^[\s\uFEFF]*$/.test(text)

/** The rows read from one input chunk, as batches of at most ROW_BATCH (none when there are no rows). */
export function * inBatches<T> (rows: T[]): Generator<T[]> {
  if (rows.length <= ROW_BATCH) {
    if (rows.length > 0) yield rows
    return
  }
  for (let i = 0; i < rows.length; i += ROW_BATCH) yield rows.slice(i, i + ROW_BATCH)
}

/** The longest stretch of parsing between two turns of the event loop (see `withBreaks`). */
export const PARSE_SLICE_MS = 20

/**
 * Passes `source` through and, whenever `sliceMs` of work (the producer's and the consumer's) went by
 * since the last break, lets the event loop turn (setImmediate) before going on. Chunks and batches that
 * are already in memory (a gzip of a few KB inflating to megabytes) are otherwise handed over with
 * promise jobs only, which never let a timer, an HTTP request or a signal handler run: one file could
 * hold the whole process (docs/security.md).
 */
export async function * withBreaks<T> (source: AsyncIterable<T>, sliceMs = PARSE_SLICE_MS): AsyncGenerator<T> {
  let since = performance.now()
  for await (const item of source) {
    // the break comes before handing the item over, not before asking for the next one: a consumer that
    // stops (return()) during the break must not make this pull one more item from the source
    if (performance.now() - since >= sliceMs) {
      await nextTurn()
      since = performance.now()
    }
    yield item
  }
}
