// Routing: the path picks the view, the query string holds its state, so
// that every view can be linked to and reloaded.

import { useSyncExternalStore } from 'react'

const routeListeners = new Set<() => void>()
// (Guarded so that modules importing this render outside a browser too: tests.)
if (typeof window !== 'undefined') window.addEventListener('popstate', () => routeListeners.forEach((fn) => fn()))
const subscribeRoute = (fn: () => void) => {
  routeListeners.add(fn)
  return () => routeListeners.delete(fn)
}
const routeSnapshot = () => location.pathname + location.search

export function navigate(path: string, params: Record<string, string | undefined> = {}, replace = false) {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v)
  const url = path + (q.toString() ? '?' + q.toString() : '')
  if (url === routeSnapshot()) return
  if (replace) history.replaceState(null, '', url)
  else history.pushState(null, '', url)
  routeListeners.forEach((fn) => fn())
}

export function useRoute(): { path: string; params: URLSearchParams } {
  const snap = useSyncExternalStore(subscribeRoute, routeSnapshot)
  const u = new URL(snap, location.origin)
  return { path: u.pathname, params: u.searchParams }
}
