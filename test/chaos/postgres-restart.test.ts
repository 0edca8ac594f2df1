import { describe, expect, it } from 'vitest'
import { postgresRestartScenario } from '../../bench/chaos/scenarios.js'
import { saveReport } from '../../bench/chaos/report.js'

const log = (line: string) => process.stderr.write(`[chaos pg] ${line}\n`)
// private (default): a throw-away cluster; system: the machine's cluster via pg_ctlcluster (never in npm test)
const mode = process.env.FERRY_CHAOS_PG === 'system' ? 'system' : 'private'

describe(`PostgreSQL restarted during pulls (${mode} cluster)`, () => {
  it('commits no file without its rows, leaves no sync running, and recovers in the same process', async () => {
    const report = await postgresRestartScenario({ files: 40, bigFiles: 4, bigRows: 60_000, restarts: 4, maxDelayMs: 4000, seed: 4004, mode, log })
    await saveReport(report)
    expect(report.faults.postgresRestart).toBe(4)
    expect(report.anomalies).toEqual([])
  })
})
