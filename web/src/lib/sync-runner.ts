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
/** while a push waits minutes for its next attempt, there is no point asking every second */
const SLOW_POLL_MS = 5000

/** How long to wait before asking again about a running sync. */
function pollDelay (sync: Sync | undefined): number {
  const next = sync?.manifest?.[0]?.nextAttemptAt
  return next && Date.parse(next) - Date.now() > 60_000 ? SLOW_POLL_MS : POLL_MS
}

const asApiError = (err: unknown) => err instanceof ApiError ? err : new ApiError(0, { message: (err as Error).message })

/**
 * Starts a sync (pull or push) and follows it until it ends: the start request answers
 * `{ syncId }` (202) or the finished sync itself; then `GET …/syncs/{syncId}` is polled (once a
 * second, every 5 s while a push waits for a later attempt) for live progress. "Pull now" while a
 * pull runs answers that pull's id, so the card follows it. Polling stops on unmount.
 */
export function useSyncRunner (syncsPath: string, onFinished: (sync: Sync) => void) {
  const [state, setState] = useState<RunState>({ phase: 'idle' })
  const alive = useRef(true)
  const finished = useRef(onFinished)
  finished.current = onFinished
  useEffect(() => { alive.current = true; return () => { alive.current = false } }, [])

  const follow = useCallback(async (syncId: string) => {
    let misses = 0
    let last: Sync | undefined
    while (alive.current) {
      await new Promise(resolve => setTimeout(resolve, pollDelay(last)))
      if (!alive.current) return
      try {
        const sync = await api.get<Sync>(`${syncsPath}/${encodeURIComponent(syncId)}`)
        if (!alive.current) return
        misses = 0
        if (sync.status !== 'running') {
          setState({ phase: 'done', sync })
          finished.current(sync)
          return
        }
        last = sync
        setState({ phase: 'running', syncId, sync })
      } catch (err) {
        // a blip (restart, network) does not end the follow at once; a gone sync does
        if (err instanceof ApiError && (err.status === 0 || err.status >= 500) && ++misses < 10) continue
        setState({ phase: 'error', error: asApiError(err) })
        return
      }
    }
  }, [syncsPath])

  const start = useCallback(async (run: () => Promise<{ syncId?: string, id?: string, status?: Sync['status'] } | undefined>) => {
    setState({ phase: 'starting' })
    let syncId: string | undefined
    try {
      const answer = await run()
      if (!alive.current) return
      if (answer && answer.id && answer.status && answer.status !== 'running') {
        const sync = answer as Sync
        setState({ phase: 'done', sync })
        finished.current(sync)
        return
      }
      syncId = answer?.syncId ?? answer?.id
    } catch (err) {
      if (!alive.current) return
      setState({ phase: 'error', error: asApiError(err) })
      return
    }
    if (!syncId) { setState({ phase: 'idle' }); return }
    setState({ phase: 'running', syncId })
    await follow(syncId)
  }, [follow])

  const reset = useCallback(() => setState({ phase: 'idle' }), [])
  return { state, start, reset }
}
