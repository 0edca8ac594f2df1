import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ProgressWriter } from '../../../src/sync/progress.js'

describe('ProgressWriter: at most one progress write per interval', () => {
  beforeEach(() => { vi.useFakeTimers() })
  afterEach(() => { vi.useRealTimers() })

  /** a writer whose writes record the state they saw; each write takes `writeMs` */
  function writer (writeMs = 0) {
    let state = 0
    const written: number[] = []
    const w = new ProgressWriter(async () => {
      const seen = state
      if (writeMs) await new Promise(resolve => setTimeout(resolve, writeMs))
      written.push(seen)
    }, 300)
    return { w, written, set: (n: number) => { state = n; w.update() } }
  }

  it('writes the first update at once, then the latest state once per interval', async () => {
    const { set, written } = writer()
    set(1)
    await vi.advanceTimersByTimeAsync(0)
    expect(written).toEqual([1])
    for (let i = 2; i <= 50; i++) { set(i); await vi.advanceTimersByTimeAsync(10) }
    // 490 ms after the first write: one more, at 300 ms, with the state of that moment
    expect(written).toEqual([1, 31])
    await vi.advanceTimersByTimeAsync(200)
    expect(written).toEqual([1, 31, 50])
    await vi.advanceTimersByTimeAsync(1000)
    expect(written).toEqual([1, 31, 50])
  })

  it('never runs two writes at once, and writes what changed during a slow one afterwards', async () => {
    const { set, written } = writer(500)
    set(1)
    set(2)
    await vi.advanceTimersByTimeAsync(400)
    set(3)
    expect(written).toEqual([])
    await vi.advanceTimersByTimeAsync(100)
    expect(written).toEqual([1])
    // the next write starts when this one ended (more than an interval after it started)
    await vi.advanceTimersByTimeAsync(510)
    expect(written).toEqual([1, 3])
  })

  it('flush writes the final state and waits for it; nothing is written after stop', async () => {
    const { w, set, written } = writer(50)
    set(1)
    set(2)
    const flushed = w.flush()
    await vi.advanceTimersByTimeAsync(100)
    await flushed
    expect(written).toEqual([1, 2])
    set(3)
    await vi.advanceTimersByTimeAsync(1000)
    expect(written).toEqual([1, 2])
  })

  it('swallows a failed write (progress is advisory) and keeps writing', async () => {
    let calls = 0
    const w = new ProgressWriter(async () => { calls++; if (calls === 1) throw new Error('connection lost') }, 300)
    w.update()
    await vi.advanceTimersByTimeAsync(0)
    w.update()
    await vi.advanceTimersByTimeAsync(300)
    expect(calls).toBe(2)
    w.stop()
  })
})
