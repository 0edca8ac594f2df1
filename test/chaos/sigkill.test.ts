import { describe, expect, it } from 'vitest'
import { killScenario } from '../../bench/chaos/scenarios.js'
import { saveReport } from '../../bench/chaos/report.js'

const log = (line: string) => process.stderr.write(`[chaos kill] ${line}\n`)

describe('worker processes SIGKILLed at random points of their pulls', () => {
  it('leaves no half-taken file, no running sync, and the next pull takes the rest once', async () => {
    const report = await killScenario({ files: 80, bigFiles: 6, bigRows: 60_000, rounds: 6, workers: 2, maxKillDelayMs: 6000, seed: 3003, log })
    await saveReport(report)
    expect(report.faults.sigkill).toBeGreaterThanOrEqual(6)
    expect(report.anomalies).toEqual([])
  })
})
