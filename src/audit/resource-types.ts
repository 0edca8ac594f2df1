// What the audit log records changes of, apart from the log itself (which needs the database): the
// API schemas name them, and the web UI type-checks against those schemas (web/src/api/types.ts).
export const AUDIT_RESOURCE_TYPES = ['organisation', 'api_key', 'secret', 'agent', 'data_source', 'upload', 'job', 'pending_item', 'channel'] as const
export type AuditResourceType = typeof AUDIT_RESOURCE_TYPES[number]
