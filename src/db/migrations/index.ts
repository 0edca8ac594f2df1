import foundation from './001_foundation.js'
import vault from './002_vault.js'
import inventory from './003_inventory.js'
import sources from './004_sources.js'
import alerts from './005_alerts.js'
import inbound from './006_inbound.js'
import jobs from './007_jobs.js'
import manifestEntries from './008_manifest_entries.js'
import leanItems from './009_lean_items.js'
import rolesAudit from './010_roles_audit.js'
import noResponseBodies from './011_no_response_bodies.js'
import parseOptions from './012_parse_options.js'
import retention from './013_retention.js'
import secretOverlapChannelNames from './014_secret_overlap_channel_names.js'
import cancelledSyncs from './015_cancelled_syncs.js'
import kindRegistry from './016_kind_registry.js'
import stagedUploads from './017_staged_uploads.js'

/**
 * The one migration set, applied in order on both backends. Append only: a shipped migration is
 * never edited, a change is a new entry.
 */
export const MIGRATIONS: ReadonlyArray<{ id: number, name: string, sql: string }> = [
  { id: 1, name: 'foundation', sql: foundation },
  { id: 2, name: 'vault', sql: vault },
  { id: 3, name: 'inventory', sql: inventory },
  { id: 4, name: 'sources', sql: sources },
  { id: 5, name: 'alerts', sql: alerts },
  { id: 6, name: 'inbound', sql: inbound },
  { id: 7, name: 'jobs', sql: jobs },
  { id: 8, name: 'manifest_entries', sql: manifestEntries },
  { id: 9, name: 'lean_items', sql: leanItems },
  { id: 10, name: 'roles_audit', sql: rolesAudit },
  { id: 11, name: 'no_response_bodies', sql: noResponseBodies },
  { id: 12, name: 'parse_options', sql: parseOptions },
  { id: 13, name: 'retention', sql: retention },
  { id: 14, name: 'secret_overlap_channel_names', sql: secretOverlapChannelNames },
  { id: 15, name: 'cancelled_syncs', sql: cancelledSyncs },
  { id: 16, name: 'kind_registry', sql: kindRegistry },
  { id: 17, name: 'staged_uploads', sql: stagedUploads },
]
