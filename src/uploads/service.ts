import type { Deps } from '../deps.js'
import { getUpload, listItems, listRejectedRows, listUploads, type InventoryUpload, type StoredItem } from '../db/sql/inventory.js'
import { requireAgent } from '../agents/service.js'
import { recordAudit, type Actor } from '../audit/audit.js'
import { AppError } from '../errors.js'
import type { FileOutcome, IngestInput } from '../pipeline/ingest.js'

/** A manual upload: the file through the standard pipeline, each upload it lands audited in the transaction that publishes it. */
export async function landUpload (deps: Pick<Deps, 'db' | 'pipeline'>, input: IngestInput & { actor: Actor }): Promise<FileOutcome[]> {
  const { actor, ...file } = input
  return deps.pipeline.ingestAll(deps.db, file, async (tx, landed) => {
    for (const o of landed) {
      if (o.result) await recordAudit(tx, actor, { action: 'create', resourceType: 'upload', resourceId: o.result.upload.id })
    }
  })
}

export async function listUploadsOf (
  deps: Pick<Deps, 'db'>, orgId: string, agentId: string, page: { limit: number, before?: string },
): Promise<InventoryUpload[]> {
  await requireAgent(deps.db, orgId, agentId)
  return listUploads(deps.db, orgId, agentId, page)
}

/** An upload of the organisation's agent, or NOT_FOUND. */
export async function requireUpload (deps: Pick<Deps, 'db'>, orgId: string, agentId: string, uploadId: string): Promise<InventoryUpload> {
  const upload = await getUpload(deps.db, orgId, agentId, uploadId)
  if (!upload) throw new AppError('NOT_FOUND', 'Upload not found.')
  return upload
}

/** An upload with the rejected rows it kept. */
export async function getUploadOf (deps: Pick<Deps, 'db'>, orgId: string, agentId: string, uploadId: string) {
  const upload = await requireUpload(deps, orgId, agentId, uploadId)
  return { upload, rejectedRows: await listRejectedRows(deps.db, upload.id) }
}

/** An upload's items in row order, a page at a time after `afterRow`. */
export async function listUploadItems (
  deps: Pick<Deps, 'db'>, orgId: string, agentId: string, uploadId: string, page: { limit: number, afterRow?: number },
): Promise<StoredItem[]> {
  const upload = await requireUpload(deps, orgId, agentId, uploadId)
  return listItems(deps.db, upload, page)
}
