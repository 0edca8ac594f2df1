import { describe, expect, it } from 'vitest'
import { FilePool } from '../../../src/sync/file-pool.js'

/**
 * Files are offered in order, as the pull's candidate loop does (each run() awaited before the
 * next); each task runs until the test finishes it. What is asserted is which files have started.
 */
function harness (limits: { maxFiles: number, maxBytes: number }) {
  const pool = new FilePool(limits)
  const started: string[] = []
  const finishers = new Map<string, (err?: Error) => void>()
  const running = () => [...finishers.keys()]
  let offered = Promise.resolve()
  const offer = (name: string, bytes: number) => {
    offered = offered.then(() => pool.run(bytes, () => new Promise<void>((resolve, reject) => {
      started.push(name)
      finishers.set(name, (err) => {
        finishers.delete(name)
        if (err) reject(err)
        else resolve()
      })
    })))
    return offered
  }
  // every pending promise reaction of the pool settles within a few macrotask turns
  const settle = () => new Promise(resolve => setImmediate(resolve))
  return { pool, started, running, offer, settle, finish: (name: string, err?: Error) => finishers.get(name)!(err) }
}

describe('FilePool: files in flight bounded by count and by bytes', () => {
  it('runs small files as wide as maxFiles', async () => {
    const h = harness({ maxFiles: 8, maxBytes: 1000 })
    for (let i = 0; i < 12; i++) void h.offer(`s${i}`, 20)
    await h.settle()
    expect(h.running()).toHaveLength(8)
    h.finish('s0')
    h.finish('s1')
    await h.settle()
    expect(h.running()).toHaveLength(8)
    expect(h.started).toHaveLength(10)
  })

  it('runs big files fewer at a time: their sizes together stay within maxBytes', async () => {
    const h = harness({ maxFiles: 8, maxBytes: 1000 })
    for (let i = 0; i < 6; i++) void h.offer(`b${i}`, 400)
    await h.settle()
    expect(h.running()).toEqual(['b0', 'b1'])
    h.finish('b0')
    await h.settle()
    expect(h.running()).toEqual(['b1', 'b2'])
  })

  it('runs a file bigger than maxBytes alone, and the files after it wait for it', async () => {
    const h = harness({ maxFiles: 4, maxBytes: 1000 })
    void h.offer('small-1', 100)
    void h.offer('huge', 5000)
    void h.offer('small-2', 100)
    await h.settle()
    // the huge file waits for the small one before it, and the small one after waits for the huge one
    expect(h.running()).toEqual(['small-1'])
    h.finish('small-1')
    await h.settle()
    expect(h.running()).toEqual(['huge'])
    h.finish('huge')
    await h.settle()
    expect(h.running()).toEqual(['small-2'])
    h.finish('small-2')
    await h.pool.drain()
    expect(h.started).toEqual(['small-1', 'huge', 'small-2'])
  })

  it('fills the byte budget with a mix: a big file and small ones beside it', async () => {
    const h = harness({ maxFiles: 8, maxBytes: 1000 })
    void h.offer('big', 700)
    for (let i = 0; i < 5; i++) void h.offer(`s${i}`, 100)
    await h.settle()
    expect(h.running()).toEqual(['big', 's0', 's1', 's2'])
    h.finish('s0')
    await h.settle()
    // 700 + 3 × 100 = 1000 bytes: the budget is full again with s3
    expect(h.running()).toEqual(['big', 's1', 's2', 's3'])
  })

  it('throws the first task error from the next run() and from drain()', async () => {
    const h = harness({ maxFiles: 1, maxBytes: 1000 })
    void h.offer('a', 10)
    const next = h.offer('b', 10)
    await h.settle()
    h.finish('a', new Error('boom'))
    await expect(next).rejects.toThrow('boom')
    expect(h.started).toEqual(['a'])
    await expect(h.pool.drain()).rejects.toThrow('boom')
  })
})
