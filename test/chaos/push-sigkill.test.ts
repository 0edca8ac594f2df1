import { describe, expect, it } from 'vitest'
import { pushKillScenario } from '../../bench/chaos/scenarios.js'
import { saveReport } from '../../bench/chaos/report.js'

const log = (line: string) => process.stderr.write(`[chaos push] ${line}\n`)

describe('worker processes SIGKILLed while they deliver webhook pushes', () => {
  it('every push ends delivered once; nothing is sent again after a recorded success', async () => {
    const report = await pushKillScenario({ pushes: 150, rounds: 4, workers: 2, maxKillDelayMs: 4000, seed: 5005, log })
    await saveReport(report)
    expect(report.faults.sigkill).toBeGreaterThanOrEqual(4)
    expect(report.anomalies).toEqual([])
  })
})
