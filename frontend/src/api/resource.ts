// React glue: the one live connection, and data that refetches when the
// live channel says something changed.

import { useCallback, useEffect, useRef, useState } from 'react'
import { Live, type Channel, type LiveFilter, type LiveStatus } from './live'
import { liveUrl, loadSettings, onSettings } from '../settings/settings'

const currentLiveUrl = () => liveUrl(loadSettings(), location.origin)
export const live = new Live(currentLiveUrl)
let lastLiveUrl = currentLiveUrl()
onSettings(() => {
  // Only a new studio URL or token needs a new connection (not a theme).
  if (currentLiveUrl() === lastLiveUrl) return
  lastLiveUrl = currentLiveUrl()
  live.reconnect()
})

export function useLiveStatus(): { status: LiveStatus; detail: string } {
  const [s, set] = useState({ status: live.status, detail: live.detail })
  useEffect(() => live.onStatus((status, detail) => set({ status, detail })), [])
  return s
}

// useLiveData subscribes to a channel for as long as the component lives.
export function useLiveData(channel: Channel | null, filter: LiveFilter, onData: (d: unknown) => void, onResync?: () => void) {
  const cb = useRef({ onData, onResync })
  cb.current = { onData, onResync }
  const key = JSON.stringify(filter)
  useEffect(() => {
    if (!channel) return
    return live.subscribe({
      channel,
      filter: JSON.parse(key) as LiveFilter,
      onData: (d) => cb.current.onData(d),
      onResync: () => cb.current.onResync?.(),
    })
  }, [channel, key])
}

export interface Resource<T> {
  data: T | undefined
  error: Error | undefined
  // loading: the first answer for these arguments has not arrived yet.
  loading: boolean
  // refreshing: a refetch after a live update is under way.
  refreshing: boolean
  reload: () => void
  // poke asks for a refetch, at most once per throttle period.
  poke: () => void
}

// useResource fetches with load whenever deps change, and again (at most
// once per throttleMs) whenever the live channel has news or asks for a
// resync, keeping the previous answer on screen meanwhile.
export function useResource<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: unknown[],
  liveOn?: { channel: Channel; filter?: LiveFilter; throttleMs?: number } | null,
): Resource<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean; refreshing: boolean }>({ loading: true, refreshing: false })
  const loadRef = useRef(load)
  loadRef.current = load
  const gen = useRef(0)
  const inflight = useRef<AbortController | null>(null)
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null)
  const last = useRef(0)

  const run = useCallback((fresh: boolean) => {
    inflight.current?.abort()
    const ac = new AbortController()
    inflight.current = ac
    const g = ++gen.current
    last.current = Date.now()
    setState((s) => (fresh ? { loading: true, refreshing: false } : { ...s, refreshing: true }))
    loadRef.current(ac.signal).then(
      (data) => {
        if (g === gen.current) setState({ data, loading: false, refreshing: false })
      },
      (error: Error) => {
        if (ac.signal.aborted || g !== gen.current) return
        setState((s) => ({ ...s, error, loading: false, refreshing: false }))
      },
    )
  }, [])

  useEffect(() => {
    run(true)
    return () => {
      inflight.current?.abort()
      if (timer.current) clearTimeout(timer.current)
      timer.current = null
    }
  }, deps)

  const throttleMs = liveOn?.throttleMs ?? 1500
  const poke = useCallback(() => {
    if (timer.current) return
    const wait = Math.max(0, last.current + throttleMs - Date.now())
    timer.current = setTimeout(() => {
      timer.current = null
      run(false)
    }, wait)
  }, [run, throttleMs])

  useLiveData(liveOn?.channel ?? null, liveOn?.filter ?? {}, poke, poke)
  const reload = useCallback(() => run(false), [run])
  return { data: state.data, error: state.error, loading: state.loading, refreshing: state.refreshing, reload, poke }
}
