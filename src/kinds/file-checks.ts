import path from 'node:path'
import { gunzipSync, constants as zlib } from 'node:zlib'
import type { RemoteFile } from '../connectors/remote-file.js'
import type { Transport } from '../connectors/transport.js'
import { ledgerContains, ledgerId } from '../db/sql/sources.js'
import { compilePattern, type DataSource } from '../domain/source.js'
import type { Deps } from '../deps.js'
import { detectFormat, SNIFF_BYTES } from '../formats/detect.js'
import { isZipMagic } from '../formats/zip.js'
import type { Checklist } from './checklist.js'
import type { FileLocation } from './types.js'

/** A listed file's name, as its type is told from it: the last segment of its key below the location (a URL's path, not its query). */
export const fileNameOf = (location: FileLocation, key: string): string => path.posix.basename(location.relative(key) ?? key)

/**
 * The Test steps every pulled kind ends with, after its own reachability and credential steps:
 * the location lists N files, M matching, K new; the newest matching file's format is recognised.
 * Read-only: the only download is the first 64 KiB of that file.
 */
export async function checkFiles (deps: Pick<Deps, 'db'>, source: DataSource, location: FileLocation, transport: Transport, list: Checklist): Promise<void> {
  const config = source.config
  const matches = compilePattern(config.pattern)
  const label = location.label.charAt(0).toUpperCase() + location.label.slice(1)
  const newest = await list.step<RemoteFile | null>('prefix', async () => {
    let total = 0
    let matching = 0
    let fresh = 0
    let newestFile: RemoteFile | null = null
    for await (const page of transport.list()) {
      const candidates = page.filter(f => {
        const relative = location.relative(f.key)
        return !f.key.endsWith('/') && f.size > 0 && relative !== null && matches(relative)
      })
      total += page.length
      matching += candidates.length
      const known = await ledgerContains(deps.db, source.id, candidates)
      fresh += candidates.filter(f => !known.has(ledgerId(f))).length
      for (const f of candidates) if (!newestFile || (f.lastModified?.getTime() ?? 0) > (newestFile.lastModified?.getTime() ?? 0)) newestFile = f
    }
    return {
      message: `${label} lists ${total} ${location.noun}${total === 1 ? '' : 's'}, ${matching} matching, ${fresh} new (not yet pulled).`,
      value: newestFile,
    }
  })
  if (list.failed) return
  await list.step('format', async () => {
    if (!newest) return { message: 'No matching file yet: nothing to recognise.' }
    let head = await transport.head(newest, SNIFF_BYTES)
    const gz = head[0] === 0x1f && head[1] === 0x8b
    if (gz) head = gunzipSync(head, { finishFlush: zlib.Z_SYNC_FLUSH })
    // a zip is an archive of files unless it is named as a workbook (the pull decides the same way: pipeline/ingest.ts)
    const name = fileNameOf(location, newest.key)
    if (name.toLowerCase().endsWith('.zip') || (!config.format && isZipMagic(head) && !/\.(xlsx|xlsm)$/i.test(name))) {
      return { message: `The newest matching file, ${newest.key}, is a zip archive: each file in it in a supported format is read.` }
    }
    const format = detectFormat({ head, complete: !gz && newest.size <= SNIFF_BYTES, fileName: name, format: config.format })
    return { message: `The newest matching file, ${newest.key}, is recognised as ${format.toUpperCase()}${gz ? ' (gzip)' : ''}.` }
  })
}
