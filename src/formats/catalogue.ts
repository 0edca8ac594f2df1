/**
 * What each inventory file format is, as data: its extensions, the media types that declare it, the
 * magic bytes that mark it, whether results can be written in it. Detection (detect.ts), the pull's
 * skip rule, the inbound content check and the web UI's format lists derive from this list; the
 * parser of each format is in registry.ts (docs/extending.md "Adding a format").
 *
 * A plain data module without imports: the web UI imports it too.
 */
export interface FormatDescriptor {
  format: string
  /** how the UI and messages name it */
  label: string
  /** file name extensions (lower case, no dot) that declare the format; `.gz` around any of them is read too */
  extensions: readonly string[]
  /** media types (Content-Type, lower case) that declare the format */
  mediaTypes: readonly string[]
  /** byte sequences at offset 0 that mark a file of this binary format whatever its name */
  magic?: ReadonlyArray<readonly number[]>
  /** results of a mapping job can be written in it (sinks, GET …/results?format=) */
  results: boolean
}

/** a zip's local file header, or the end record of an empty zip, or a spanned archive's marker */
const ZIP_MAGIC = [[0x50, 0x4b, 0x03, 0x04], [0x50, 0x4b, 0x05, 0x06], [0x50, 0x4b, 0x07, 0x08]]

export const FORMAT_DESCRIPTORS = [
  {
    format: 'csv', label: 'CSV', extensions: ['csv', 'tsv', 'psv'],
    mediaTypes: ['text/csv', 'application/csv', 'text/tab-separated-values'], results: true,
  },
  { format: 'json', label: 'JSON', extensions: ['json'], mediaTypes: ['application/json', 'text/json'], results: true },
  {
    format: 'ndjson', label: 'NDJSON', extensions: ['ndjson', 'jsonl', 'ldjson'],
    mediaTypes: ['application/x-ndjson', 'application/ndjson', 'application/jsonl', 'application/x-jsonlines', 'application/jsonlines'], results: true,
  },
  {
    format: 'xlsx', label: 'XLSX', extensions: ['xlsx', 'xlsm'],
    mediaTypes: ['application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'application/vnd.ms-excel.sheet.macroenabled.12'],
    magic: ZIP_MAGIC, results: true,
  },
  {
    format: 'parquet', label: 'Parquet', extensions: ['parquet', 'pq'],
    mediaTypes: ['application/vnd.apache.parquet', 'application/x-parquet'], magic: [[0x50, 0x41, 0x52, 0x31]], results: false,
  },
] as const satisfies readonly FormatDescriptor[]

export type FileFormat = typeof FORMAT_DESCRIPTORS[number]['format']

export const FILE_FORMATS: readonly FileFormat[] = FORMAT_DESCRIPTORS.map(d => d.format)

/**
 * What else a pull or a delivery may carry besides a file of a format: a zip archive of such files,
 * gzip around any of them (recognised by its magic bytes), text whose format only its content tells.
 */
export const CONTAINERS = {
  zip: { extensions: ['zip'], mediaTypes: ['application/zip', 'application/x-zip-compressed'] },
  gzip: { extensions: ['gz', 'gzip'], mediaTypes: ['application/gzip', 'application/x-gzip'] },
  /** read by content: ".txt" exports, and "I do not know the type" */
  sniffed: { extensions: ['txt'], mediaTypes: ['application/octet-stream'] },
} as const

/** The extensions a pull reads (the format's, then archives and sniffed text); other files are skipped. */
export const READABLE_EXTENSIONS: ReadonlySet<string> = new Set<string>([
  ...FORMAT_DESCRIPTORS.flatMap(d => d.extensions), ...CONTAINERS.zip.extensions, ...CONTAINERS.sniffed.extensions,
])

const byExtension = new Map<string, FileFormat>(FORMAT_DESCRIPTORS.flatMap(d => d.extensions.map(e => [e, d.format] as const)))
const byMediaType = new Map<string, FileFormat>(FORMAT_DESCRIPTORS.flatMap(d => d.mediaTypes.map(m => [m, d.format] as const)))

/** The format an extension (lower case, no dot) declares. */
export const formatOfExtension = (ext: string): FileFormat | undefined => byExtension.get(ext)
/** The format a media type (lower case, no parameters) declares. */
export const formatOfMediaType = (mediaType: string): FileFormat | undefined => byMediaType.get(mediaType)

/** The binary format whose magic bytes `head` starts with. */
export const formatOfMagic = (head: Uint8Array): FileFormat | undefined => FORMAT_DESCRIPTORS.find(d =>
  'magic' in d && d.magic.some(m => head.length >= m.length && m.every((b, i) => head[i] === b)))?.format

/** The label of a format ("XLSX"). */
export const formatLabel = (format: string): string => FORMAT_DESCRIPTORS.find(d => d.format === format)?.label ?? format.toUpperCase()

/** The formats results can be written in (sinks, GET …/results?format=). */
export type ResultFormat = Extract<typeof FORMAT_DESCRIPTORS[number], { results: true }>['format']
export const RESULT_FORMATS: readonly ResultFormat[] = FORMAT_DESCRIPTORS.flatMap(d => d.results ? [d.format] : [])
