import { describe, expect, it } from 'vitest'
import { s3FaultScenario } from '../../bench/chaos/scenarios.js'
import { saveReport } from '../../bench/chaos/report.js'

const log = (line: string) => process.stderr.write(`[chaos s3] ${line}\n`)

describe('S3 faults (500, 503 SlowDown, resets, stalled and truncated bodies)', () => {
  it('every file (and every new version of a key) lands exactly once under mixed faults', async () => {
    const report = await s3FaultScenario({
      files: 150, bigFiles: 4, bigRows: 50_000, rate: 0.25, faultyPulls: 6, newFilesPerPull: 10, rewritesPerPull: 5, seed: 1001, log,
    })
    await saveReport({ ...report, scenario: 's3-faults-mixed' })
    expect(report.faultsInjected).toBeGreaterThan(20)
    expect(report.anomalies).toEqual([])
  })

  it('every file lands exactly once when bodies stall or are cut short', async () => {
    const report = await s3FaultScenario({
      files: 60, bigFiles: 6, bigRows: 50_000, rate: 0.3, faultyPulls: 6, newFilesPerPull: 5, rewritesPerPull: 3, seed: 2002,
      faults: ['stall', 'truncate', 'reset'], log,
    })
    await saveReport({ ...report, scenario: 's3-faults-bodies' })
    expect(report.faults.stall + report.faults.truncate).toBeGreaterThan(5)
    expect(report.anomalies).toEqual([])
  })
})
