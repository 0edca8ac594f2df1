import type { Readable } from 'node:stream'
import type { PipelineLimits } from '../config.js'
import type { FileLayout, ParseSettings } from './parse-options.js'
import type { FileFormat } from './catalogue.js'

/**
 * The parsing layer of the inventory pipeline: bytes in, raw records out. Parsers only parse
 * (no header normalisation to canonical fields, no validation of sku/quantity/price, no storage);
 * the pipeline does that on top of the records yielded here.
 */
export { FILE_FORMATS, type FileFormat } from './catalogue.js'

/** The detected encodings, or the WHATWG name of the one a person set (parse.encoding). */
export type TextEncoding = 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252' | (string & {})

/** One record of the file, keyed by the header names as written (trimmed). */
export interface RawRecord {
  /**
   * 1-based position of the record as a person counts it in the file:
   * CSV: the line the record starts on (the header is line 1; blank lines and quoted newlines count);
   * XLSX: the sheet row number (the header row included);
   * JSON: the array element index + 1; NDJSON: the line number.
   */
  row: number
  values: Record<string, unknown>
}

/**
 * A record that could not be read (ragged CSV row, NDJSON line that is not JSON, array element that is
 * not an object). The rest of the file is still parsed; the pipeline reports it as a rejected row.
 */
export interface RowProblem {
  row: number
  error: string
}

export type ParsedRow = RawRecord | RowProblem

export const isRowProblem = (row: ParsedRow): row is RowProblem => 'error' in row

/**
 * The most rows a parser puts in one batch. Rows travel from the parsers to the pipeline in arrays:
 * one promise per row (parser iterator → format generator → writer) cost more CPU than the parsing
 * itself (bench/findings.md, "1. Ingest").
 */
export const ROW_BATCH = 1000

export interface ParseOptions extends Pick<ParseSettings, 'delimiter' | 'quote' | 'headerRow' | 'sheet'> {
  limits: PipelineLimits
  /** called once the parser knows the file's layout (sheet, header), before the first row */
  onLayout?: (layout: FileLayout) => void
  /**
   * Something the person who uploaded the file should know but that does not reject a row
   * (duplicate header renamed, `__proto__` key dropped, …). Each distinct warning is reported once.
   */
  onWarning?: (message: string) => void
  /**
   * Called with a batch, before it is yielded, when the parser has checked that none of its keys and
   * values holds text PostgreSQL cannot store (`textFlaw`, util/text.ts): the CSV parser tests each
   * decoded chunk once, so the pipeline need not test every cell of every row.
   */
  onStorableBatch?: (batch: ParsedRow[]) => void
}

/**
 * A streaming parser for one format. Contract:
 * - `parse` reads `input` incrementally; memory stays bounded by the limits, not by the file size.
 *   Text formats expect decoded text (string chunks, as `openInventoryStream` produces); Buffer chunks
 *   are read as UTF-8. XLSX expects the raw bytes.
 * - Rows are yielded in batches: non-empty arrays of at most ROW_BATCH rows, in file order. The text
 *   parsers yield what they have once a batch is full or an input chunk is used up, so memory holds
 *   at most one input chunk's worth of rows; XLSX yields full batches of 100 (see xlsx.ts).
 * - Per-record problems are `RowProblem`s, in file order with the records.
 * - Whole-file failures (limits, syntax that makes the rest unreadable, unsafe XLSX) throw an `AppError`;
 *   records already yielded must then be discarded by the caller (it rolls the file back).
 * - Breaking out of the iteration releases everything (streams destroyed, temp files removed).
 */
export interface FormatParser {
  format: FileFormat
  parse (input: Readable, options: ParseOptions): AsyncIterable<ParsedRow[]>
}
