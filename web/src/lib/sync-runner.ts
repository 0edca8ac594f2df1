import { useCallback, useEffect, useRef, useState } from 'preact/hooks'
import { api, ApiError } from '../api/client'
import type { Sync } from '../api/types'

export type RunState =
  | { phase: 'idle' }
  | { phase: 'starting' }
  | { phase: 'running', syncId: string, sync?: Sync }
  | { phase: 'done', sync: Sync }
  | { phase: 'error', error: ApiError }

const POLL_MS = 1000

/**
 * Starts a sync (pull or push) and follows it until it ends: the start request answers
 * `{ syncId }` (202) or the finished sync itself; then `GET …/syncs/{syncId}` is polled once a
 * second for live progress. Polling stops on unmount.
 */
export function useSyncRunner (syncsPath: string, onFinished: (sync: Sync) => void) {
  const [state, setState] = useState<RunState>({ phase: 'idle' })
  const alive = useRef(true)
  const finished = useRef(onFinished)
  finished.current = onFinished
  useEffect(() => { alive.current = true; return () => { alive.current = false } }, [])

  const follow = useCallback(async (syncId: string) => {
    let misses = 0
    while (alive.current) {
      await new Promise(resolve => setTimeout(resolve, POLL_MS))
      if (!alive.current) return
      try {
        const sync = await api.get<Sync>(`${syncsPath}/${encodeURIComponent(syncId)}`)
        if (!alive.current) return
        if (sync.status !== 'running') {
          setState({ phase: 'done', sync })
          finished.current(sync)
          return
        }
        setState({ phase: 'running', syncId, sync })
      } catch (err) {
        // the sync row may appear a moment after the 202; give up after a few tries
        if (err instanceof ApiError && err.status === 404 && ++misses < 5) continue
        if (err instanceof ApiError && err.status >= 500 && ++misses < 10) continue
        setState({ phase: 'error', error: err instanceof ApiError ? err : new ApiError(0, { message: (err as Error).message }) })
        return
      }
    }
  }, [syncsPath])

  const start = useCallback(async (run: () => Promise<{ syncId?: string, id?: string, status?: Sync['status'] } | undefined>) => {
    setState({ phase: 'starting' })
    try {
      const answer = await run()
      if (!alive.current) return
      if (answer && answer.id && answer.status && answer.status !== 'running') {
        const sync = answer as Sync
        setState({ phase: 'done', sync })
        finished.current(sync)
        return
      }
      const syncId = answer?.syncId ?? answer?.id
      if (!syncId) { setState({ phase: 'idle' }); return }
      setState({ phase: 'running', syncId })
      await follow(syncId)
    } catch (err) {
      if (!alive.current) return
      setState({ phase: 'error', error: err instanceof ApiError ? err : new ApiError(0, { message: (err as Error).message }) })
    }
  }, [follow])

  const reset = useCallback(() => setState({ phase: 'idle' }), [])
  return { state, start, reset }
}
