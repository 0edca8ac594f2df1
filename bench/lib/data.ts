import { createHash } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { once } from 'node:events'

export const CSV_HEADER = 'sku,name,quantity,price,currency,location,colour'

/** One inventory row of the benchmark CSVs (7 columns, ~50 bytes); `pad` adds a description. */
export function csvRow (i: number): string {
  return `SKU-${i},Widget ${i},${i % 500},${(i % 1000) / 10},EUR,WH-${i % 7},blue`
}

/** A CSV body of `rows` rows as a Buffer (small files). */
export function csvBuffer (rows: number, first = 1): Buffer {
  const lines = [CSV_HEADER]
  for (let i = first; i < first + rows; i++) lines.push(csvRow(i))
  return Buffer.from(lines.join('\n') + '\n')
}

async function exists (file: string): Promise<boolean> {
  try { await fsp.access(file); return true } catch { return false }
}

/**
 * Writes (once, cached under `dir`) a CSV file and its md5; rows come from `row(i)`.
 * Returns the path, size, row count and md5.
 */
export async function cachedCsv (
  dir: string,
  name: string,
  header: string,
  rows: number,
  row: (i: number) => string
): Promise<{ file: string, bytes: number, rows: number, md5: string }> {
  await fsp.mkdir(dir, { recursive: true })
  const file = path.join(dir, name)
  const meta = `${file}.json`
  if (await exists(meta)) return JSON.parse(await fsp.readFile(meta, 'utf8'))
  const hash = createHash('md5')
  const out = fs.createWriteStream(`${file}.part`)
  let buf = header + '\n'
  let bytes = 0
  const flush = async () => {
    const chunk = Buffer.from(buf)
    buf = ''
    hash.update(chunk)
    bytes += chunk.length
    if (!out.write(chunk)) await once(out, 'drain')
  }
  for (let i = 1; i <= rows; i++) {
    buf += row(i) + '\n'
    if (buf.length > 1 << 20) await flush()
  }
  await flush()
  out.end()
  await once(out, 'finish')
  await fsp.rename(`${file}.part`, file)
  const info = { file, bytes, rows, md5: hash.digest('hex') }
  await fsp.writeFile(meta, JSON.stringify(info))
  return info
}

export { exists }

export interface CachedFile { file: string, bytes: number, rows: number, md5: string }

async function md5Of (file: string): Promise<string> {
  const hash = createHash('md5')
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/**
 * A fixture written once and cached under `dir` as `name`, its size, row count and md5 beside it in
 * `<name>.json`. `write(to)` writes the file at `to` (renamed into place when done) and returns its row count.
 */
export async function cachedFile (dir: string, name: string, write: (to: string) => Promise<number>): Promise<CachedFile> {
  await fsp.mkdir(dir, { recursive: true })
  const file = path.join(dir, name)
  const meta = `${file}.json`
  if (await exists(meta)) return JSON.parse(await fsp.readFile(meta, 'utf8'))
  const rows = await write(`${file}.part`)
  await fsp.rename(`${file}.part`, file)
  const info = { file, bytes: (await fsp.stat(file)).size, rows, md5: await md5Of(file) }
  await fsp.writeFile(meta, JSON.stringify(info))
  return info
}
