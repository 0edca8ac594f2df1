import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, it, expect } from 'vitest'
import { HEAP_FLAGS, missingHeapFlags } from '../../src/heap.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** Runs test/helpers/heap-child.ts with `nodeArgs`; its printed line and the pid the parent saw. */
async function runChild (nodeArgs: string[]): Promise<{ spawnedPid: number, out: { pid: number, execArgv: string[], args: string[] } }> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'test/helpers/heap-child.ts', 'serve', '--role', 'worker'],
    { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'inherit'] })
  let stdout = ''
  child.stdout.on('data', d => { stdout += d })
  const code = await new Promise(resolve => child.on('exit', resolve))
  expect(code).toBe(0)
  return { spawnedPid: child.pid!, out: JSON.parse(stdout.trim().split('\n').at(-1)!) }
}

describe('heap settings of a server process (docs/decisions.md "Memory of a pull")', () => {
  it('restarts a process started without them with them: same pid, same arguments', async () => {
    const { spawnedPid, out } = await runChild([])
    expect(out.pid).toBe(spawnedPid)
    for (const flag of HEAP_FLAGS) expect(out.execArgv).toContain(flag)
    expect(out.execArgv).toEqual(expect.arrayContaining(['--import', 'tsx']))
    expect(out.args).toEqual(['serve', '--role', 'worker'])
  }, 60_000)

  it("keeps the operator's own value of a flag and adds only the others", async () => {
    const { out } = await runChild(['--max_semi_space_size=32'])
    expect(out.execArgv.filter(a => a.includes('semi'))).toEqual(['--max_semi_space_size=32'])
    expect(out.execArgv).toContain(HEAP_FLAGS.find(f => f.startsWith('--heap-growing-percent'))!)
  }, 60_000)

  it('counts flags given in NODE_OPTIONS as given', () => {
    expect(missingHeapFlags([], '--max-semi-space-size=64 --heap-growing-percent=0')).toEqual([])
    expect(missingHeapFlags(['--import', 'tsx'], undefined)).toEqual([...HEAP_FLAGS])
  })
})
