// The file formats by name, apart from the parsers: the API schemas (src/schemas) list them, and the
// web UI type-checks against those schemas without the server's modules (web/src/api/types.ts).
export type FileFormat = 'csv' | 'json' | 'ndjson' | 'xlsx' | 'parquet'

export const FILE_FORMATS: readonly FileFormat[] = ['csv', 'json', 'ndjson', 'xlsx', 'parquet']
