// The result formats by name, apart from the formatters (which need exceljs and streams): the API
// schemas list them, and the web UI type-checks against those schemas (web/src/api/types.ts).
export const RESULT_FORMATS = ['csv', 'json', 'ndjson', 'xlsx'] as const
export type ResultFormat = typeof RESULT_FORMATS[number]
