import { useCallback, useEffect, useRef, useState } from 'preact/hooks'
import { api, ApiError } from '../api/client'

export interface Resource<T> {
  /** true until the first answer (a reload keeps showing the previous data) */
  loading: boolean
  /** true while any request runs, reloads included */
  busy: boolean
  data: T | undefined
  error: ApiError | undefined
  reload: () => Promise<void>
  /** replace the data locally after a mutation */
  setData: (update: (current: T | undefined) => T | undefined) => void
}

/** GET `path` under /api/v1 (null = don't load yet); aborts on change and on unmount. */
export function useResource<T> (path: string | null): Resource<T> {
  const [state, setState] = useState<{ data?: T, error?: ApiError, loading: boolean, busy: boolean }>({ loading: path !== null, busy: path !== null })
  const controller = useRef<AbortController | null>(null)
  const generation = useRef(0)

  const load = useCallback(async (fresh: boolean) => {
    if (path === null) return
    controller.current?.abort()
    const ctrl = new AbortController()
    controller.current = ctrl
    const gen = ++generation.current
    setState(s => fresh ? { loading: true, busy: true } : { ...s, busy: true })
    try {
      const data = await api.get<T>(path, { signal: ctrl.signal })
      if (gen === generation.current) setState({ data, loading: false, busy: false })
    } catch (err) {
      if ((err as Error).name === 'AbortError' || gen !== generation.current) return
      const error = err instanceof ApiError ? err : new ApiError(0, { message: (err as Error).message })
      setState(s => ({ data: fresh ? undefined : s.data, error, loading: false, busy: false }))
    }
  }, [path])

  useEffect(() => {
    void load(true)
    return () => controller.current?.abort()
  }, [load])

  const reload = useCallback(() => load(false), [load])
  const setData = useCallback((update: (current: T | undefined) => T | undefined) => {
    setState(s => ({ ...s, data: update(s.data) }))
  }, [])

  return { loading: state.loading, busy: state.busy, data: state.data, error: state.error, reload, setData }
}
