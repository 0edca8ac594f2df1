import { describe, expect, it } from 'vitest'
import { killScenario, s3FaultScenario } from '../../bench/chaos/scenarios.js'
import { backend } from '../helpers/db.js'

/**
 * The short form of `npm run chaos` (test/chaos/): S3 faults through the fault proxy and SIGKILLed
 * worker processes, small sizes. PostgreSQL only — the workers are separate processes sharing one
 * database, which the embedded PGlite cannot be. (The PostgreSQL-restart scenario runs only in
 * `npm run chaos`: other test files share the server.)
 */
describe.skipIf(backend() !== 'postgres')('chaos (short)', () => {
  it('S3 faults: each file and each new version ingested exactly once, nothing left running', async () => {
    const report = await s3FaultScenario({
      files: 14, bigFiles: 1, bigRows: 20_000, rate: 0.35, faultyPulls: 3, newFilesPerPull: 3, rewritesPerPull: 2, seed: 42,
    })
    expect(report.faultsInjected).toBeGreaterThan(0)
    // 15 files, 6 added between the pulls, 4 keys rewritten (their first versions were ingested too)
    expect(report.filesChecked).toBe(25)
    expect(report.anomalies).toEqual([])
  })

  it('SIGKILLed workers: no half-taken file, no running sync, the next pull takes the rest once', async () => {
    const report = await killScenario({ files: 10, bigFiles: 2, bigRows: 30_000, rounds: 1, workers: 2, maxKillDelayMs: 2500, seed: 43 })
    expect(report.faults.sigkill).toBeGreaterThan(0)
    expect(report.filesChecked).toBe(12)
    expect(report.anomalies).toEqual([])
  })
})
