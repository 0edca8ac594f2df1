import type { Deps } from '../deps.js'
import { recordTestResult } from '../db/sql/sources.js'
import { recordAudit, type Actor } from '../audit/audit.js'
import type { DataSource } from '../domain/source.js'
import { Checklist, type TestResult } from '../kinds/checklist.js'
import { roleOf } from '../kinds/registry.js'

export type { Check, TestResult } from '../kinds/checklist.js'
export type { Checklist }

/**
 * POST …/test: a read-only smoke check, the checklist of the source's kind and role
 * (src/kinds/<type>/). No sync record, no ledger change; a pulled kind downloads at most the first
 * 64 KiB of the newest matching file, to recognise its format.
 */
export async function testSource (deps: Deps, source: DataSource, extraChecks?: (list: Checklist) => Promise<void>, actor?: Actor): Promise<TestResult> {
  const list = new Checklist()
  await roleOf(source.type, source.role).test(deps, source, list)
  if (extraChecks) await extraChecks(list)
  const result = list.result()
  await deps.db.transaction(async (tx) => {
    await recordTestResult(tx, source.id, result.ok)
    const changes = { lastTestOk: { before: source.lastTestOk, after: result.ok } }
    if (actor) await recordAudit(tx, actor, { action: 'test', resourceType: 'data_source', resourceId: source.id, changes })
  })
  return result
}
