/**
 * The parsing layer of the standard inventory pipeline: format detection, decompression, decoding and
 * one streaming parser per format. Pure streams: no database, no canonical-field mapping (the pipeline
 * does that with the records yielded here).
 */
export { parsers } from './registry.js'
export { openInventoryStream, detectFormat, formatFromFileName, formatFromContentType, sniffText, SNIFF_BYTES } from './detect.js'
export type { OpenInventoryOptions, OpenedInventory, DetectInput } from './detect.js'
export { sniffDelimiter, CSV_DELIMITERS } from './csv.js'
export { FORBIDDEN_KEYS } from './columns.js'
export { FILE_FORMATS, ROW_BATCH, isRowProblem } from './types.js'
export type { FileFormat, FormatParser, ParseOptions, ParsedRow, RawRecord, RowProblem, TextEncoding } from './types.js'
