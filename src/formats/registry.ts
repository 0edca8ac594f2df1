import { csvParser } from './csv.js'
import { jsonArrayParser } from './json.js'
import { ndjsonParser } from './ndjson.js'
import { parquetParser } from './parquet.js'
import { xlsxParser } from './xlsx.js'
import type { FileFormat, FormatParser } from './types.js'

/** One parser per format (Airbyte-style registry: the pipeline looks parsers up here, never by import). */
export const parsers: Readonly<Record<FileFormat, FormatParser>> = Object.freeze({
  csv: csvParser,
  json: jsonArrayParser,
  ndjson: ndjsonParser,
  xlsx: xlsxParser,
  parquet: parquetParser,
})
