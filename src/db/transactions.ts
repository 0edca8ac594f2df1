import type { Transaction } from './client.js'

/**
 * Runs `fn` inside a savepoint of `tx`: what it wrote stays when it resolves. When it throws an
 * error `rescue` takes, its writes are rolled back and `rescue`'s answer is written and returned
 * instead, still in `tx` (a file refused whole keeps its reason, not its rows: src/pipeline/ingest.ts).
 * Any other error is rethrown and leaves the whole transaction to its owner.
 */
export async function withSavepoint<T> (
  tx: Transaction, fn: () => Promise<T>, rescue: (err: unknown) => (() => Promise<T>) | null,
): Promise<T> {
  await tx.exec('SAVEPOINT ferry_savepoint')
  let result: T
  try {
    result = await fn()
  } catch (err) {
    const answer = rescue(err)
    if (!answer) throw err
    await tx.exec('ROLLBACK TO SAVEPOINT ferry_savepoint')
    result = await answer()
  }
  await tx.exec('RELEASE SAVEPOINT ferry_savepoint')
  return result
}
