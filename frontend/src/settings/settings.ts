// Connection settings and theme, kept in localStorage so that the browser
// dashboard and the desktop app (which points at a remote studio) share
// one place for them.

export type Theme = 'system' | 'light' | 'dark'

export interface Settings {
  // studioUrl is the studio's base URL; empty means the page's own origin.
  studioUrl: string
  token: string
  theme: Theme
}

const key = 'causeway.settings'
const defaults: Settings = { studioUrl: '', token: '', theme: 'system' }

export function loadSettings(storage: Pick<Storage, 'getItem'> = localStorage): Settings {
  try {
    const raw = storage.getItem(key)
    if (!raw) return { ...defaults }
    const v = JSON.parse(raw) as Partial<Settings>
    return {
      studioUrl: typeof v.studioUrl === 'string' ? v.studioUrl : '',
      token: typeof v.token === 'string' ? v.token : '',
      theme: v.theme === 'light' || v.theme === 'dark' ? v.theme : 'system',
    }
  } catch {
    return { ...defaults }
  }
}

const listeners = new Set<(s: Settings) => void>()

export function saveSettings(s: Settings, storage: Pick<Storage, 'setItem'> = localStorage): void {
  storage.setItem(key, JSON.stringify(s))
  for (const fn of listeners) fn(s)
}

export function onSettings(fn: (s: Settings) => void): () => void {
  listeners.add(fn)
  return () => listeners.delete(fn)
}

// apiBase is the API root for a studio URL ("" = the page's origin).
export function apiBase(studioUrl: string): string {
  return studioUrl.trim().replace(/\/+$/, '') + '/api/v1'
}

// liveUrl is the websocket URL of the live hub. Browsers cannot set an
// Authorization header on a websocket, so the token goes as access_token.
export function liveUrl(s: Pick<Settings, 'studioUrl' | 'token'>, origin: string): string {
  const base = new URL(apiBase(s.studioUrl) + '/live', s.studioUrl.trim() ? undefined : origin)
  base.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:'
  if (s.token) base.searchParams.set('access_token', s.token)
  return base.toString()
}
