import { useState } from 'preact/hooks'
import { api, ApiError } from '../api/client'
import type { Preview } from '../api/types'
import { SelectField, TextField } from '../components/fields'
import { StatusBadge } from '../components/badges'
import { formatBytes, formatNumber } from '../lib/format'

/**
 * How an inventory source's files are read (docs/formats.md): parse options and the field map,
 * with a preview of the newest matching file read with them, so a person fixes the mapping before
 * the first pull. Empty fields mean "detect".
 */
export interface ImportValues {
  delimiter: string
  quote: string
  headerRow: string
  decimalSeparator: string
  thousandsSeparator: string
  encoding: string
  sheet: string
  fieldMap: Record<string, string>
}

export const EMPTY_IMPORT: ImportValues = {
  delimiter: '', quote: '', headerRow: '', decimalSeparator: '', thousandsSeparator: '', encoding: '', sheet: '', fieldMap: {},
}

export const CANONICAL_FIELDS = ['sku', 'name', 'quantity', 'price', 'currency', 'location'] as const

/** Every input of this section, by the field path the API reports errors under. */
export const IMPORT_FIELDS = [
  'config.parse', 'config.parse.delimiter', 'config.parse.quote', 'config.parse.headerRow', 'config.parse.decimalSeparator',
  'config.parse.thousandsSeparator', 'config.parse.encoding', 'config.parse.sheet', 'config.fieldMap',
  ...CANONICAL_FIELDS.map(f => `config.fieldMap.${f}`),
] as const

/** `{ parse?, fieldMap? }` of the config: only what the person set. */
export function importConfig (v: ImportValues): Record<string, unknown> {
  const parse: Record<string, unknown> = {}
  if (v.delimiter) parse.delimiter = v.delimiter === '\\t' ? '\t' : v.delimiter
  if (v.quote) parse.quote = v.quote === 'none' ? '' : v.quote
  if (v.headerRow.trim()) parse.headerRow = Number(v.headerRow.trim())
  if (v.decimalSeparator) parse.decimalSeparator = v.decimalSeparator
  if (v.thousandsSeparator) parse.thousandsSeparator = v.thousandsSeparator
  if (v.encoding.trim()) parse.encoding = v.encoding.trim()
  const sheet = v.sheet.trim()
  if (sheet) parse.sheet = /^\d+$/.test(sheet) ? Number(sheet) : sheet
  const fieldMap = Object.fromEntries(Object.entries(v.fieldMap).map(([k, c]) => [k, c.trim()]).filter(([, c]) => c))
  return { ...(Object.keys(parse).length ? { parse } : {}), ...(Object.keys(fieldMap).length ? { fieldMap } : {}) }
}

/** The section's values for a saved config (edit mode): the inverse of {@link importConfig}. */
export function importValuesOf (config: Record<string, unknown>): ImportValues {
  const parse = (config.parse ?? {}) as Record<string, unknown>
  const text = (k: string) => parse[k] === undefined || parse[k] === null ? '' : String(parse[k])
  const delimiter = text('delimiter')
  return {
    delimiter: delimiter === '\t' ? '\\t' : delimiter,
    quote: parse.quote === '' ? 'none' : text('quote'),
    headerRow: text('headerRow'),
    decimalSeparator: text('decimalSeparator'),
    thousandsSeparator: text('thousandsSeparator'),
    encoding: text('encoding'),
    sheet: text('sheet'),
    fieldMap: Object.fromEntries(Object.entries((config.fieldMap ?? {}) as Record<string, unknown>)
      .filter((entry): entry is [string, string] => typeof entry[1] === 'string')),
  }
}

export function ImportOptions ({ values: v, errors, onChange }: {
  values: ImportValues
  errors: Record<string, string>
  onChange: (next: ImportValues) => void
}) {
  const set = <K extends keyof ImportValues>(key: K, value: ImportValues[K]) => onChange({ ...v, [key]: value })
  return (
    <fieldset class="fieldset" data-import-options>
      <legend>Reading the files</legend>
      <p class="hint">Leave a field empty to let Ferry detect it. These apply to every file of this source.</p>
      <div class="field-row">
        <SelectField label="Delimiter" name="config.parse.delimiter" value={v.delimiter} error={errors['config.parse.delimiter']}
          onChange={(e) => set('delimiter', e.currentTarget.value)}
          options={[
            { value: '', label: 'Detect' }, { value: ',', label: 'Comma ,' }, { value: ';', label: 'Semicolon ;' },
            { value: '\\t', label: 'Tab' }, { value: '|', label: 'Pipe |' },
          ]} />
        <SelectField label="Quote" name="config.parse.quote" value={v.quote} error={errors['config.parse.quote']}
          onChange={(e) => set('quote', e.currentTarget.value)}
          options={[{ value: '', label: 'Double quote " (default)' }, { value: '\'', label: 'Single quote \'' }, { value: 'none', label: 'None' }]} />
        <TextField label="Header row" name="config.parse.headerRow" value={v.headerRow} optional inputMode="numeric" autoComplete="off"
          onInput={(e) => set('headerRow', e.currentTarget.value)} error={errors['config.parse.headerRow']}
          hint="The line (CSV) or row (XLSX) of the column names; lines above it are skipped." />
      </div>
      <div class="field-row">
        <SelectField label="Decimal separator" name="config.parse.decimalSeparator" value={v.decimalSeparator} error={errors['config.parse.decimalSeparator']}
          onChange={(e) => set('decimalSeparator', e.currentTarget.value)}
          options={[{ value: '', label: 'Point . (default)' }, { value: ',', label: 'Comma ,' }]} />
        <SelectField label="Thousands separator" name="config.parse.thousandsSeparator" value={v.thousandsSeparator}
          error={errors['config.parse.thousandsSeparator']}
          onChange={(e) => set('thousandsSeparator', e.currentTarget.value)}
          options={[
            { value: '', label: 'None (default)' }, { value: ',', label: 'Comma ,' }, { value: '.', label: 'Point .' },
            { value: ' ', label: 'Space' }, { value: '\'', label: 'Apostrophe \'' },
          ]} />
      </div>
      <div class="field-row">
        <TextField label="Encoding" name="config.parse.encoding" value={v.encoding} optional autoComplete="off" spellcheck={false}
          onInput={(e) => set('encoding', e.currentTarget.value)} error={errors['config.parse.encoding']}
          hint="e.g. windows-1252, iso-8859-2, utf-16le. Empty: UTF-8, or windows-1252 when the file is not UTF-8." />
        <TextField label="Sheet" name="config.parse.sheet" value={v.sheet} optional autoComplete="off" spellcheck={false}
          onInput={(e) => set('sheet', e.currentTarget.value)} error={errors['config.parse.sheet']}
          hint="XLSX: a sheet name, its number (1 = first), or * for every sheet. Empty: the first visible sheet." />
      </div>
      <p class="hint">Columns for the canonical fields (empty: a column named like the field, e.g. "SKU" or "Quantity").</p>
      <div class="field-row field-row-wrap">
        {CANONICAL_FIELDS.map(field => (
          <TextField key={field} label={`Column for ${field}`} name={`config.fieldMap.${field}`} value={v.fieldMap[field] ?? ''} optional
            autoComplete="off" spellcheck={false} error={errors[`config.fieldMap.${field}`]}
            onInput={(e) => set('fieldMap', { ...v.fieldMap, [field]: e.currentTarget.value })} />
        ))}
      </div>
    </fieldset>
  )
}

/** The preview button and what it shows: read-only, nothing is saved or recorded. */
export function PreviewPanel ({ path, body }: { path: string, body: () => unknown }) {
  const [preview, setPreview] = useState<Preview | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const run = async () => {
    setBusy(true)
    setError(null)
    try {
      setPreview(await api.post<Preview>(path, body()))
    } catch (err) {
      setPreview(null)
      setError(err instanceof ApiError ? err.message : 'The preview failed. Try again.')
    } finally {
      setBusy(false)
    }
  }
  return (
    <section class="preview" aria-label="Preview" data-preview>
      <div class="form-actions">
        <button type="button" class="btn" onClick={run} disabled={busy}>{busy ? 'Reading…' : 'Preview the newest file'}</button>
        <span class="hint">Reads the newest matching file with these settings. Nothing is saved or ingested.</span>
      </div>
      {error && <p class="callout callout-bad" role="alert">{error}</p>}
      {preview && <PreviewResult preview={preview} />}
    </section>
  )
}

function PreviewResult ({ preview: p }: { preview: Preview }) {
  const extra = p.columns.filter(c => c.field === null).map(c => c.header)
  return (
    <div data-preview-result>
      <p class="small">
        <code>{p.file.key}</code> · {formatBytes(p.file.size)} · {p.file.format.toUpperCase()}
        {p.file.encoding && <> · {p.file.encoding}</>}
        {p.file.sheet && <> · sheet “{p.file.sheet}”</>}
        {p.sheets && p.sheets.length > 1 && <span class="muted"> (sheets: {p.sheets.join(', ')})</span>}
      </p>
      {p.error && <p class="callout callout-bad" role="alert" data-preview-error={p.error.code}><strong>{p.error.code}</strong> {p.error.message}</p>}
      {p.warnings.length > 0 && (
        <div class="manifest-warnings" role="note">
          <ul>{p.warnings.map((w, i) => <li key={i} data-warning={w.code}><code class="small">{w.code}</code> {w.message}</li>)}</ul>
        </div>
      )}
      {p.columns.length > 0 && (
        <p class="small" data-preview-columns>
          Columns: {p.columns.map((c, i) => (
            <span key={i} class="nowrap">{i > 0 && ', '}“{c.header}” → {c.field ? <strong>{c.field}</strong> : <span class="text-warn">attributes</span>}</span>
          ))}
        </p>
      )}
      {p.rows.length > 0 && (
        <div class="table-wrap" tabIndex={0} role="region" aria-label="First items">
          <table class="table table-compact preview-table">
            <thead>
              <tr>
                <th scope="col">Row</th>
                {CANONICAL_FIELDS.map(f => <th key={f} scope="col">{f}</th>)}
                {extra.length > 0 && <th scope="col">attributes</th>}
              </tr>
            </thead>
            <tbody>
              {p.rows.map(r => (
                <tr key={r.row}>
                  <td>{r.row}</td>
                  {CANONICAL_FIELDS.map(f => <td key={f}>{r[f] == null ? '—' : String(r[f])}</td>)}
                  {extra.length > 0 && <td class="small">{Object.entries(r.attributes).map(([k, val]) => `${k}: ${String(val)}`).join('; ')}</td>}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {p.rejected.length > 0 && (
        <div class="manifest-errors">
          <p class="small">Rejected rows among the first read:</p>
          <ul>{p.rejected.map((r, i) => <li key={i}><strong>Row {r.row}:</strong> {r.reason}</li>)}</ul>
        </div>
      )}
      {!p.error && p.rows.length === 0 && p.rejected.length === 0 && <p class="small">The file has no rows.</p>}
      <p class="small muted">
        <StatusBadge status={p.error ? 'rejected' : p.warnings.length ? 'ingested_warnings' : 'ingested'}
          label={p.error ? 'Would be rejected' : p.warnings.length ? 'Would land with warnings' : 'Would land'} />
        {' '}{formatNumber(p.rows.length)} item{p.rows.length === 1 ? '' : 's'} shown.
      </p>
    </div>
  )
}
